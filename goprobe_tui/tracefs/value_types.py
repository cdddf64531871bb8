"""What decoded Go values are made of, beyond plain numbers, strings and dicts."""

from __future__ import annotations

from typing import Any


class Marker(str):
    """What stands where a value could not be read (`<unavailable>`): never quoted, and never
    confused with a Go string that happens to look the same."""

    __slots__ = ()


NIL = Marker("nil")
ELIDED = Marker("…")  # a part of a value that was not fetched


class StructValue(dict):
    """A Go struct's fields by name, and its type name for display (`main.User{ID:1}`)."""

    def __init__(self, type_name: str, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.type_name = type_name


class IfaceValue(dict):
    """{"type": dynamic type name, "value": ...}: JSON as such, text as `T(value)`."""
