"""Find the pclntab: named sections, then runtime.pclntab symbols, then a scan of segments.

The scan is what makes binaries without section headers (or with the table merged into
.data.rel.ro by an external linker) work. A candidate counts only once it parses fully.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.pclntab import PcLnTable, detect

_MAGIC_RE = re.compile(
    rb"(?:[\xfb\xfa\xf0\xf1]\xff\xff\xff|\xff\xff\xff[\xfb\xfa\xf0\xf1])\x00\x00[\x01\x02\x04][\x04\x08]"
)
_MAX_CANDIDATES = 64  # a hostile file full of magics must not cost unbounded time


@dataclass(frozen=True)
class Located:
    table: PcLnTable
    how: str  # which method found it, for diagnostics


def _parse(data: bytes, vaddr: int) -> PcLnTable:
    table = PcLnTable(data, vaddr)
    if table.first_name() == "":  # a real table names its first function
        raise BinaryError("pclntab names its first function with an empty string")
    return table


def _try(data: bytes, vaddr: int) -> PcLnTable | None:
    try:
        return _parse(data, vaddr)
    except BinaryError:
        return None


def locate_pclntab(elf: ElfImage) -> Located:
    for name in (".gopclntab", ".data.rel.ro.gopclntab"):
        found = elf.section_bytes(name)
        if found is not None:
            sec, data = found
            try:
                return Located(_parse(data, sec.addr), f"section {name}")
            except BinaryError as exc:
                raise BinaryError(f"section {name}: {exc}") from None
    syms = elf.symbol_values(["runtime.pclntab", "runtime.epclntab"])
    start, end = syms.get("runtime.pclntab"), syms.get("runtime.epclntab")
    if start is not None and end is not None and end - start >= 16:
        seg = elf.segment_for(start, end - start)
        if seg is not None:
            table = _try(elf.read_vaddr(start, end - start), start)
            if table is not None:
                return Located(table, "symbol runtime.pclntab")
    # Data segments first: the table is read-only data; old Go put rodata in the text segment.
    segments = sorted(elf.segments, key=lambda s: s.executable)
    tried = 0
    for seg in segments:
        for match in _MAGIC_RE.finditer(elf.data, seg.offset, seg.offset + seg.filesz):
            pos = match.start()
            vaddr = seg.vaddr + pos - seg.offset
            head = elf.data[pos : pos + 16]
            if detect(head) is None or vaddr % head[7]:
                continue
            tried += 1
            if tried > _MAX_CANDIDATES:
                raise BinaryError("no valid pclntab (too many false candidates)")
            table = _try(elf.data[pos : seg.offset + seg.filesz], vaddr)
            if table is not None:
                return Located(table, "segment scan")
    raise BinaryError("not a Go binary (no pclntab found)")
