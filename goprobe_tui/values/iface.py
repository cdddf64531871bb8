"""An interface value as Go prints it: its dynamic type, read from the binary's type metadata,
and its value, from the words fetched behind the data pointer (values.kinds.IfaceKind).

`any(7)` -> int(7); `any("seven")` -> string("seven"); an error from errors.New ->
*errors.errorString{s:"not found"}; a typed nil -> (*main.MyErr)(nil); a pointer whose
fields lie beyond what was read -> *http.response(0xc000123400), its first fields where
they were read: *http.response{conn:0xc0001a2000, req:0xc0001b4000, …+14}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goprobe_tui.gobinary.go_types import (
    BOOL,
    CHAN,
    FUNC,
    IFACE,
    INT,
    INT64,
    MAP,
    PTR,
    STRING,
    STRUCT,
    UINT,
    UINTPTR,
    UNSAFE_PTR,
    GoType,
)
from goprobe_tui.values.decoded import NIL, IfaceValue, Marker, StructValue, Truncated, decode_text
from goprobe_tui.values.limits import IFACE_WORDS, STRING_BYTES

EFACE_NAMES = ("interface {}", "any")
POINTER_SHAPED = (PTR, MAP, CHAN, FUNC, UNSAFE_PTR)  # the data word is the value itself
_WORD = 8
_NOT_READ = object()  # a field beyond the words fetched


def describe_iface(type_name: str, data_key: str, first: int, fields: Mapping[str, Any], view: Any) -> Any:
    """first: the type word (eface: *Type; iface: *itab)."""
    types = view.types
    if types is None:
        return None
    t = types.runtime_type(first) if type_name in EFACE_NAMES else types.runtime_itab_type(first)
    if t is None:
        return None
    data = fields.get(data_key)
    if t.kind in POINTER_SHAPED and data == 0:
        return IfaceValue(type=t.name, value=NIL)  # a typed nil: what a Go engineer hunts for
    words = [fields.get(f"{data_key}_d{i}") for i in range(IFACE_WORDS)]
    behind = {0: fields.get(f"{data_key}_b0"), 2: fields.get(f"{data_key}_b2")}
    if t.kind == PTR:
        elem = types.type_at(t.elem)
        address = Marker(f"{data:#x}") if isinstance(data, int) else None
        if elem is None or elem.kind != STRUCT or not isinstance(data, int):
            return IfaceValue(type=t.name, address=address)
        read, unread = _struct(elem, words, behind, view)
        if not read:
            return IfaceValue(type=t.name, address=address)
        out = IfaceValue(type=t.name, value=StructValue("", read))
        if unread:
            out["unread_fields"] = unread
        return out
    if t.kind in POINTER_SHAPED:
        return IfaceValue(type=t.name, value=Marker(f"{data:#x}") if isinstance(data, int) else None)
    # a non-pointer value is boxed: the data pointer points at it
    value = _scalar(t, 0, words, behind, view)
    return IfaceValue(type=t.name, value=None if value is _NOT_READ else value)


def _scalar(t: GoType, offset: int, words: list, behind: dict, view: Any) -> Any:
    """A value at `offset` in the words read, or _NOT_READ."""
    if offset % _WORD or offset // _WORD + max(1, -(-t.size // _WORD)) > len(words):
        return _NOT_READ
    i = offset // _WORD
    word = words[i]
    if not isinstance(word, int):
        return _NOT_READ
    if INT <= t.kind <= INT64:
        bits = 8 * t.size
        word &= (1 << bits) - 1
        return word - (1 << bits) if word >> (bits - 1) else word
    if UINT <= t.kind <= UINTPTR:
        return word & ((1 << (8 * t.size)) - 1)
    if t.kind == BOOL:
        return bool(word & 0xFF)
    if t.kind in POINTER_SHAPED:
        return Marker(f"{word:#x}") if word else NIL
    if t.kind == IFACE:  # an interface field: its dynamic type, where its words were read
        second = words[i + 1]
        if not word:
            return NIL
        types = view.types
        inner = (
            None
            if types is None
            else (types.runtime_type(word) if t.name in EFACE_NAMES else types.runtime_itab_type(word))
        )
        if inner is None or not isinstance(second, int):
            return _NOT_READ
        return IfaceValue(type=inner.name, address=Marker(f"{second:#x}"))
    if t.kind == STRING and isinstance(words[i + 1], int):
        length, data = words[i + 1], behind.get(i)
        if length == 0:
            return ""
        if not isinstance(data, bytes) and word:  # a literal whose page was never touched
            data = view.read(word, min(length, STRING_BYTES))
        if not isinstance(data, bytes):
            return _NOT_READ
        text = decode_text(data[:length])
        return text if length <= len(data) else Truncated(text, length, len(data))
    return _NOT_READ


def _struct(t: GoType, words: list, behind: dict, view: Any) -> tuple[dict[str, Any], int]:
    """(the fields read, by name; how many fields were not)."""
    read: dict[str, Any] = {}
    unread = 0
    for name, typ, offset in t.fields:
        ft = view.types.type_at(typ) if view.types else None
        value = _NOT_READ if ft is None else _scalar(ft, offset, words, behind, view)
        if value is _NOT_READ:
            unread += 1
        else:
            read[name] = value
    if not t.complete:
        unread += 1  # and more the metadata lists beyond the fields described
    return read, unread
