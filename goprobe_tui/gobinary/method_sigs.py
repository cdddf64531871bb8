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
from goprobe_tui.gobinary.type_index import TypeIndex, parse_type_name
from goprobe_tui.gobinary.type_shapes import POINTER_DEPTH, PointerTo, RuntimeNode, TypeNode, classify

SCAN_LIMIT = 256 << 20  # bytes of type metadata scanned at most


class MethodSignatures:
    def __init__(self, binary: GoBinary, types: TypeIndex | None = None) -> None:
        self._binary = binary
        self._types = types or TypeIndex(binary)

    @property
    def _types_base(self) -> int | None:
        return self._types.types_base

    @property
    def reader(self) -> TypeReader | None:
        return self._types.reader  # one reader (and its cache) for names and methods

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
        # the cheap tests first: the entry lookups then run on the few words left (on the
        # whole region they took 0.65 s of every attach on hugo)
        maybe = np.flatnonzero(
            (mtyp > 0)
            & (mtyp < len(region))
            & (mtyp % 4 == 0)
            & (name > 0)
            & (name < len(region))
            & (tfn >= 0)
        )
        maybe = maybe[np.isin(tfn[maybe], entries)]
        maybe = maybe[(ifn[maybe] == -1) | np.isin(ifn[maybe], entries)]
        out: dict[int, tuple[int, int]] = {}
        for i in maybe.tolist():
            for text_off in (int(tfn[i]), int(ifn[i])):
                if text_off >= 0:
                    out.setdefault(
                        self._binary.text_start + text_off, (base + int(name[i]), base + int(mtyp[i]))
                    )
        return out

    def params(
        self, fn: Function, receiver_words: int | None, follow: int = POINTER_DEPTH
    ) -> list[Param] | None:
        """Receiver, arguments and results of a method, or None if unknown. receiver_words:
        how many words a value receiver takes (ArgInfo's first argument); follow: levels of
        pointers to structs described (--depth)."""
        nodes = self.nodes(fn)
        if nodes is None:
            return None
        ptrsize = self._binary.elf.ptrsize
        recv = self._receiver(fn, receiver_words, nodes.get("recv"), follow)
        if recv is None:
            return None
        out = [recv]
        for name, node in nodes.items():
            if name != "recv":
                p = classify(node, ptrsize, 0, follow)
                out.append(replace(p, name=name, result=name.startswith("ret")))
        return out

    def nodes(self, fn: Function) -> dict[str, TypeNode] | None:
        """The method's parameters by name (recv, arg0.., ret0..) as types: the receiver's
        where the binary describes it. None if the method's signature is unknown."""
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
        out: dict[str, TypeNode] = {}
        recv = self._receiver_node(fn)
        if recv is not None:
            out["recv"] = recv
        for prefix, types in (("arg", t.ins), ("ret", t.outs)):
            for i, addr in enumerate(types):
                pt: GoType | None = reader.type_at(addr)
                if pt is None:
                    return None
                out[f"{prefix}{i}"] = RuntimeNode(reader, pt)
        return out

    def _receiver_node(self, fn: Function) -> TypeNode | None:
        types = self._types
        try:
            name = parse_type_name(("*" if ".(*" in fn.name else "") + _receiver_type(fn.name))
            found = types.find(name)
        except ValueError:
            return None
        if found is None or types.reader is None:
            return None
        node = RuntimeNode(types.reader, found[1])
        return PointerTo(node) if name.stars else node

    def _receiver(self, fn: Function, words: int | None, node: TypeNode | None, follow: int) -> Param | None:
        ptrsize = self._binary.elf.ptrsize
        word = Part("ptr", ptrsize)
        if ".(*" in fn.name:
            pointee = None
            if node is not None and follow > 0:
                pointee = classify(node, ptrsize, 0, follow).pointee
            return Param(
                "recv",
                "*" + _receiver_type(fn.name),
                "ptr",
                ptrsize,
                ptrsize,
                False,
                (word,),
                pointee=pointee,
            )
        if node is not None:
            p = classify(node, ptrsize, 0, follow)
            if p.kind != "unknown" and (words is None or len(p.parts) == words):
                return replace(p, name="recv")
        if words is None:
            return None
        parts = tuple(Part("int", ptrsize) for _ in range(words))  # a value of unknown layout
        return Param("recv", _receiver_type(fn.name), "words", ptrsize * words, ptrsize, False, parts)


def _receiver_type(name: str) -> str:
    """pkg.(*T).M -> pkg.T; pkg.T.M -> pkg.T."""
    head = name[: name.rfind(".")]
    return head.replace("(*", "").replace(")", "")
