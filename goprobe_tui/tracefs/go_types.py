"""Go's runtime type metadata, read from the binary's file: the dynamic type of an interface
value, by name and layout, also in stripped binaries.

Layout (64-bit, Go 1.17+; `_type` became `abi.Type` in 1.21 without moving a field):
Type{Size_, PtrBytes uintptr; Hash uint32; TFlag, Align_, FieldAlign_, Kind_ uint8; Equal,
GCData ptr; Str NameOff int32 (at 40); PtrToThis int32}; PtrType adds Elem at 48; StructType
adds PkgPath at 48 and Fields []StructField at 56, each {Name, Typ, Offset} (24 bytes).
A name is a flags byte, a varint length and the bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from goprobe_tui.tracefs.file_memory import FileMemory

KIND_MASK = 0x1F
TFLAG_EXTRA_STAR = 2
BOOL, INT, INT64, UINT, UINTPTR, STRING, PTR, STRUCT = 1, 2, 6, 7, 12, 24, 22, 25
MAX_FIELDS = 16


@dataclass(frozen=True)
class GoType:
    name: str
    kind: int
    size: int
    elem: int = 0  # pointers: the pointed-to type
    fields: tuple[tuple[str, int, int], ...] = ()  # structs: (name, type address, offset)


class TypeReader:
    def __init__(self, memory: FileMemory, path: str, types_base: int, bias: int = 0) -> None:
        """Addresses inside the file (type pointers, name offsets) are link addresses; those a
        probe read are runtime ones: bias (PIE load base) converts."""
        self._read = memory.read
        self.path, self.types_base, self.bias = path, types_base, bias
        self.type_at = lru_cache(maxsize=4096)(self._type_at)

    def read(self, addr: int, length: int) -> bytes | None:
        """Read-only bytes of the binary (string literals) at a runtime address."""
        return self._bytes(addr - self.bias, length, link_time=False)

    def runtime_type(self, addr: int) -> GoType | None:
        """The type a probe saw (a runtime address)."""
        return self.type_at(addr - self.bias)

    def runtime_itab_type(self, itab: int) -> GoType | None:
        return self.itab_type(itab - self.bias)

    def _bytes(self, addr: int, length: int, link_time: bool = True) -> bytes | None:
        """Type metadata is fixed at link time; a PIE keeps it in relocated (RELRO) data."""
        return self._read(self.path, addr, length, link_time) if addr else None

    def itab_type(self, itab: int) -> GoType | None:
        """The dynamic type of a non-empty interface: its itab's Type (at +8)."""
        raw = self._bytes(itab + 8, 8)
        return None if raw is None else self.type_at(int.from_bytes(raw, "little"))

    def _type_at(self, addr: int) -> GoType | None:
        raw = self._bytes(addr, 80) or self._bytes(addr, 56)
        if raw is None:
            return None
        size = int.from_bytes(raw[0:8], "little")
        tflag, kind = raw[20], raw[23] & KIND_MASK
        (name_off,) = struct.unpack_from("<i", raw, 40)
        name = self.name_at(self.types_base + name_off)
        if name is None:
            return None
        if tflag & TFLAG_EXTRA_STAR:
            name = name[1:]
        if kind == PTR:
            return GoType(name, kind, size, elem=int.from_bytes(raw[48:56], "little"))
        if kind == STRUCT and len(raw) >= 80:
            fields_at, count = struct.unpack_from("<QQ", raw, 56)
            return GoType(name, kind, size, fields=self._fields(fields_at, min(count, MAX_FIELDS)))
        return GoType(name, kind, size)

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
