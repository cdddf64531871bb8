"""A read-only view of an ELF file: segments, sections, a few symbols, vaddr -> file offset.

The headers are read with struct, bulk data straight from an mmap so that large binaries
cost no copies; pyelftools reads DWARF. Every lookup is bounds-checked and raises BinaryError.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np

from goprobe_tui.gobinary.errors import BinaryError

ByteOrder = Literal["little", "big"]  # what int.from_bytes takes

PF_X = 1

_MACHINES = {
    3: "EM_386",
    8: "EM_MIPS",
    20: "EM_PPC",
    21: "EM_PPC64",
    22: "EM_S390",
    40: "EM_ARM",
    43: "EM_SPARCV9",
    62: "EM_X86_64",
    183: "EM_AARCH64",
    243: "EM_RISCV",
    258: "EM_LOONGARCH",
}
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
        self._pyelftools = None
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
            # a rewrite in place can keep size and mtime (cp -p onto the file), never ctime
            self.changed_ns = st.st_ctime_ns
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
        except (struct.error, ValueError, OverflowError, KeyError, IndexError) as exc:
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
        """ELF, program and section headers, read with struct (pyelftools costs ~30 ms to
        import and is needed only for DWARF: see pyelftools())."""
        data = self.data
        if data[4] not in (1, 2) or data[5] not in (1, 2):
            raise BinaryError("corrupt ELF headers: bad class or byte order")
        self.elfclass = 32 if data[4] == 1 else 64
        self.little_endian = data[5] == 1
        self.byteorder: ByteOrder = "little" if self.little_endian else "big"
        self.ptrsize = 8 if self.elfclass == 64 else 4
        order = "<" if self.little_endian else ">"
        wide = self.elfclass == 64
        # e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
        # e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        ehdr = struct.unpack_from(order + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"), data, 16)
        e_type, e_machine, _v, _entry, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum, shstrndx = (
            ehdr
        )
        self.machine = _MACHINES.get(e_machine, f"EM_{e_machine}")
        self.arch = _ARCH_BY_MACHINE.get(self.machine, str(self.machine).lower())
        if self.arch == "ppc64" and self.little_endian:
            self.arch = "ppc64le"
        self.pie = e_type == 3  # ET_DYN
        size = len(data)
        if phnum > 4096:
            raise BinaryError(f"absurd program header count {phnum}")
        ph_fmt = order + ("IIQQQQQQ" if wide else "IIIIIIII")
        if phnum and (phentsize < struct.calcsize(ph_fmt) or phoff + phnum * phentsize > size):
            raise BinaryError("corrupt ELF headers: program headers out of bounds")
        self.segments: list[Segment] = []
        self._dynamic: tuple[int, int] | None = None
        for i in range(phnum):
            raw = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
            if wide:
                p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz, p_memsz, _al = raw
            else:
                p_type, p_offset, p_vaddr, _pa, p_filesz, p_memsz, p_flags, _al = raw
            if p_type == 2:  # PT_DYNAMIC
                self._dynamic = (p_offset, p_filesz)
            if p_type != 1:  # PT_LOAD
                continue
            if p_offset + p_filesz > size:
                raise BinaryError("truncated file: a loadable segment runs past the end")
            self.segments.append(Segment(p_vaddr, p_offset, p_filesz, p_memsz, p_flags))
        if not self.segments:
            raise BinaryError("no loadable segments")
        self.sections: dict[str, Section] = {}
        if not shoff:
            shnum = 0
        if shnum > 65536:
            raise BinaryError(f"absurd section count {shnum}")
        sh_fmt = order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
        if shnum and shentsize >= struct.calcsize(sh_fmt) and shoff + shnum * shentsize <= size:
            headers = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
            names = b""
            if shstrndx < shnum:
                _n, _t, _fl, _a, str_off, str_size, *_ = headers[shstrndx]
                if str_off + str_size <= size:
                    names = data[str_off : str_off + str_size]
            for sh_name, sh_type, _fl, sh_addr, sh_offset, sh_size, *_rest in headers:
                end = names.find(b"\0", sh_name)
                name = names[sh_name:end].decode("utf-8", "replace") if end >= 0 else ""
                nobits = sh_type == 8  # SHT_NOBITS
                if not nobits and sh_offset + sh_size > size:
                    continue  # a lying section header; segments remain authoritative
                self.sections.setdefault(name, Section(name, sh_addr, sh_offset, sh_size, nobits))

    def pyelftools(self):
        """pyelftools' view of the file (for DWARF), made on first use. BinaryError if it
        cannot read the file."""
        if self._pyelftools is None:
            from elftools.common.exceptions import ELFError
            from elftools.elf.elffile import ELFFile

            try:
                self._pyelftools = ELFFile(_MmapStream(self.data))
            except (ELFError, struct.error, ValueError) as exc:
                raise BinaryError(f"corrupt ELF headers: {exc}") from None
        return self._pyelftools

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
        return {name: value for name, (value, _size) in self.symbols(names).items()}

    def symbols(self, names: list[str]) -> dict[str, tuple[int, int]]:
        """(address, size) of a few symbols in .symtab (a stripped file has none)."""
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
            dt = [
                ("name", "u4"),
                ("info", "u1"),
                ("other", "u1"),
                ("shndx", "u2"),
                ("value", "u8"),
                ("size", "u8"),
            ]
        else:
            dt = [
                ("name", "u4"),
                ("value", "u4"),
                ("size", "u4"),
                ("info", "u1"),
                ("other", "u1"),
                ("shndx", "u2"),
            ]
        dtype = np.dtype(dt).newbyteorder("<" if self.little_endian else ">")
        count = symtab.size // dtype.itemsize
        syms = np.frombuffer(self.data, dtype=dtype, count=count, offset=symtab.offset)
        found: dict[str, tuple[int, int]] = {}
        for idx in np.flatnonzero(np.isin(syms["name"], list(wanted))):
            name = wanted[int(syms["name"][idx])]
            found.setdefault(name, (int(syms["value"][idx]), int(syms["size"][idx])))
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
            out[where - vaddr : where - vaddr + 8] = addend.to_bytes(8, "little", signed=addend < 0)
    return data if out is None else bytes(out)
