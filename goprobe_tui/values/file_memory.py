"""Read-only bytes of a traced binary, read from its file when a probe could not read them.

A probe cannot take a page fault: a Go string literal whose page of .rodata was never touched
in that process reads as a fault. Read-only segments never change at run time, so the file
holds exactly those bytes. Writable data is never read this way (it may have changed).
"""

from __future__ import annotations

import os
import struct
from functools import partial

from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.gobinary.elffile import ElfImage, with_relocations
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.go_types import TypeReader

PT_LOAD, PF_W, ET_EXEC, ET_DYN = 1, 2, 2, 3


class BinaryView:
    """One binary's file as one process maps it: bytes at runtime addresses, and type metadata
    when located. bias: load address minus link address (PIE; 0 otherwise)."""

    def __init__(self, memory: FileMemory, path: str, types_base: int | None, bias: int = 0) -> None:
        self._read = partial(memory.read, path)
        self.bias = bias
        self.types = TypeReader(partial(memory.read_linked, path), types_base, bias) if types_base else None

    def read(self, addr: int, length: int) -> bytes | None:
        """Bytes at a runtime address (from a probe), if the binary's read-only data holds them."""
        return self._read(addr - self.bias, length)


class FileMemory:
    def __init__(self) -> None:
        # path -> (fd, [(vaddr, filesz, offset, writable)] of PT_LOAD segments), or None
        self._files: dict[str, tuple[int, list[tuple[int, int, int, bool]]] | None] = {}
        self._relocs: dict[str, dict[int, int]] = {}

    def read(self, path: str, addr: int, length: int, link_time: bool = False) -> bytes | None:
        """`length` bytes at link address `addr` of the binary, if read-only there.
        link_time: also from writable data, for values the linker fixed that the program never
        changes (an itab's type)."""
        if path not in self._files:
            self._files[path] = _open(path)
        loaded = self._files[path]
        if loaded is None:
            return None
        fd, segments = loaded
        for vaddr, filesz, offset, writable in segments:
            if (link_time or not writable) and vaddr <= addr and addr + length <= vaddr + filesz:
                try:
                    data = os.pread(fd, length, offset + addr - vaddr)
                except OSError:
                    return None
                return data if len(data) == length else None
        return None

    def read_linked(self, path: str, addr: int, length: int) -> bytes | None:
        """Type metadata as the linker fixed it, at link address `addr`: a PIE's pointers there
        exist only as relocations, read from the ELF's relocation table."""
        data = self.read(path, addr, length, link_time=True)
        if data is None:
            return None
        relocs = self._relocs.get(path)
        if relocs is None:
            relocs = self._relocs[path] = _relative_relocations(path)
        return with_relocations(data, addr, relocs)

    def close(self) -> None:
        for loaded in self._files.values():
            if loaded:
                os.close(loaded[0])
        self._files.clear()


def _relative_relocations(path: str) -> dict[int, int]:
    try:
        with ElfImage(path) as elf:
            return dict(elf.relative_relocations()) if elf.pie else {}
    except BinaryError:
        return {}


def _open(path: str) -> tuple[int, list[tuple[int, int, int, bool]]] | None:
    """Little-endian ELF64 executables only (amd64, arm64); anything else: None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        head = os.pread(fd, 64, 0)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            raise BadInput("not a little-endian ELF64 file")
        (e_type,) = struct.unpack_from("<H", head, 16)
        if e_type not in (ET_EXEC, ET_DYN):
            raise BadInput("not an executable")
        (phoff,) = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        table = os.pread(fd, phentsize * phnum, phoff)
        segments = []
        for i in range(phnum):
            p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(
                "<IIQQQQ", table, i * phentsize
            )
            if p_type == PT_LOAD:
                segments.append((p_vaddr, p_filesz, p_offset, bool(p_flags & PF_W)))
        return fd, segments
    except (OSError, ValueError, struct.error, GoprobeError):
        os.close(fd)
        return None
