"""An interface value as Go prints it: its dynamic type, read from the binary's type metadata,
and its value, from the words fetched behind the data pointer (value_kinds.IfaceKind).

`any(7)` -> int(7); `any("seven")` -> string("seven"); an error from errors.New ->
*errors.errorString{s:"not found"}; *fs.PathError{Op:"open", Path:"/x", Err:…}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goprobe_tui.gobinary.go_types import (
    BOOL,
    INT,
    INT64,
    PTR,
    STRING,
    STRUCT,
    UINT,
    UINTPTR,
    GoType,
)
from goprobe_tui.values.decoded import ELIDED, IfaceValue
from goprobe_tui.values.file_memory import BinaryView
from goprobe_tui.values.limits import STRING_BYTES

EFACE_NAMES = ("interface {}", "any")
_WORD = 8


def describe_iface(type_name: str, data_key: str, first: int, fields: Mapping[str, Any],
                   view: BinaryView) -> Any:
    """first: the type word (eface: *Type; iface: *itab)."""
    types = view.types
    if types is None:
        return None
    t = types.runtime_type(first) if type_name in EFACE_NAMES else types.runtime_itab_type(first)
    if t is None:
        return None
    words = [fields.get(f"{data_key}_d{i}") for i in range(4)]
    behind = {0: fields.get(f"{data_key}_b0"), 2: fields.get(f"{data_key}_b2")}
    if t.kind == PTR:
        elem = types.type_at(t.elem)
        value = _struct(elem, words, behind, view) if elem is not None and elem.kind == STRUCT else ELIDED
    else:
        # a non-pointer value is boxed: the data pointer points at it
        value = _scalar(t, 0, words, behind, view)
    return IfaceValue(type=t.name, value=value)


def _scalar(t: GoType, offset: int, words: list, behind: dict, view: BinaryView) -> Any:
    if offset % _WORD or offset // _WORD >= len(words):
        return ELIDED
    i = offset // _WORD
    word = words[i]
    if not isinstance(word, int):
        return ELIDED
    if INT <= t.kind <= INT64:
        bits = 8 * t.size
        word &= (1 << bits) - 1
        return word - (1 << bits) if word >> (bits - 1) else word
    if UINT <= t.kind <= UINTPTR:
        return word & ((1 << (8 * t.size)) - 1)
    if t.kind == BOOL:
        return bool(word & 0xFF)
    if t.kind == STRING and i + 1 < len(words) and isinstance(words[i + 1], int):
        length, data = words[i + 1], behind.get(i)
        if length == 0:
            return ""
        if not isinstance(data, bytes) and word:  # a literal whose page was never touched
            data = view.read(word, min(length, STRING_BYTES))
        if not isinstance(data, bytes):
            return ELIDED
        text = data[:length].decode("utf-8", "backslashreplace")
        return text if length <= len(data) else text + f"…(+{length - len(data)})"
    return ELIDED


def _struct(t: GoType, words: list, behind: dict, view: BinaryView) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, typ, offset in t.fields:
        ft = view.types.type_at(typ) if view.types else None
        out[name] = ELIDED if ft is None else _scalar(ft, offset, words, behind, view)
    return out
