"""What a Go parameter is to the tools: its kind, size and register pieces, from DWARF or
from the runtime type metadata (type_shapes.py makes both)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One register-sized piece of a value: 'int', 'uint', 'bool', 'ptr', or 'float'."""

    kind: str
    size: int


@dataclass(frozen=True)
class Param:
    name: str
    type_name: str
    kind: str  # int uint bool ptr float string slice iface struct unknown
    size: int
    align: int
    result: bool
    parts: tuple[Part, ...]  # flattened register pieces; empty when not register-assignable
    members: tuple[Param, ...] = ()  # a struct's fields, in order (their parts make up `parts`)
    offset: int = 0  # a struct member's byte offset in its struct
    pointee: Param | None = None  # a pointer to a struct: that struct, to read one level deep
    elem: Param | None = None  # a slice's element type


@dataclass(frozen=True)
class FieldPath:
    """`--field r.URL.Path`: from parameter `root`, each step dereferences (or not) and adds an
    offset; `leaf` is the shape of what is read there."""

    expr: str
    root: str
    steps: tuple[tuple[bool, int], ...]
    leaf: Param
