"""Runtime types found by their Go name (`net/http.Request`), for binaries without DWARF.

The type metadata has no index by name (Go 1.27 dropped typelinks), so the name is found as
bytes: a type's Str is a name record (flags byte, varint length, bytes) in the type region,
holding the package *name* (`http.Request`; for a named type often `*http.Request` with
TFLAG_EXTRA_STAR). The type headers whose Str points at such a record are found with one
vectorised compare, and the package path in each one's UncommonType picks the right one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.go_types import GoType, TypeReader
from goprobe_tui.gobinary.textbase import moduledata_types

SCAN_LIMIT = 256 << 20  # bytes of type metadata searched at most
STR_AT = 40  # abi.Type.Str's offset
_SPEC = re.compile(r"(\**)((?:[\w.\-~]+/)*)([\w.\-~]+?)\.(\w+(?:\[.*\])?)")


@dataclass(frozen=True)
class TypeName:
    """`*net/http.Request` -> stars 1, path net/http, name Request."""

    stars: int
    path: str  # the package path; for `http.Request` just `http`
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.path}.{self.name}"

    def __str__(self) -> str:
        return "*" * self.stars + self.qualified


def parse_type_name(text: str) -> TypeName:
    """ValueError unless text reads as [*...]PKGPATH.Name."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        raise BadInput(f"{text!r} is not a Go type name (e.g. *net/http.Request)")
    stars, dirs, last, name = m.groups()
    return TypeName(len(stars), dirs + last, name)


class TypeIndex:
    def __init__(self, binary: GoBinary) -> None:
        self._binary = binary

    @cached_property
    def types_base(self) -> int | None:
        b = self._binary
        return moduledata_types(b.elf, b.pclntab, b.buildinfo.version_tuple())

    @cached_property
    def reader(self) -> TypeReader | None:
        base = self.types_base
        if base is None or self._binary.elf.ptrsize != 8:
            return None
        return TypeReader(self._binary.elf.read_linked, base)

    @cached_property
    def _region(self) -> bytes:
        base, elf = self.types_base, self._binary.elf
        seg = None if base is None else elf.segment_for(base, executable=False)
        if base is None or seg is None:
            return b""
        end = min(seg.vaddr + seg.filesz, base + SCAN_LIMIT)
        try:
            return elf.read_vaddr(base, (end - base) & ~7)
        except BinaryError:
            return b""

    def find(self, name: TypeName) -> tuple[int, GoType] | None:
        """The named type (stars ignored: the caller follows pointers), or None if the binary
        describes no such type. A short path (`http`) must be unambiguous (ValueError lists the
        candidates)."""
        reader, region = self.reader, self._region
        if reader is None or not region:
            return None
        package = name.path.rsplit("/", 1)[-1]
        offsets = self._name_records(f"{package}.{name.name}".encode())
        if not offsets:
            return None
        words = np.frombuffer(region, dtype="<i4")
        # a type header is 8-aligned and its Str (at +40) holds one of the name offsets
        at = np.flatnonzero(np.isin(words[STR_AT // 4 :: 2], offsets)) * 8
        found: dict[str, tuple[int, GoType]] = {}
        for off in at.tolist():
            addr = reader.types_base + off
            t = reader.type_at(addr)
            if t is None or t.name != f"{package}.{name.name}":
                continue
            path = reader.pkg_path(addr, t)
            if path:
                found.setdefault(path, (addr, t))
        if name.path in found:
            return found[name.path]
        if "/" not in name.path and found:
            if len(found) > 1:
                raise BadInput(
                    f"{name} is ambiguous: "
                    + ", ".join(f"{'*' * name.stars}{path}.{name.name}" for path in sorted(found))
                )
            return next(iter(found.values()))
        return None

    def _name_records(self, short: bytes) -> list[int]:
        """Offsets (from the types base) of name records reading `short` or `*short`."""
        region, out = self._region, []
        for text in (b"*" + short, short):
            if len(text) >= 128:
                continue  # a one-byte varint length is all a Go type name of this size needs
            needle = bytes([len(text)]) + text
            pos = region.find(needle)
            while pos > 0:
                out.append(pos - 1)  # the flags byte
                pos = region.find(needle, pos + 1)
        return out
