"""Every Go value kind in one registry: what each fetches at a probe, and how it decodes.

gobinary/abi.py says *where* a parameter lives (registers, stack slots); a kind here turns
those places into tracefs fetch args and the recorded fields back into a Go value. Adding a
kind means one class here. Kernel field names come from locations (`%ax` -> ax) or are
generated, never taken from the binary: DWARF names are untrusted and only displayed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.gobinary.abi import Assignment
from goprobe_tui.gobinary.params import FieldPath, Param
from goprobe_tui.values.decoded import (
    ELIDED,
    FLOAT_UNREADABLE,
    NIL,
    NIL_DEREF,
    UNAVAILABLE,
    Duration,
    Marker,
    NamedInt,
    SliceValue,
    StructValue,
    Truncated,
    Words,
    decode_text,
)
from goprobe_tui.values.file_memory import BinaryView
from goprobe_tui.values.iface import describe_iface
from goprobe_tui.values.limits import (
    DEEP_BYTES,
    DEEP_FIELDS,
    IFACE_WORDS,
    POINTEE_BYTES,
    POINTEE_FIELDS,
    SLICE_BYTES,
    STRING_BYTES,
)


@dataclass(frozen=True)
class ValueSpec:
    name: str  # display name (from DWARF, or argN/retN)
    kind: str  # a key of KINDS
    keys: tuple[str, ...]  # kernel field names for its pieces
    type_name: str = ""
    sizes: tuple[int, ...] = ()  # byte size of each integer piece (a register is fetched whole)
    fields: tuple[ValueSpec, ...] = ()  # a struct's fields, a pointee's, a slice's elements
    # Pointers the value was read through: if one is nil the read faulted (and the kernel
    # wrote zeros), so the value is not shown.
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchPlan:
    args: tuple[str, ...]  # "key=expr:type" for uprobe_events
    values: tuple[ValueSpec, ...]


Fields = Mapping[str, Any]


def _word(value: Any, size: int, signed: bool) -> int | None:
    """A register is fetched whole; the value is its low `size` bytes."""
    if not isinstance(value, int):
        return None
    bits = 8 * size
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _words(spec: ValueSpec, fields: Fields, signed_from: int = 99) -> list[int | None]:
    """The integer pieces of a value; pieces from `signed_from` on are signed (lengths)."""
    sizes = spec.sizes or (8,) * len(spec.keys)
    return [
        _word(fields.get(k), sizes[i] if i < len(sizes) else 8, i >= signed_from)
        for i, k in enumerate(spec.keys)
    ]


def _pointer(value: int | None) -> Any:
    """0xc000012345, or nil: how Go prints a pointer."""
    if value is None:
        return None
    return Marker(f"{value:#x}") if value else NIL


def _string(
    ptr: int | None, length: int | None, data: Any, view: BinaryView | None, fetched: bool = True
) -> Any:
    """fetched: its bytes were asked of the probe (a mass attach reads registers only)."""
    if length is None or length < 0:
        return Marker("<bad string>")
    if length == 0:
        return ""
    if not isinstance(data, bytes) and view is not None and ptr:
        data = view.read(ptr, min(length, STRING_BYTES))  # a literal in .rodata, never touched
    if not isinstance(data, bytes):
        return Marker(f"<fault: {length} bytes>" if fetched else f"<{length} bytes, not read>")
    text = decode_text(data[:length])
    return text if length <= len(data) else Truncated(text, length, len(data))


class FetchBuilder:
    """Collects fetch args (deduplicated by key) while kinds describe their values."""

    def __init__(self, ptrsize: int, deep: bool = True) -> None:
        self.ptrsize = ptrsize
        # deep: read behind pointers too (string bytes, struct fields, interface words). Off,
        # only registers and stack slots: the fetch args of most functions are then the same,
        # so a mass attach needs few kernel events (one teardown wait each).
        self.deep = deep
        self.wide = False  # --depth 2+: structs behind pointers are read further (DEEP_*)
        self.fetch: dict[str, str] = {}
        self.locs: dict[str, str] = {}  # key -> the location it was read from

    def add(self, key: str, expr: str, typ: str) -> str:
        self.fetch[key] = f"{key}={expr}:{typ}"
        return key

    def register(self, loc: str, size: int) -> str:
        """A register is read whole; a stack slot exactly (its neighbour may be unmapped)."""
        key = location_key(loc)
        self.locs[key] = loc
        return self.add(key, loc, f"x{8 * (self.ptrsize if loc.startswith('%') else size)}")

    def bytes_at(self, key: str, expr: str, count: int) -> str:
        return self.add(key, f"+0({expr})", f"u8[{count}]")


def location_key(loc: str) -> str:
    """Field names come from the location, not the parameter: `%ax` -> ax, `+8(%sp)` -> sp8.
    Two functions that read the same places then have identical fetch args, so their probes
    can share one kernel event (one disable wait instead of one per function)."""
    if loc.startswith("%"):
        return loc[1:]
    m = re.fullmatch(r"\+(\d+)\(%sp\)", loc)
    if not m:
        raise BadInput(f"unexpected location {loc}")
    return f"sp{m.group(1)}"


def location_of(key: str) -> str:
    """The location a location key was made from: ax -> %ax, sp16 -> +16(%sp)."""
    m = re.fullmatch(r"sp(\d+)", key)
    if m:
        return f"+{m.group(1)}(%sp)"
    if not re.fullmatch(r"[a-z0-9]{1,6}", key):
        raise BadInput(f"{key} is not a register or stack slot")
    return f"%{key}"


class Kind:
    """A value kind. `fetch` reads a parameter from its locations (registers or stack
    slots), `fetch_memory` reads one at +off(base) in memory (a field behind a pointer), and
    `decode` turns the recorded fields back into the value."""

    name: ClassVar[str]
    in_memory: ClassVar[bool] = False  # whether fetch_memory can read it

    def fetch(self, b: FetchBuilder, p: Param, locs: Iterator[str]) -> ValueSpec:
        ints = [part for part in p.parts if part.kind != "float"]
        keys = tuple(b.register(next(locs), part.size) for part in ints)
        return ValueSpec(p.name, self.name, keys, p.type_name, tuple(part.size for part in ints))

    def fetch_memory(self, b: FetchBuilder, p: Param, key: str, base: str, off: int) -> ValueSpec:
        raise BadInput(f"a {p.type_name or self.name} cannot be shown")

    def decode(self, spec: ValueSpec, fields: Fields, view: BinaryView | None) -> Any:
        raise NotImplementedError


KINDS: dict[str, Kind] = {}


def register_kind(cls: type[Kind]) -> type[Kind]:
    KINDS[cls.name] = cls()
    return cls


class _Scalar(Kind):
    in_memory = True

    def fetch_memory(self, b, p, key, base, off):
        if p.size not in (1, 2, 4, 8):
            return super().fetch_memory(b, p, key, base, off)
        b.add(key, f"+{off}({base})", f"x{8 * p.size}")
        return ValueSpec(p.name, self.name, (key,), p.type_name, (p.size,))


_BUILTIN_INTS = frozenset(
    {
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "byte",
        "rune",
        "",
    }
)


@register_kind
class IntKind(_Scalar):
    name = "int"
    signed = True

    def decode(self, spec, fields, view):
        n = _words(spec, fields, 0 if self.signed else 99)[0]
        if n is None:
            return None
        if spec.type_name == "time.Duration":
            return Duration(go_duration(n), n)
        if spec.type_name not in _BUILTIN_INTS and "." in spec.type_name:
            return NamedInt(n, spec.type_name)  # main.Color(3)
        return n


@register_kind
class UintKind(IntKind):
    name = "uint"
    signed = False


@register_kind
class RegisterKind(Kind):
    """A result register read raw where the results are unknown (no DWARF)."""

    name = "register"

    def decode(self, spec, fields, view):
        return _words(spec, fields)[0]


@register_kind
class WordsKind(Kind):
    """An argument of several words whose type is unknown (stripped: grouped by ArgInfo)."""

    name = "words"

    def decode(self, spec, fields, view):
        return Words(_words(spec, fields))


@register_kind
class BoolKind(_Scalar):
    name = "bool"

    def decode(self, spec, fields, view):
        n = _words(spec, fields)[0]
        return None if n is None else bool(n)


@register_kind
class PtrKind(_Scalar):
    """Hex or nil; a pointer to a struct has its first fields read in the same probe."""

    name = "ptr"

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        if p.pointee is None or not spec.keys or b.ptrsize != 8 or not b.deep:
            return spec
        return ValueSpec(
            spec.name,
            spec.kind,
            spec.keys,
            spec.type_name,
            spec.sizes,
            _through(b, p.pointee, spec.keys[0], b.locs[spec.keys[0]]),
        )

    def fetch_memory(self, b, p, key, base, off):
        spec = super().fetch_memory(b, p, key, base, off)
        if p.pointee is None or b.ptrsize != 8:
            return spec
        # --depth 2 and more: the struct behind this pointer field, one dereference further
        return ValueSpec(
            spec.name,
            spec.kind,
            spec.keys,
            spec.type_name,
            spec.sizes,
            _through(b, p.pointee, key, f"+{off}({base})"),
        )

    def decode(self, spec, fields, view):
        n = _words(spec, fields)[0]
        if spec.fields and n:
            return StructValue(
                "&" + spec.type_name.removeprefix("*"),
                {f.name: decode_value(f, fields, view) for f in spec.fields},
            )
        return _pointer(n)


MAX_FETCH_ARGS = 96  # the kernel takes 128 per probe; g, goid, the return address and more too


def _through(b: FetchBuilder, struct: Param, base: str, loc: str) -> tuple[ValueSpec, ...]:
    out = []
    fields, window = (DEEP_FIELDS, DEEP_BYTES) if b.wide else (POINTEE_FIELDS, POINTEE_BYTES)
    for m in struct.members[:fields]:
        k = KINDS.get(m.kind)
        if m.offset + m.size > window or k is None or not k.in_memory or len(b.fetch) >= MAX_FETCH_ARGS:
            out.append(ValueSpec(m.name, "elided", ()))
            continue
        try:
            out.append(k.fetch_memory(b, m, f"{base}_f{m.offset}", loc, m.offset))
        except GoprobeError:
            out.append(ValueSpec(m.name, "elided", ()))
    return tuple(out)


@register_kind
class MapKind(Kind):
    name = "map"

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        if not spec.keys or b.ptrsize != 8 or not b.deep:
            return spec
        # a map's header starts with its element count (hmap.count; Map.used since 1.24)
        count = b.add(f"{spec.keys[0]}_n", f"+0({b.locs[spec.keys[0]]})", "x64")
        return ValueSpec(spec.name, spec.kind, (*spec.keys, count), spec.type_name, (8, 8))

    def decode(self, spec, fields, view):
        nums = _words(spec, fields)
        if not nums[0]:
            return _pointer(nums[0])
        return StructValue(spec.type_name, {"len": nums[1] if len(nums) > 1 else None})


@register_kind
class StringKind(Kind):
    name = "string"
    in_memory = True

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        if not spec.keys or not b.deep:
            return spec  # without its bytes: read from the binary's file where it is a literal
        data = b.bytes_at(f"{spec.keys[0]}_s", b.locs[spec.keys[0]], STRING_BYTES)
        return ValueSpec(spec.name, spec.kind, (*spec.keys, data), spec.type_name, spec.sizes)

    def fetch_memory(self, b, p, key, base, off):
        b.add(key, f"+{off}({base})", "x64")
        n = b.add(f"{key}_n", f"+{off + 8}({base})", "x64")
        data = b.bytes_at(f"{key}_s", f"+{off}({base})", STRING_BYTES)
        return ValueSpec(p.name, "string", (key, n, data), p.type_name, (8, 8))

    def decode(self, spec, fields, view):
        nums = _words(spec, fields, 1)
        fetched = len(spec.keys) > 2
        data = fields.get(spec.keys[2]) if fetched else None
        return _string(nums[0], nums[1] if len(nums) > 1 else None, data, view, fetched)


@register_kind
class SliceKind(Kind):
    """len, cap and the first elements: scalars, strings, []byte as text."""

    name = "slice"

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        elem = p.elem
        if (
            elem is None
            or not spec.keys
            or b.ptrsize != 8
            or not b.deep
            or elem.kind not in ("int", "uint", "bool", "string")
            or elem.size not in (1, 2, 4, 8, 16)
        ):
            return spec
        loc = b.locs[spec.keys[0]]
        keys = [b.bytes_at(f"{spec.keys[0]}_e", loc, SLICE_BYTES)]
        if elem.kind == "string":  # the bytes behind the first two
            keys += [b.bytes_at(f"{spec.keys[0]}_e{i}s", f"+{16 * i}({loc})", STRING_BYTES) for i in (0, 1)]
        elements = ValueSpec("elements", elem.kind, tuple(keys), elem.type_name, (elem.size,))
        return ValueSpec(spec.name, spec.kind, spec.keys, spec.type_name, spec.sizes, (elements,))

    def decode(self, spec, fields, view):
        nums = _words(spec, fields, 1)
        if nums[0] == 0:
            return NIL
        if spec.fields and None not in nums[:2]:
            return SliceValue(
                spec.type_name, nums[1], nums[2], _elements(spec.fields[0], fields, nums[0], nums[1], view)
            )
        return {"ptr": _pointer(nums[0]), "len": nums[1], "cap": nums[2]}


def _elements(
    spec: ValueSpec, fields: Fields, ptr: int, length: int, view: BinaryView | None
) -> list[Any] | bytes | None:
    """The first elements of a slice from the bytes of its backing array."""
    data = fields.get(spec.keys[0])
    size = spec.sizes[0]
    if not isinstance(data, bytes) and view is not None and length > 0:
        data = view.read(ptr, min(length * size, SLICE_BYTES) // size * size)  # a literal
    if not isinstance(data, bytes):
        return None
    count = min(length, len(data) // size)
    if spec.kind == "uint" and size == 1:
        return data[:count]  # []byte: shown as text
    out: list[Any] = []
    for i in range(count):
        chunk = data[i * size : (i + 1) * size]
        if spec.kind == "string":
            if i >= 2:
                break
            sptr = int.from_bytes(chunk[:8], "little")
            n = int.from_bytes(chunk[8:16], "little", signed=True)
            out.append(_string(sptr, n, fields.get(spec.keys[1 + i]), view))
        elif spec.kind == "bool":
            out.append(bool(chunk[0]))
        else:
            out.append(int.from_bytes(chunk, "little", signed=spec.kind == "int"))
    return out


@register_kind
class IfaceKind(Kind):
    """The dynamic type is unknown at probe time: fetch the first words behind the data
    pointer, and the bytes behind words 0 and 2 (string data of the first fields), to decode
    once the type is read from the binary's type metadata."""

    name = "iface"

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        if len(spec.keys) != 2 or b.ptrsize != 8 or not b.deep:
            return spec  # its dynamic type is still named (the type word is a register)
        data, loc = spec.keys[1], b.locs[spec.keys[1]]
        extra = [b.add(f"{data}_d{i}", f"+{8 * i}({loc})", "x64") for i in range(IFACE_WORDS)]
        extra += [b.bytes_at(f"{data}_b{i}", f"+{8 * i}({loc})", STRING_BYTES) for i in (0, 2)]
        return ValueSpec(spec.name, spec.kind, (*spec.keys, *extra), spec.type_name, spec.sizes)

    def decode(self, spec, fields, view):
        nums = _words(spec, fields)
        if nums[0] == 0:
            return NIL
        if view is not None and view.types is not None and nums[0] is not None:
            value = describe_iface(spec.type_name, spec.keys[1], nums[0], fields, view)
            if value is not None:
                return value
        return {"type": _pointer(nums[0]), "data": _pointer(nums[1])}


@register_kind
class StructKind(Kind):
    """By value: each field decodes from its own pieces."""

    name = "struct"

    def fetch(self, b, p, locs):
        if not p.members:
            return super().fetch(b, p, locs)
        fields = tuple(fetch_value(b, m, locs) for m in p.members)
        return ValueSpec(p.name, self.name, tuple(k for f in fields for k in f.keys), p.type_name, (), fields)

    def decode(self, spec, fields, view):
        if spec.fields:
            return StructValue(spec.type_name, {f.name: decode_value(f, fields, view) for f in spec.fields})
        return {f"w{i}": n for i, n in enumerate(_words(spec, fields))}  # flattened words


class _Constant(Kind):
    """A value that is never fetched, only stated."""

    value: ClassVar[Any]

    def fetch(self, b, p, locs):
        for _part in (part for part in p.parts if part.kind != "float"):
            next(locs, None)  # its registers are still taken
        return ValueSpec(p.name, self.name, (), p.type_name)

    def decode(self, spec, fields, view):
        return self.value


@register_kind
class FloatKind(_Constant):
    name = "float"  # tracefs reads integer registers only
    value = FLOAT_UNREADABLE


@register_kind
class UnavailableKind(_Constant):
    name = "unavailable"
    value = UNAVAILABLE


@register_kind
class ElidedKind(_Constant):
    name = "elided"  # a part of a value that was not fetched
    value = ELIDED


DICTIONARY_SCAN = 8  # words of a dictionary read without DWARF's slots
# Scalar shapes and the reflect kind of every type they stand for (gobinary/go_types.py).
SCALAR_SHAPES = {
    "go.shape.bool": 1,
    "go.shape.int": 2,
    "go.shape.int8": 3,
    "go.shape.int16": 4,
    "go.shape.int32": 5,
    "go.shape.int64": 6,
    "go.shape.uint": 7,
    "go.shape.uint8": 8,
    "go.shape.uint16": 9,
    "go.shape.uint32": 10,
    "go.shape.uint64": 11,
    "go.shape.uintptr": 12,
    "go.shape.float32": 13,
    "go.shape.float64": 14,
    "go.shape.complex64": 15,
    "go.shape.complex128": 16,
    "go.shape.string": 24,
}


@register_kind
class TypeArgsKind(Kind):
    """A generic function's dictionary, static data read from the file. With DWARF's slots:
    the type arguments, `[int, string]` (each field's type_name is its slot's byte offset).
    Without them, a type argument is named only where it is proven: a dictionary holds the
    runtime types of derived types (all composite: []T, *T, ...) and of the type parameters,
    so its one entry of a scalar shape's kind is that parameter, when no other parameter has
    that shape's kind (and no instantiated generic type is among the candidates). Otherwise
    the types it begins with are listed, said to be just that."""

    name = "typeargs"

    def fetch(self, b, p, locs):
        spec = super().fetch(b, p, locs)
        return ValueSpec(
            spec.name,
            self.name,
            spec.keys,
            p.type_name,
            spec.sizes,
            tuple(ValueSpec(m.name, "elided", (), str(m.offset)) for m in p.members),
        )

    def decode(self, spec, fields, view):
        addr = _words(spec, fields)[0]
        types = view.types if view is not None else None
        if types is None or not addr:
            return _pointer(addr)
        if spec.fields and all(f.type_name != "-1" for f in spec.fields):
            found = [types.runtime_words(addr + int(f.type_name), 1) for f in spec.fields]
            named = [types.type_at(w[0]) if w else None for w in found]
            if None in named:
                return _pointer(addr)  # not in the file: the address, never a guessed type
            return Marker("[" + ", ".join(t.name for t in named if t) + "]")
        seen = []
        for w in types.runtime_words(addr, DICTIONARY_SCAN) or ():
            t = types.type_at(w)
            if t is None:
                break  # a sub-dictionary or an itab: the types end here
            seen.append(t)
        proven = _proven_type_args([f.name for f in spec.fields], seen)
        if proven is not None:
            return Marker("[" + ", ".join(proven) + "]")
        names = ", ".join(t.name for t in seen)
        return Marker(f"<dictionary: {names}>") if seen else _pointer(addr)


def _proven_type_args(shapes: list[str], types: list) -> list[str] | None:
    kinds = [SCALAR_SHAPES.get(s) for s in shapes]
    if not shapes or None in kinds or len(set(kinds)) != len(kinds):
        return None
    out = []
    for kind in kinds:
        # a generic named type over a scalar (`type N[T any] int`) is derived but scalar: any
        # instantiated name makes the match unproven
        match = [t for t in types if t.kind == kind]
        if len(match) != 1 or "[" in match[0].name:
            return None
        out.append(match[0].name)
    return out


@register_kind
class RawKind(Kind):
    """A user's own fetch arg, shown as the kernel gives it."""

    name = "raw"

    def decode(self, spec, fields, view):
        return fields.get(spec.keys[0]) if spec.keys else None


def fetch_value(b: FetchBuilder, p: Param, locs: Iterator[str]) -> ValueSpec:
    if any(part.kind == "float" for part in p.parts) and not (p.kind == "struct" and p.members):
        return KINDS["float"].fetch(b, p, locs)
    return KINDS.get(p.kind, KINDS["struct"]).fetch(b, p, locs)


def decode_value(spec: ValueSpec, fields: Fields, view: BinaryView | None = None) -> Any:
    """view: the binary's file, for what a probe could not read (read-only data, types)."""
    if spec.guards and not all(fields.get(g) for g in spec.guards):
        return NIL_DEREF  # read through a nil pointer: the kernel's zeros are not a value
    k = KINDS.get(spec.kind)
    if k is None or not (spec.keys or isinstance(k, _Constant) or spec.fields):
        return UNAVAILABLE
    return k.decode(spec, fields, view)


def _field(b: FetchBuilder, path: FieldPath, loc: str, index: int) -> ValueSpec:
    """A selector chain as nested dereferences: r.URL.Path -> +PATH(+URL(%ax))."""
    base, key = loc, f"fld{index}"
    guards = [location_key(loc)]
    for j, (_deref, off) in enumerate(path.steps[:-1]):
        base = f"+{off}({base})"
        guards.append(b.add(f"{key}_p{j}", base, "x64"))
    leaf = path.leaf
    k = KINDS.get(leaf.kind)
    if k is None or not k.in_memory:
        raise BadInput(
            f"--field {path.expr}: a {leaf.type_name} cannot be shown (ints, bools, pointers and strings can)"
        )
    try:
        spec = k.fetch_memory(b, leaf, key, base, path.steps[-1][1])
    except GoprobeError:
        raise BadInput(
            f"--field {path.expr}: a {leaf.type_name} cannot be shown (ints, bools, pointers and strings can)"
        ) from None
    return ValueSpec(path.expr, spec.kind, spec.keys, spec.type_name, spec.sizes, guards=tuple(guards))


def build_plan(
    assignment: Assignment, ptrsize: int, fields: tuple[FieldPath, ...] = (), deep: bool = True
) -> FetchPlan:
    """Fetch args and value specs for placed parameters; --field selectors follow their root."""
    b = FetchBuilder(ptrsize, deep)
    b.wide = any(_followed_twice(pl.param) for pl in assignment.placements)
    values: list[ValueSpec] = []
    for placement in assignment.placements:
        p = placement.param
        if placement.locs is None:
            values.append(ValueSpec(p.name, "unavailable", (), p.type_name))
            continue
        values.append(fetch_value(b, p, iter(placement.locs)))
        for i, path in enumerate(fields):
            # a pointer, or a word whose type the selector names (arg1.(*pkg.T).F)
            if path.root == p.name and len(p.parts) == 1 and placement.locs:
                values.append(_field(b, path, placement.locs[0], i))
    for reg in assignment.pad:
        b.fetch.setdefault(reg, f"{reg}=%{reg}:x{8 * ptrsize}")
    return FetchPlan(tuple(b.fetch[k] for k in sorted(b.fetch, key=_fetch_order)), tuple(values))


def _followed_twice(p: Param) -> bool:
    """A pointer to a struct holding a pointer to a struct: --depth 2 or more was asked."""
    return p.pointee is not None and any(m.pointee is not None for m in p.pointee.members)


def _fetch_order(key: str) -> tuple[int, int, str]:
    """Deterministic field order, so equal sets give equal signatures: registers, stack, bytes."""
    if key.endswith("_s"):
        return (2, 0, key)
    if key.startswith("sp") and key[2:].isdigit():
        return (1, int(key[2:]), key)
    return (0, 0, key)


def go_duration(ns: int) -> str:
    """time.Duration.String: 1.5s, 2m3s, 1h0m0s, 1.5ms, 150µs, 0s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= scale:
                return sign + _trim(ns, scale) + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    text = _trim(rest, 1_000_000_000) + "s"
    if h:
        return f"{sign}{h}h{m}m{text}"
    return f"{sign}{m}m{text}" if m else sign + text


def _trim(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    digits = str(frac).rjust(len(str(scale)) - 1, "0").rstrip("0") if scale > 1 else ""
    return f"{whole}.{digits}" if digits else str(whole)
