"""Full signatures of methods from the runtime type metadata, for binaries without DWARF.

Every type with methods that reflection or an interface can reach lists them as abi.Method
{Name NameOff; Mtyp TypeOff; Ifn, Tfn TextOff}: four int32 offsets, no relocations. Mtyp is
the method's func type without its receiver. The tables are found by scanning the type
region for records whose Tfn is a function entry and whose Mtyp is a func type: no symbol
or typelinks table is needed (Go 1.27 dropped the latter).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np

from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.go_types import FUNC, GoType, TypeReader
from goprobe_tui.gobinary.params import Param, Part
from goprobe_tui.gobinary.textbase import moduledata_types
from goprobe_tui.gobinary.type_shapes import classify_runtime

SCAN_LIMIT = 256 << 20  # bytes of type metadata scanned at most


class MethodSignatures:
    def __init__(self, binary: GoBinary) -> None:
        self._binary = binary

    @cached_property
    def _types_base(self) -> int | None:
        b = self._binary
        return moduledata_types(b.elf, b.pclntab, b.buildinfo.version_tuple())

    @cached_property
    def reader(self) -> TypeReader | None:
        base = self._types_base
        if base is None or self._binary.elf.ptrsize != 8:
            return None
        return TypeReader(self._binary.elf.read_linked, base)

    @cached_property
    def _by_entry(self) -> dict[int, tuple[int, int]]:
        """Function entry -> (its method's name, its func type): candidates, proven by
        params() (the name must be the function's, the type a func type)."""
        reader, base = self.reader, self._types_base
        if reader is None or base is None:
            return {}
        elf = self._binary.elf
        seg = elf.segment_for(base, executable=False)
        if seg is None:
            return {}
        end = min(seg.vaddr + seg.filesz, base + SCAN_LIMIT)
        try:
            region = elf.read_vaddr(base, (end - base) & ~3)
        except BinaryError:
            return {}
        words = np.frombuffer(region, dtype="<i4")
        if len(words) < 4:
            return {}
        fns = self._binary.functions
        entries = fns.entry.astype(np.int64) - self._binary.text_start
        name, mtyp, ifn, tfn = words[:-3], words[1:-2], words[2:-1], words[3:]
        hit = (np.isin(tfn, entries) & (mtyp > 0) & (mtyp < len(region)) & (mtyp % 4 == 0)
               & (name > 0) & (name < len(region)) & ((ifn == -1) | np.isin(ifn, entries)))
        out: dict[int, tuple[int, int]] = {}
        for i in np.flatnonzero(hit).tolist():
            for text_off in (int(tfn[i]), int(ifn[i])):
                if text_off >= 0:
                    out.setdefault(self._binary.text_start + text_off, (base + int(name[i]),
                                                                       base + int(mtyp[i])))
        return out

    def params(self, fn: Function, receiver_words: int | None) -> list[Param] | None:
        """Receiver, arguments and results of a method, or None if unknown. receiver_words:
        how many words a value receiver takes (ArgInfo's first argument)."""
        found = self._by_entry.get(fn.entry)
        reader = self.reader
        if found is None or reader is None or "[" in fn.name:  # generic: a dictionary comes first
            return None
        name, typ = found
        if reader.name_at(name) != fn.name.rsplit(".", 1)[-1]:
            return None
        t = reader.type_at(typ)
        if t is None or t.kind != FUNC:
            return None
        recv = self._receiver(fn, receiver_words)
        if recv is None:
            return None
        ins = self._named(t.ins, "arg", False)
        outs = self._named(t.outs, "ret", True)
        if ins is None or outs is None:
            return None
        return [recv, *ins, *outs]

    def _receiver(self, fn: Function, words: int | None) -> Param | None:
        ptrsize = self._binary.elf.ptrsize
        word = Part("ptr", ptrsize)
        if ".(*" in fn.name:
            return Param("recv", "*" + _receiver_type(fn.name), "ptr", ptrsize, ptrsize, False, (word,))
        if words is None:
            return None
        parts = tuple(Part("int", ptrsize) for _ in range(words))  # a value of unknown layout
        return Param("recv", _receiver_type(fn.name), "words", ptrsize * words, ptrsize, False, parts)

    def _named(self, types: tuple[int, ...], prefix: str, result: bool) -> list[Param] | None:
        out = []
        for i, addr in enumerate(types):
            t: GoType | None = self.reader.type_at(addr) if self.reader else None
            if t is None:
                return None
            p = classify_runtime(self.reader, t, self._binary.elf.ptrsize)
            out.append(replace(p, name=f"{prefix}{i}", result=result))
        return out


def _receiver_type(name: str) -> str:
    """pkg.(*T).M -> pkg.T; pkg.T.M -> pkg.T."""
    head = name[:name.rfind(".")]
    return head.replace("(*", "").replace(")", "")
