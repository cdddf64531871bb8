"""Go's runtime type metadata (`abi.Type` and its kinds), read from the binary: it survives
stripping. It names the dynamic type of an interface value, lays out structs, and gives a
method's full signature.

Layout (64-bit, Go 1.17+; `_type` became `abi.Type` in 1.21 without moving a field):
Type{Size_, PtrBytes uintptr; Hash uint32; TFlag, Align_, FieldAlign_, Kind_ uint8; Equal,
GCData ptr; Str NameOff int32 (at 40); PtrToThis int32}, 48 bytes. By kind: PtrType and
SliceType add Elem at 48; ArrayType Elem, Slice, Len at 48; StructType PkgPath at 48 and
Fields []StructField at 56, each {Name, Typ, Offset} (24 bytes); FuncType InCount, OutCount
uint16 at 48, then (after an UncommonType of 16 bytes if TFlag says so) the parameter types
at 56. A name is a flags byte, a varint length and the bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

KIND_MASK = 0x1F
TFLAG_UNCOMMON, TFLAG_EXTRA_STAR = 1, 2
BOOL, INT, INT64, UINT, UINTPTR, FLOAT32, FLOAT64, COMPLEX64, COMPLEX128 = 1, 2, 6, 7, 12, 13, 14, 15, 16
ARRAY, CHAN, FUNC, IFACE, MAP, PTR, SLICE, STRING, STRUCT, UNSAFE_PTR = range(17, 27)
MAX_FIELDS = 16  # described per type for interface values (cached, so kept small)
ALL_FIELDS = 4096  # read for a struct's full layout (selectors, pointers followed)
MAX_PARAMS = 64
_OUT_COUNT_MASK = 0x7FFF  # the top bit says variadic
# Where a kind's UncommonType follows its kind-specific fields (64-bit).
_UNCOMMON_AT = {ARRAY: 72, CHAN: 64, FUNC: 56, IFACE: 80, PTR: 56, SLICE: 56, STRUCT: 80}

Reader = Callable[[int, int], "bytes | None"]


@dataclass(frozen=True)
class GoType:
    name: str
    kind: int
    size: int
    align: int = 1
    elem: int = 0  # pointers, slices, arrays: the element type
    length: int = 0  # arrays
    fields: tuple[tuple[str, int, int], ...] = ()  # structs: (name, type address, offset)
    complete: bool = True  # structs: every field listed (not cut at MAX_FIELDS)
    fields_at: int = 0  # structs: where the field table is
    field_count: int = 0  # structs: how many fields there are
    ins: tuple[int, ...] = ()  # funcs: parameter type addresses
    outs: tuple[int, ...] = ()  # funcs: result type addresses


class TypeReader:
    def __init__(self, read: Reader, types_base: int, bias: int = 0) -> None:
        """read(link address, length): the binary's bytes as the linker fixed them (relocated
        pointers resolved). Addresses a probe read are runtime ones: bias (PIE) converts."""
        self._read = read
        self.types_base, self.bias = types_base, bias
        self.type_at = lru_cache(maxsize=4096)(self._type_at)
        # a generic dictionary's words, per event: dictionaries are static, so read once
        self.runtime_words = lru_cache(maxsize=1024)(self._runtime_words)

    def runtime_type(self, addr: int) -> GoType | None:
        """The type a probe saw (a runtime address)."""
        return self.type_at(addr - self.bias)

    def _runtime_words(self, addr: int, count: int) -> tuple[int, ...] | None:
        """Words the binary holds at a runtime address (a generic function's dictionary),
        relocations applied; link-time addresses, as type_at takes them."""
        raw = self._bytes(addr - self.bias, 8 * count)
        return (
            None
            if raw is None
            else tuple(int.from_bytes(raw[i : i + 8], "little") for i in range(0, len(raw), 8))
        )

    def runtime_itab_type(self, itab: int) -> GoType | None:
        return self.itab_type(itab - self.bias)

    def _bytes(self, addr: int, length: int) -> bytes | None:
        return self._read(addr, length) if addr > 0 else None

    def _word(self, addr: int) -> int | None:
        raw = self._bytes(addr, 8)
        return None if raw is None else int.from_bytes(raw, "little")

    def itab_type(self, itab: int) -> GoType | None:
        """The dynamic type of a non-empty interface: its itab's Type (at +8)."""
        addr = self._word(itab + 8)
        return None if addr is None else self.type_at(addr)

    def _type_at(self, addr: int) -> GoType | None:
        raw = self._bytes(addr, 80) or self._bytes(addr, 56)
        if raw is None:
            return None
        size = int.from_bytes(raw[0:8], "little")
        tflag, align, kind = raw[20], raw[21], raw[23] & KIND_MASK
        (name_off,) = struct.unpack_from("<i", raw, 40)
        name = self.name_at(self.types_base + name_off)
        if name is None:
            return None
        if tflag & TFLAG_EXTRA_STAR:
            name = name[1:]
        t = GoType(name, kind, size, max(1, align))
        word = lambda off: int.from_bytes(raw[off : off + 8], "little")  # noqa: E731
        if kind in (PTR, SLICE):
            return GoType(name, kind, size, t.align, elem=word(48))
        if kind == ARRAY and len(raw) >= 72:
            return GoType(name, kind, size, t.align, elem=word(48), length=word(64))
        if kind == STRUCT and len(raw) >= 80:
            fields_at, count = struct.unpack_from("<QQ", raw, 56)
            fields = self._fields(fields_at, min(count, MAX_FIELDS))
            return GoType(
                name,
                kind,
                size,
                t.align,
                fields=fields,
                complete=count <= MAX_FIELDS and len(fields) == count,
                fields_at=fields_at,
                field_count=count,
            )
        if kind == FUNC:
            return self._func(t, addr, raw, tflag)
        return t

    def _func(self, t: GoType, addr: int, raw: bytes, tflag: int) -> GoType | None:
        ins, outs = struct.unpack_from("<HH", raw, 48)
        outs &= _OUT_COUNT_MASK
        if ins + outs > MAX_PARAMS:
            return None
        at = addr + 56 + (16 if tflag & TFLAG_UNCOMMON else 0)
        table = self._bytes(at, 8 * (ins + outs)) if ins + outs else b""
        if table is None:
            return None
        ptrs = [int.from_bytes(table[i : i + 8], "little") for i in range(0, len(table), 8)]
        return GoType(t.name, FUNC, t.size, t.align, ins=tuple(ptrs[:ins]), outs=tuple(ptrs[ins:]))

    def all_fields(self, t: GoType) -> tuple[tuple[str, int, int], ...] | None:
        """Every field of a struct type (name, type address, offset), or None if unreadable."""
        if t.complete:
            return t.fields
        if t.field_count > ALL_FIELDS:
            return None
        fields = self._fields(t.fields_at, t.field_count)
        return fields if len(fields) == t.field_count else None

    def pkg_path(self, addr: int, t: GoType) -> str | None:
        """A named type's package path (its UncommonType's PkgPath), or None."""
        raw = self._bytes(addr, 24)
        if raw is None or not raw[20] & TFLAG_UNCOMMON:
            return None
        if t.kind == MAP:
            return None  # its layout changed across versions (swiss maps)
        at = addr + _UNCOMMON_AT.get(t.kind, 48)  # scalars and strings: right after Type
        head = self._bytes(at, 4)
        if head is None:
            return None
        off = int.from_bytes(head, "little", signed=True)
        return self.name_at(self.types_base + off) if off > 0 else ""

    def _fields(self, addr: int, count: int) -> tuple[tuple[str, int, int], ...]:
        raw = self._bytes(addr, 24 * count) if count else b""
        if raw is None:
            return ()
        out = []
        for i in range(count):
            name_ptr, typ, offset = struct.unpack_from("<QQQ", raw, 24 * i)
            out.append((self.name_at(name_ptr) or "?", typ, offset))
        return tuple(out)

    def name_at(self, addr: int) -> str | None:
        """flags byte, varint length, bytes."""
        head = self._bytes(addr, 3) or self._bytes(addr, 2)
        if head is None:
            return None
        length, shift, pos = 0, 0, 1
        while pos < len(head):
            b = head[pos]
            length |= (b & 0x7F) << shift
            pos += 1
            if not b & 0x80:
                break
            shift += 7
        data = self._bytes(addr + pos, length) if length else b""
        return None if data is None else data.decode("utf-8", "replace")
