"""What decoded Go values are made of, beyond plain numbers, strings and dicts."""

from __future__ import annotations

from typing import Any


class Marker(str):
    """What stands where a value could not be read (`<unavailable>`): never quoted, and never
    confused with a Go string that happens to look the same."""

    __slots__ = ()


NIL = Marker("nil")
UNAVAILABLE = Marker("<unavailable>")  # a value that could not be read: said, never hidden
ELIDED = Marker("…")  # a part of a value that was not fetched
NIL_DEREF = Marker("<nil pointer on the way>")  # a --field behind a nil pointer
# Floats travel in vector registers, and a uprobe's fetch args read only integer registers.
FLOAT_UNREADABLE = Marker("<float: in a vector register, which uprobes cannot read>")


class Duration(Marker):
    """A time.Duration as Go prints it (`1.5s`), and its nanoseconds, for conditions."""

    __slots__ = ("ns",)
    ns: int

    def __new__(cls, text: str, ns: int) -> Duration:
        obj = super().__new__(cls, text)
        obj.ns = ns
        return obj

    def __reduce__(self):
        return Duration, (str(self), self.ns)


class NamedInt(int):
    """An integer of a named type (main.Color): JSON a number, text `main.Color(3)`."""

    type_name: str

    def __new__(cls, value: int, type_name: str) -> NamedInt:
        obj = super().__new__(cls, value)
        obj.type_name = type_name
        return obj

    def __reduce__(self):
        return NamedInt, (int(self), self.type_name)


class StructValue(dict):
    """A Go struct's fields by name, and its type name for display (`main.User{ID:1}`)."""

    def __init__(self, type_name: str, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.type_name = type_name


class IfaceValue(dict):
    """{"type": dynamic type name, "value": ...} (a pointer also its "address", and
    "unread_fields" where only some were read): JSON as such, text as `T(value)`."""


class Words(list):
    """Words of a value whose type is unknown (no DWARF): JSON "0x…" strings, text as Go's
    traceback prints them, {0x1, 0x49f059}."""


class Truncated(str):
    """A string of which only the first bytes were read: `text…(+N)`, and its whole length in
    bytes, for conditions to judge what they can."""

    length: int

    def __new__(cls, known: str, length: int, read: int) -> Truncated:
        obj = super().__new__(cls, f"{known}…(+{length - read})")
        obj.length = length
        return obj

    def __reduce__(self):
        return str, (str(self),)  # travels (and waits in rows) as the plain text


def decode_text(data: bytes) -> str:
    """Go string bytes as text: invalid UTF-8 kept as surrogates (shown as \\xff, never
    confused with the text `\\xff`)."""
    return data.decode("utf-8", "surrogateescape")


class SliceValue(dict):
    """len, cap and the first elements ([]byte: its first bytes, shown as text)."""

    def __init__(self, type_name: str, length: int, cap: int, elements: list[Any] | bytes | None) -> None:
        shown: list[Any] | str | None = decode_text(elements) if isinstance(elements, bytes) else elements
        super().__init__({"len": length, "cap": cap, "elements": shown})
        self.type_name = type_name

    def text(self, fmt) -> str:
        """[]int{1, 2, 3}, []byte("hi"), []string{"a", …(+9)}: what was read, and how much more."""
        elements, length = self["elements"], self["len"]
        if elements is None:
            return f"{self.type_name}(len {length}, cap {self['cap']})"
        more = length - len(elements)
        if isinstance(elements, str):
            return f"{self.type_name}({fmt(elements)}{f'…(+{more})' if more > 0 else ''})"
        items = [fmt(e) for e in elements] + ([f"…(+{more})"] if more > 0 else [])
        return f"{self.type_name}{{{', '.join(items)}}}"
