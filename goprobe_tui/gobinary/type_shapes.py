"""A Go type's shape for the ABI: kind, size, alignment, register pieces, members. One set
of rules for both sources of types: DWARF (dwarfparams.py) and the runtime type metadata
(go_types.py), each seen through a small TypeNode adapter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary.go_types import (
    ARRAY,
    BOOL,
    CHAN,
    COMPLEX64,
    COMPLEX128,
    FLOAT32,
    FLOAT64,
    FUNC,
    IFACE,
    MAP,
    PTR,
    SLICE,
    STRING,
    STRUCT,
    UNSAFE_PTR,
    GoType,
    TypeReader,
)
from goprobe_tui.gobinary.params import FieldPath, Param, Part

INT_KINDS = range(2, 7)
UINT_KINDS = range(7, 13)
PTR_KINDS = (CHAN, FUNC, MAP, PTR, UNSAFE_PTR)
MAX_DEPTH = 4


class TypeNode(Protocol):
    # read-only: an adapter may hold narrower types (a runtime type's kind is never None)
    @property
    def kind(self) -> int | None: ...  # reflect.Kind

    @property
    def size(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def count(self) -> int | None: ...  # arrays: the length

    def members(self) -> list[tuple[str, TypeNode, int]] | None:
        """A struct's fields (name, type, offset); None if they cannot all be known."""

    def elem(self) -> TypeNode | None:
        """What a pointer points to; a slice's or an array's element."""


POINTER_DEPTH = 1  # pointers to structs followed this many levels, by default


def classify(node: TypeNode, ptrsize: int, depth: int = 0, follow: int = POINTER_DEPTH) -> Param:
    """Following Go's internal ABI assignment rules. The result is unnamed: the caller names
    it. Kind "unknown": never register-assigned (so neither is a struct holding it). follow:
    how many levels of pointers to structs to describe (their fields are read at the probe)."""
    kind, size, name = node.kind, node.size, node.name
    align = max(1, min(size, ptrsize))

    def shape(k: str, sz: int, al: int, parts: tuple[Part, ...] = (), **more) -> Param:
        return Param("", name, k, sz, al, False, parts, **more)

    if kind in INT_KINDS:
        return shape("int", size, align, (Part("int", size),))
    if kind in UINT_KINDS:
        return shape("uint", size, align, (Part("uint", size),))
    if kind == BOOL:
        return shape("bool", 1, 1, (Part("bool", 1),))
    if kind in PTR_KINDS:
        pointee = None
        if kind == PTR and follow > 0:
            target = node.elem()
            pointee = struct_layout(target, ptrsize, follow - 1) if target is not None else None
        return shape(
            "map" if kind == MAP else "ptr", ptrsize, ptrsize, (Part("ptr", ptrsize),), pointee=pointee
        )
    if kind in (FLOAT32, FLOAT64):
        return shape("float", size, align, (Part("float", size),))
    if kind in (COMPLEX64, COMPLEX128):
        half = size // 2
        return shape("complex", size, align, (Part("float", half), Part("float", half)))
    if kind == STRING:
        return shape("string", 2 * ptrsize, ptrsize, (Part("ptr", ptrsize), Part("int", ptrsize)))
    if kind == SLICE:
        target = node.elem() if depth < MAX_DEPTH else None
        elem = classify(target, ptrsize, depth + 1, 0) if target is not None else None
        return shape(
            "slice",
            3 * ptrsize,
            ptrsize,
            (Part("ptr", ptrsize), Part("int", ptrsize), Part("int", ptrsize)),
            elem=elem,
        )
    if kind == IFACE:
        return shape("iface", 2 * ptrsize, ptrsize, (Part("ptr", ptrsize), Part("ptr", ptrsize)))
    if kind == STRUCT and depth < MAX_DEPTH:
        fields = node.members()
        if fields is None:
            return shape("struct", size, ptrsize)
        members = []
        for fname, ftype, offset in fields:
            m = classify(ftype, ptrsize, depth + 1, 0)  # a struct by value: its pointers stay
            if m.kind == "unknown":
                return shape("struct", size, ptrsize)  # not register-assignable as a whole
            members.append(replace(m, name=fname, offset=offset))
        max_align = max((m.align for m in members), default=1)
        return shape(
            "struct", size, max_align, tuple(p for m in members for p in m.parts), members=tuple(members)
        )
    if kind == ARRAY:
        if size == 0 or node.count == 0:
            return shape("struct", 0, 1)
        target = node.elem()
        # Go's ABI assigns a [1]T like a T; longer arrays always go to the stack.
        if node.count == 1 and target is not None and depth < MAX_DEPTH:
            elem = classify(target, ptrsize, depth + 1, 0)
            if elem.kind != "unknown":
                return replace(elem, type_name=name, size=size)
    return shape("unknown", size, align)


def struct_layout(node: TypeNode, ptrsize: int, follow: int = 0) -> Param | None:
    """A struct's members with their offsets, for reading it through a pointer; pointers among
    them described `follow` levels further."""
    fields = node.members() if node.kind == STRUCT else None
    if fields is None:
        return None
    members = tuple(
        replace(classify(ftype, ptrsize, 1, follow), name=fname, offset=offset, members=())
        for fname, ftype, offset in fields
    )
    return Param("", node.name, "struct", 0, 1, False, (), members)


def select_path(node: TypeNode, expr: str, root: str, names: list[str], ptrsize: int) -> FieldPath:
    """A Go selector (`r.URL.Path`) on a parameter of type `node`, as a chain of
    (dereference?, offset) steps and the leaf's shape; one rule for DWARF and runtime types.
    ValueError names what does not exist."""
    if not names:
        raise BadInput(f"--field {expr}: name a field of {root} (e.g. {root}.Name)")
    steps: list[tuple[bool, int]] = []
    deref, offset = False, 0
    for name in names:
        if node.kind == PTR:
            target = node.elem()
            if target is None:
                raise BadInput(f"--field {expr}: what {node.name} points to is not described")
            if deref or steps or offset:
                steps.append((deref, offset))
            deref, offset, node = True, 0, target
        elif not deref:
            raise BadInput(
                f"--field {expr}: {root} is not a pointer to a struct; only fields "
                "reached through pointers can be read"
            )
        members = node.members() if node.kind == STRUCT else None
        found = next((m for m in members or () if m[0] == name), None)
        if found is None:
            more = "" if node.kind != STRUCT or members is not None else " (its fields are not described)"
            raise BadInput(f"--field {expr}: {node.name} has no field {name}{more}")
        offset += found[2]
        node = found[1]
    steps.append((deref, offset))
    leaf = replace(
        classify(node, ptrsize, 1, 0), name=expr, type_name=node.name, members=(), pointee=None, elem=None
    )
    return FieldPath(expr, root, tuple(steps), leaf)


class PointerTo:
    """`*T` for a type T that was found by name (its own pointer type need not exist)."""

    kind, size, count = PTR, 8, None

    def __init__(self, target: TypeNode) -> None:
        self._target = target
        self.name = "*" + target.name

    def members(self) -> None:
        return None

    def elem(self) -> TypeNode:
        return self._target


class RuntimeNode:
    """A runtime type (abi.Type) as a TypeNode."""

    def __init__(self, reader: TypeReader, t: GoType) -> None:
        self._reader, self._t = reader, t
        self.kind, self.size, self.name = t.kind, t.size, t.name
        self.count = t.length if t.kind == ARRAY else None

    def _node(self, addr: int) -> RuntimeNode | None:
        t = self._reader.type_at(addr)
        return None if t is None else RuntimeNode(self._reader, t)

    def members(self) -> list[tuple[str, TypeNode, int]] | None:
        fields = self._reader.all_fields(self._t)
        if fields is None:
            return None
        out: list[tuple[str, TypeNode, int]] = []
        for name, addr, offset in fields:
            node = self._node(addr)
            if node is None:
                return None
            out.append((name, node, offset))
        return out

    def elem(self) -> TypeNode | None:
        return self._node(self._t.elem) if self._t.elem else None
