"""Code addresses -> Go frames, inlined ones included, from the pclntab alone (stripped
binaries too): the function holding the pc, its file:line there, and the calls the compiler
inlined at that pc (FUNCDATA_InlTree + PCDATA_InlTreeIndex), innermost first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from goprobe_tui.gobinary import pcvalue
from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.funcdata import FUNCDATA_INLTREE, PCDATA_INLTREEINDEX, FuncData

MAX_INLINE_DEPTH = 32


@dataclass(frozen=True)
class Frame:
    function: str
    inlined: bool  # inlined into the frame after it
    file: str
    line: int


class Symbolizer:
    def __init__(self, binary: GoBinary) -> None:
        self._b = binary
        self._tab = binary.pclntab
        self._fns = binary.functions
        self._entries = np.asarray(self._fns.entry, dtype=np.uint64)
        self._funcdata = FuncData(binary)
        hdr = self._tab.header
        # inlinedCall: Go 1.20+ {funcID u8, _ [3]u8, nameOff, parentPc, startLine int32};
        # before {parent int16, funcID u8, _ u8, file, line, nameOff, parentPc int32}
        self._inl = ("<xxxxiii", 16, 0, 1) if hdr.version == "1.20" else ("<hBxiiii", 20, 4, 5)
        self.frames = lru_cache(maxsize=65536)(self._frames)

    def function_index(self, pc: int) -> int | None:
        i = int(np.searchsorted(self._entries, np.uint64(pc), side="right")) - 1
        if i < 0 or pc >= int(self._fns.end[i]):
            return None
        return i

    def _frames(self, pc: int, return_address: bool = True) -> tuple[Frame, ...]:
        """Frames at `pc`, innermost first. A return address points after its CALL: it is
        looked up one byte back, inside the call instruction."""
        look = pc - 1 if return_address else pc
        i = self.function_index(look)
        if i is None:
            return ()
        try:
            return self._expand(i, look)
        except (BinaryError, struct.error, IndexError, ValueError):
            return (Frame(self._fns.names[i], False, "", 0),)

    def _expand(self, i: int, pc: int) -> tuple[Frame, ...]:
        entry = int(self._fns.entry[i])
        out: list[Frame] = []
        tree = self._funcdata.address(i, FUNCDATA_INLTREE)
        table = self._funcdata.pcdata_offset(i, PCDATA_INLTREEINDEX)
        at = pc
        for _ in range(MAX_INLINE_DEPTH):
            index = -1
            if tree is not None and table is not None:
                index = pcvalue.value_at(self._tab.table, table, entry, at, self._tab.header.quantum)
            file, line = self._file_line(i, entry, at)
            if index < 0:
                out.append(Frame(self._fns.names[i], False, file, line))
                return tuple(out)
            assert tree is not None  # an index was found in it
            fmt, size, name_field, parent_field = self._inl
            fields = struct.unpack(fmt, self._b.elf.read_vaddr(tree + index * size, size))
            name_off, parent_pc = fields[name_field], fields[parent_field]
            name = self._tab.cstring(self._tab.header.funcname_off + name_off)
            out.append(Frame(name, True, file, line))
            at = entry + parent_pc
        return tuple(out)

    def _file_line(self, i: int, entry: int, pc: int) -> tuple[str, int]:
        return self._tab.file_line(int(self._fns.func_off[i]), entry, pc)
