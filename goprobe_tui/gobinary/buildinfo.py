"""Go version and main module from `.go.buildinfo` (Go 1.13+), with a string-scan fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.errors import BinaryError

_MAGIC = b"\xff Go buildinf:"
_VERSION_RE = re.compile(rb"go1\.(\d+)(?:\.(\d+))?(?![\d.])")


@dataclass
class BuildInfo:
    goversion: str = ""
    source: str = "unknown"  # "buildinfo", "version string scan" or "unknown"
    path: str = ""
    main_path: str = ""
    settings: dict[str, str] = field(default_factory=dict)

    def version_tuple(self) -> tuple[int, int]:
        m = re.match(r"go1\.(\d+)", self.goversion)
        return (1, int(m.group(1))) if m else (0, 0)


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    raise BinaryError("bad varint in .go.buildinfo")


def _find_blob(elf: ElfImage) -> tuple[int, bytes] | None:
    sec = elf.section_bytes(".go.buildinfo")
    if sec is not None:
        return sec[0].addr, sec[1]
    for seg in elf.segments:
        if seg.executable:
            continue
        pos = elf.data.find(_MAGIC, seg.offset, seg.offset + seg.filesz)
        while pos >= 0 and (pos - seg.offset) % 16:
            pos = elf.data.find(_MAGIC, pos + 1, seg.offset + seg.filesz)
        if pos >= 0:
            end = min(pos + 64 * 1024, seg.offset + seg.filesz)
            return seg.vaddr + pos - seg.offset, elf.data[pos:end]
    return None


def _go_string(elf: ElfImage, header_addr: int) -> str:
    relocs = elf.relative_relocations() if elf.pie else {}
    ptr = elf.read_word(header_addr) or relocs.get(header_addr, 0)
    length = elf.read_word(header_addr + elf.ptrsize)
    if length > 1 << 20:
        raise BinaryError("absurd string length in .go.buildinfo")
    return elf.read_vaddr(ptr, length).decode("utf-8", "replace") if length else ""


def read_buildinfo(elf: ElfImage) -> BuildInfo:
    info = BuildInfo()
    try:
        _read_blob_into(elf, info)
    except BinaryError:
        info = BuildInfo()  # a damaged buildinfo is not fatal: the version scan still works
    if not info.goversion:
        _scan_version(elf, info)
    return info


def _read_blob_into(elf: ElfImage, info: BuildInfo) -> None:
    found = _find_blob(elf)
    if found is None or len(found[1]) < 32 or not found[1].startswith(_MAGIC):
        return
    addr, blob = found
    ptrsize, flags = blob[14], blob[15]
    if flags & 2:  # Go 1.18+: strings inline, varint-prefixed
        n, pos = _uvarint(blob, 32)
        version = blob[pos : pos + n].decode("utf-8", "replace")
        n, pos = _uvarint(blob, pos + n)
        modinfo = blob[pos : pos + n].decode("utf-8", "replace")
    else:
        if ptrsize != elf.ptrsize:
            raise BinaryError("buildinfo pointer size mismatch")
        version = _go_string(elf, elf.read_word(addr + 16))
        modinfo = _go_string(elf, elf.read_word(addr + 16 + ptrsize))
    if not version.startswith("go"):
        return
    info.goversion, info.source = version, "buildinfo"
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    for line in modinfo.splitlines():
        parts = line.split("\t")
        if parts[0] == "path" and len(parts) > 1:
            info.path = parts[1]
        elif parts[0] == "mod" and len(parts) > 2:
            info.main_path = parts[1]
        elif parts[0] == "build" and len(parts) > 1 and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            info.settings[key] = value


def _scan_version(elf: ElfImage, info: BuildInfo) -> None:
    """Old binaries: runtime.buildVersion is a plain string; take the newest `go1.N[.M]` seen."""
    best: tuple[int, int] | None = None
    for seg in elf.segments:
        for m in _VERSION_RE.finditer(elf.data, seg.offset, seg.offset + seg.filesz):
            key = (int(m.group(1)), int(m.group(2) or 0))
            if best is None or key > best:
                best = key
    if best is not None:
        info.goversion = f"go1.{best[0]}" + (f".{best[1]}" if best[1] else "")
        info.source = "version string scan"


GO_SECTIONS = (".gopclntab", ".note.go.buildid", ".go.buildinfo")


def find_buildinfo(elf: ElfImage) -> BuildInfo | None:
    """The build info of a Go executable; None for anything else. Cheap on non-Go files:
    only Go ones (build info, or the sections Go's linker writes) are scanned further."""
    info = BuildInfo()
    try:
        _read_blob_into(elf, info)
    except BinaryError:
        info = BuildInfo()
    if info.goversion:
        return info
    if not any(name in elf.sections for name in GO_SECTIONS):
        return None
    _scan_version(elf, info)
    return info
