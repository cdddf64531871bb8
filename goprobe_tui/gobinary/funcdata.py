"""A function's FUNCDATA records (argument layout, inline tree), found without symbols.

The _func record lists npcdata u32 table offsets, then nfuncdata references. Before Go 1.18
a reference is an absolute pointer (aligned to the pointer size); since 1.18 it is a u32
offset from moduledata.gofunc (~0: none). Go's runtime/symtab.go funcdata() does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.pclntab import gather_u32
from goprobe_tui.gobinary.textbase import moduledata_words

FUNCDATA_INLTREE = 3
FUNCDATA_ARGINFO = 5
PCDATA_INLTREEINDEX = 2
_NONE = 0xFFFFFFFF

# ArgInfo's byte program (cmd/compile/internal/ssagen emitArgInfo, runtime/traceback.go)
_END_SEQ, _START_AGG, _END_AGG, _DOTDOTDOT, _OFFSET_TOO_LARGE = 0xFF, 0xFE, 0xFD, 0xFC, 0xFB


@dataclass(frozen=True)
class ArgWord:
    offset: int  # in the argument spill/stack area
    size: int


@dataclass(frozen=True)
class ArgInfo:
    """Top-level arguments, each a tuple of its scalar words (an aggregate has several)."""

    args: tuple[tuple[ArgWord, ...], ...]
    truncated: bool  # the runtime stops after 10 components: more follow


def parse_arginfo(program: bytes) -> ArgInfo | None:
    """Group the words of ArgInfo's program into top-level arguments. None if malformed."""
    args: list[tuple[ArgWord, ...]] = []
    current: list[ArgWord] = []
    depth, i, truncated = 0, 0, False
    while i < len(program):
        op = program[i]
        if op == _END_SEQ:
            return ArgInfo(tuple(args), truncated)
        if op == _START_AGG:
            depth += 1
        elif op == _END_AGG:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                args.append(tuple(current))  # an empty struct is still an argument
                current = []
        elif op in (_DOTDOTDOT, _OFFSET_TOO_LARGE):
            truncated = True
        else:
            if i + 1 >= len(program):
                return None
            word = ArgWord(op, program[i + 1])
            i += 1
            if depth == 0:
                args.append((word,))
            else:
                current.append(word)
        i += 1
    return None  # no end marker


class FuncData:
    """Reads FUNCDATA records of a binary's functions."""

    def __init__(self, binary: GoBinary) -> None:
        self._binary = binary
        tab = binary.pclntab
        self._hdr = tab.header
        self._table = tab.table
        version = self._hdr.version
        base = 4 if self._hdr.relative_entries else self._hdr.ptrsize
        field = lambda n: base + (n - 1) * 4  # noqa: E731 - as Go's funcData.field
        # Go 1.20 put startLine before funcID
        self._npcdata = field(7)
        funcid = field(10) if version == "1.20" else field(9)
        self._nfuncdata = funcid + 3
        self._pcdata = funcid + 4
        self._supported = version in ("1.16", "1.18", "1.20")

    @cached_property
    def _gofunc(self) -> int | None:
        """moduledata.gofunc (Go 1.18+). Its word moved: after types, etypes, rodata up to
        Go 1.25; Go 1.26 moved funcdata into the pclntab and the word further on. Each
        candidate is proven by decoding the ArgInfo of functions whose argument size is known."""
        if self._hdr.version == "1.16":
            return None
        elf = self._binary.elf
        words = moduledata_words(elf, self._binary.pclntab, 48)
        if words is None:
            return None
        for index in (38, 40, 43):
            if elf.segment_for(words[index], executable=False) is not None and self._proven(words[index]):
                return words[index]
        return None

    def _proven(self, base: int) -> bool:
        """With this base, the ArgInfo of sampled functions parses and fits their _func.args."""
        fns = self._binary.functions
        checked = 0
        for i in range(0, len(fns), max(1, len(fns) // 400)):
            ref = self._ref(i, FUNCDATA_ARGINFO)
            if ref is None or ref == _NONE:
                continue
            try:
                info = parse_arginfo(self._binary.elf.read_vaddr(base + ref, 64))
            except BinaryError:
                return False
            if info is None or any(w.offset + w.size > int(fns.args[i]) for arg in info.args for w in arg):
                return False
            checked += 1
            if checked == 20:
                break
        return checked > 0

    def _u32(self, off: int) -> int:
        return int.from_bytes(self._table[off : off + 4], self._hdr.byteorder)

    def _ref(self, fn_index: int, which: int) -> int | None:
        """FUNCDATA reference `which` as stored: a pointer before 1.18, else a u32 offset."""
        func_off = int(self._binary.functions.func_off[fn_index])
        npcdata = self._u32(func_off + self._npcdata)
        if which >= self._table[func_off + self._nfuncdata]:
            return None
        refs = func_off + self._pcdata + 4 * npcdata
        if self._hdr.version == "1.16":
            ps = self._hdr.ptrsize
            refs = (refs + ps - 1) // ps * ps  # pointers are aligned in the record
            raw = self._table[refs + ps * which : refs + ps * (which + 1)]
            return int.from_bytes(raw, self._hdr.byteorder) or None
        return self._u32(refs + 4 * which)

    def address(self, fn_index: int, which: int) -> int | None:
        """The virtual address of FUNCDATA `which` of a function, or None."""
        if not self._supported:
            return None
        ref = self._ref(fn_index, which)
        if ref is None or self._hdr.version == "1.16":
            return ref
        gofunc = self._gofunc
        if ref == _NONE or gofunc is None:
            return None
        return gofunc + ref

    def pcdata_offset(self, fn_index: int, which: int) -> int | None:
        """Offset in the pclntab of PCDATA table `which` of a function (for pcvalue)."""
        if not self._supported:
            return None
        func_off = int(self._binary.functions.func_off[fn_index])
        if which >= self._u32(func_off + self._npcdata):
            return None
        off = self._u32(func_off + self._pcdata + 4 * which)
        return off + self._hdr.pctab_off if off else None

    # -- every function at once (a listing of a 90,000-function binary) ------------------
    def _every_function(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(an answer of -1 per function, every function record's offset; None: no records)."""
        fns = self._binary.functions
        out = np.full(len(fns), -1, dtype=np.int64)
        if not self._supported or not len(fns):
            return out, None
        return out, np.asarray(fns.func_off, dtype=np.int64)

    def all_pcdata_offsets(self, which: int) -> np.ndarray:
        """pcdata_offset of every function, -1 where it has none."""
        out, fo = self._every_function()
        if fo is None:
            return out
        buf, order = self._binary.pclntab.buf, self._hdr.order
        has = np.flatnonzero(gather_u32(buf, fo + self._npcdata, order) > which)
        off = gather_u32(buf, fo[has] + self._pcdata + 4 * which, order)
        out[has] = np.where(off != 0, off + self._hdr.pctab_off, -1)
        return out

    def all_addresses(self, which: int) -> np.ndarray:
        """address() of every function, -1 where it has none."""
        out, fo = self._every_function()
        if fo is None:
            return out
        buf, order = self._binary.pclntab.buf, self._hdr.order
        if fo.max() + self._nfuncdata >= len(buf):
            raise BinaryError("function record out of bounds")
        has = np.flatnonzero(buf[fo + self._nfuncdata] > which)
        refs = fo[has] + self._pcdata + 4 * gather_u32(buf, fo[has] + self._npcdata, order)
        if self._hdr.version == "1.16":
            ps = self._hdr.ptrsize
            refs = (refs + ps - 1) // ps * ps + ps * which
            low = gather_u32(buf, refs, order)
            if ps == 8:
                high = gather_u32(buf, refs + 4, order)
                low = (high << 32 | low) if order == "<" else (low << 32 | high)
            out[has] = np.where(low != 0, low, -1)
            return out
        gofunc = self._gofunc
        if gofunc is None:
            return out
        raw = gather_u32(buf, refs + 4 * which, order)
        out[has] = np.where(raw != _NONE, raw + gofunc, -1)
        return out

    def arginfo(self, fn_index: int) -> ArgInfo | None:
        addr = self.address(fn_index, FUNCDATA_ARGINFO)
        if addr is None:
            return None
        try:
            # at most 10 components of 2 bytes, plus aggregate markers and the end
            program = self._binary.elf.read_vaddr(addr, 64)
        except BinaryError:
            return None
        return parse_arginfo(program)
