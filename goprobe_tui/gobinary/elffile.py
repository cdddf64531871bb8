"""A read-only view of an ELF file: segments, sections, a few symbols, vaddr -> file offset.

pyelftools parses the headers; bulk data is read straight from an mmap so that large
binaries cost no copies. Every lookup is bounds-checked and raises BinaryError.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from goprobe_tui.gobinary.errors import BinaryError

PF_X = 1

_ARCH_BY_MACHINE = {
    "EM_X86_64": "amd64",
    "EM_386": "386",
    "EM_AARCH64": "arm64",
    "EM_ARM": "arm",
    "EM_S390": "s390x",
    "EM_PPC64": "ppc64",
    "EM_MIPS": "mips",
    "EM_RISCV": "riscv64",
    "EM_LOONGARCH": "loong64",
}


@dataclass(frozen=True)
class Segment:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)

    def holds(self, vaddr: int, size: int = 1) -> bool:
        return self.vaddr <= vaddr and vaddr + size <= self.vaddr + self.filesz


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    nobits: bool


class ElfImage:
    """An opened ELF file. Close it (or use it as a context manager) to release the mmap."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise BinaryError(f"cannot open: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise BinaryError("not a regular file")
            if st.st_size < 64:
                raise BinaryError("not an ELF file (too short)")
            self.data = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
            # What was read: a tracer compares it with the path later (overwritten? replaced?).
            self.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        finally:
            os.close(fd)
        if self.data[:4] != b"\x7fELF":
            self.close()
            raise BinaryError("not an ELF file")
        try:
            self._parse_headers()
        except BinaryError:
            self.close()
            raise
        except (ELFError, struct.error, ValueError, OverflowError, KeyError, IndexError) as exc:
            self.close()
            raise BinaryError(f"corrupt ELF headers: {exc}") from None

    def close(self) -> None:
        data = getattr(self, "data", None)
        if data is not None and not data.closed:
            data.close()

    def __enter__(self) -> ElfImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- headers ---------------------------------------------------------------
    def _parse_headers(self) -> None:
        stream: BinaryIO = _MmapStream(self.data)
        elf = ELFFile(stream)
        self.elfclass = elf.elfclass
        self.little_endian = elf.little_endian
        self.byteorder = "little" if elf.little_endian else "big"
        self.ptrsize = 8 if elf.elfclass == 64 else 4
        self.machine = elf["e_machine"]
        self.arch = _ARCH_BY_MACHINE.get(self.machine, str(self.machine).lower())
        if self.arch == "ppc64" and elf.little_endian:
            self.arch = "ppc64le"
        self.pie = elf["e_type"] == "ET_DYN"
        size = len(self.data)
        self.segments: list[Segment] = []
        phnum = elf["e_phnum"]
        if phnum > 4096:
            raise BinaryError(f"absurd program header count {phnum}")
        self._dynamic: tuple[int, int] | None = None
        for i in range(phnum):
            ph = elf.get_segment(i).header
            if ph.p_type == "PT_DYNAMIC":
                self._dynamic = (ph.p_offset, ph.p_filesz)
            if ph.p_type != "PT_LOAD":
                continue
            if ph.p_offset + ph.p_filesz > size:
                raise BinaryError("truncated file: a loadable segment runs past the end")
            self.segments.append(
                Segment(ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags)
            )
        if not self.segments:
            raise BinaryError("no loadable segments")
        self.sections: dict[str, Section] = {}
        shnum = elf["e_shnum"] if elf["e_shoff"] else 0
        if shnum > 65536:
            raise BinaryError(f"absurd section count {shnum}")
        if shnum and elf["e_shoff"] + shnum * elf["e_shentsize"] <= size:
            for sec in elf.iter_sections():
                h = sec.header
                nobits = h.sh_type == "SHT_NOBITS"
                if not nobits and h.sh_offset + h.sh_size > size:
                    continue  # a lying section header; segments remain authoritative
                self.sections.setdefault(
                    sec.name, Section(sec.name, h.sh_addr, h.sh_offset, h.sh_size, nobits)
                )
        self._elf = elf

    # -- addresses -------------------------------------------------------------
    def segment_for(self, vaddr: int, size: int = 1, *, executable: bool | None = None):
        for seg in self.segments:
            if executable is not None and seg.executable != executable:
                continue
            if seg.holds(vaddr, size):
                return seg
        return None

    def file_offset(self, vaddr: int, *, executable: bool | None = None) -> int | None:
        """The file offset that uprobe_events wants: vaddr - p_vaddr + p_offset."""
        seg = self.segment_for(vaddr, executable=executable)
        return None if seg is None else vaddr - seg.vaddr + seg.offset

    def read_vaddr(self, vaddr: int, size: int) -> bytes:
        seg = self.segment_for(vaddr, size)
        if seg is None:
            raise BinaryError(f"address {vaddr:#x}+{size} is not in the file")
        start = vaddr - seg.vaddr + seg.offset
        return self.data[start : start + size]

    def read_linked(self, vaddr: int, size: int) -> bytes | None:
        """Bytes as the loader leaves them: a PIE's pointers are RELATIVE relocations whose
        value is only in the addend. None if not in the file."""
        try:
            data = self.read_vaddr(vaddr, size)
        except BinaryError:
            return None
        return with_relocations(data, vaddr, self.relative_relocations())

    def read_word(self, vaddr: int) -> int:
        return int.from_bytes(self.read_vaddr(vaddr, self.ptrsize), self.byteorder)

    def section_bytes(self, name: str) -> tuple[Section, bytes] | None:
        sec = self.sections.get(name)
        if sec is None or sec.nobits or sec.size == 0:
            return None
        return sec, self.data[sec.offset : sec.offset + sec.size]

    # -- symbols ---------------------------------------------------------------
    def symbol_values(self, names: list[str]) -> dict[str, int]:
        """Look up a few symbols in .symtab without decoding the whole table."""
        symtab = self.sections.get(".symtab")
        strtab = self.sections.get(".strtab")
        if symtab is None or strtab is None or symtab.nobits or strtab.nobits:
            return {}
        strdata = self.data[strtab.offset : strtab.offset + strtab.size]
        wanted: dict[int, str] = {}
        for name in names:
            pos = strdata.find(b"\0" + name.encode() + b"\0")
            if pos >= 0:
                wanted[pos + 1] = name
        if not wanted:
            return {}
        if self.ptrsize == 8:
            dt = [("name", "u4"), ("info", "u1"), ("other", "u1"), ("shndx", "u2"),
                  ("value", "u8"), ("size", "u8")]
        else:
            dt = [("name", "u4"), ("value", "u4"), ("size", "u4"), ("info", "u1"),
                  ("other", "u1"), ("shndx", "u2")]
        dtype = np.dtype(dt).newbyteorder("<" if self.little_endian else ">")
        count = symtab.size // dtype.itemsize
        syms = np.frombuffer(self.data, dtype=dtype, count=count, offset=symtab.offset)
        found: dict[str, int] = {}
        for idx in np.flatnonzero(np.isin(syms["name"], list(wanted))):
            name = wanted[int(syms["name"][idx])]
            found.setdefault(name, int(syms["value"][idx]))
        return found

    # -- dynamic relocations (PIE binaries may hold pointers only as RELATIVE addends) --
    def relative_relocations(self) -> dict[int, int]:
        """Map r_offset -> r_addend for every RELATIVE relocation in the RELA table."""
        cached = getattr(self, "_relocs", None)
        if cached is not None:
            return cached
        self._relocs: dict[int, int] = {}
        if self.ptrsize != 8:
            return self._relocs  # 32-bit targets use REL without addends; not needed there
        start, size = self._rela_location()
        if size <= 0:
            return self._relocs
        dtype = np.dtype([("off", "u8"), ("info", "u8"), ("addend", "i8")]).newbyteorder(
            "<" if self.little_endian else ">"
        )
        count = min(size, len(self.data) - start) // dtype.itemsize
        rela = np.frombuffer(self.data, dtype=dtype, count=count, offset=start)
        rtype = rela["info"] & 0xFFFFFFFF
        relative = {"EM_X86_64": 8, "EM_AARCH64": 1027, "EM_PPC64": 22, "EM_S390": 12}
        keep = rela[rtype == relative.get(self.machine, -1)]
        self._relocs = dict(zip(keep["off"].tolist(), keep["addend"].tolist(), strict=True))
        return self._relocs

    def _rela_location(self) -> tuple[int, int]:
        sec = self.sections.get(".rela.dyn")
        if sec is not None and not sec.nobits:
            return sec.offset, sec.size
        if self._dynamic is None:
            return 0, 0
        off, size = self._dynamic
        fmt = ("<" if self.little_endian else ">") + ("qQ" if self.ptrsize == 8 else "iI")
        step = struct.calcsize(fmt)
        rela = relasz = None
        for pos in range(off, min(off + size, len(self.data)) - step + 1, step):
            tag, val = struct.unpack_from(fmt, self.data, pos)
            if tag == 0:
                break
            if tag == 7:  # DT_RELA
                rela = val
            elif tag == 8:  # DT_RELASZ
                relasz = val
        if rela is None or relasz is None:
            return 0, 0
        foff = self.file_offset(rela)
        return (0, 0) if foff is None else (foff, relasz)


class _MmapStream:
    """A minimal file object over an mmap for pyelftools (it seeks and reads small chunks)."""

    def __init__(self, data: mmap.mmap) -> None:
        self._data = data
        self._pos = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = pos
        elif whence == 1:
            self._pos += pos
        else:
            self._pos = len(self._data) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self._pos < 0:
            raise BinaryError("negative file position")
        end = len(self._data) if n is None or n < 0 else self._pos + n
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


def with_relocations(data: bytes, vaddr: int, relocs: dict[int, int]) -> bytes:
    """`data` read at `vaddr`, with every 8-byte word a RELATIVE relocation targets replaced
    by its addend (the link-time value; add the load bias for the runtime one)."""
    if not relocs:
        return data
    out = None
    for where in range((vaddr + 7) & ~7, vaddr + len(data) - 7, 8):
        addend = relocs.get(where)
        if addend is not None:
            out = out if out is not None else bytearray(data)
            out[where - vaddr:where - vaddr + 8] = addend.to_bytes(8, "little", signed=addend < 0)
    return data if out is None else bytes(out)
