"""One set of formatters for Go values and durations, shared by every output and view."""

from __future__ import annotations

import json
from typing import Any

from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.values.decoded import NIL, IfaceValue, Marker, NamedInt, SliceValue, StructValue, Words

_INVALID = range(0xDC80, 0xDD00)  # invalid UTF-8 bytes, kept as surrogates (decode_text)

NOT_KNOWN = "—"  # a number that is not known (no latency, no error result): never shown as 0


def format_duration(ns: int | None, micro: str = "µs") -> str:
    """850ns, 12.3µs, 50.6ms, 1.50s: three significant digits in the unit that fits; — for
    a duration that is not known."""
    if ns is None:
        return NOT_KNOWN
    if ns < 1_000:
        return f"{ns}ns"
    for unit, scale in ((micro, 1_000), ("ms", 1_000_000)):
        if ns < scale * 1_000:
            value = ns / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{ns / 1e9:.2f}s"


def json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values for --json: nil is null, nested values are objects."""
    return {k: _json_value(v) for k, v in values.items()}


def _json_value(value: Any) -> Any:
    """One rule: nil is null; a pointer is a "0x…" string; an integer is a number; words of
    an unknown type are "0x…" strings; invalid UTF-8 is U+FFFD, as Go's encoding/json has it."""
    if isinstance(value, Marker):
        return None if value == NIL else str(value)  # equality: a pickled NIL is another object
    if isinstance(value, Words):
        return [None if w is None else f"{w:#x}" for w in value]
    if isinstance(value, dict):
        return json_values(value)
    if isinstance(value, str) and any(ord(c) in _INVALID for c in value):
        return "".join("\ufffd" if ord(c) in _INVALID else c for c in value)
    return value


def go_quote(text: str) -> str:
    """A Go string as Go's %q shows it: "bob", control characters escaped, an invalid byte as
    \\xff (and a backslash as \\\\, so the two are told apart)."""
    out = json.dumps(text, ensure_ascii=False)
    if any(ord(c) in _INVALID for c in out):
        out = "".join(f"\\x{ord(c) - 0xDC00:02x}" if ord(c) in _INVALID else c for c in out)
    return out


def _fields(values: dict[str, Any], more: int = 0) -> str:
    return (
        "{"
        + ", ".join(
            [*(f"{k}:{format_value(v)}" for k, v in values.items()), *([f"…+{more}"] if more else [])]
        )
        + "}"
    )


def format_value(value: Any) -> str:
    if isinstance(value, str):  # Go's quoting: "bob", control characters escaped
        return value if isinstance(value, Marker) else go_quote(value)
    if isinstance(value, NamedInt):
        return f"{value.type_name}({int(value)})"
    if isinstance(value, SliceValue):
        return value.text(format_value)
    if isinstance(value, IfaceValue):
        inner = value.get("value")
        if isinstance(inner, dict):
            return value["type"] + _fields(inner, value.get("unread_fields", 0))
        if isinstance(inner, Marker) and inner == NIL:
            return f"({value['type']})(nil)"  # a typed nil: not a nil interface
        if inner is None and value.get("address") is not None:
            return f"{value['type']}({value['address']})"  # its fields were not read
        return f"{value['type']}({format_value(inner)})"
    if isinstance(value, StructValue):
        return value.type_name + _fields(value)
    if isinstance(value, dict):
        return "{" + " ".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):  # words of an unknown type, as Go's traceback prints them
        return "{" + ", ".join("?" if w is None else f"{w:#x}" for w in value) + "}"
    if value is None:
        return "?"
    return str(value).lower() if isinstance(value, bool) else str(value)


HISTOGRAM_BAR = 40


def histogram_lines(histogram: list[list[int]], width: int = HISTOGRAM_BAR) -> list[str]:
    """One bar per power of two: `  8.4ms – 16.8ms ████████ 20`."""
    if not histogram:
        return []
    top = max(n for _lo, _hi, n in histogram)
    out = []
    for lo, hi, n in histogram:
        bar = "█" * max(1, round(width * n / top))
        out.append(f"{format_duration(lo):>8} – {format_duration(hi):<8} {bar:<{width}} {n:,}")
    return out


def by_function(snapshot: list[StatsRow]) -> list[StatsRow]:
    """Statistics rows in the order they are read: functions by calls, most first; with keys
    (--by), each function's total first, then its keys by calls."""
    totals: dict[str, int] = {}
    for s in snapshot:
        if s.total or s.key_text is None:
            totals[s.function] = s.calls
    return sorted(
        snapshot, key=lambda s: (-totals.get(s.function, s.calls), s.function, not s.total, -s.calls)
    )


PARTIAL = "+"  # after a count: some inlined calls have no probe, so there were more


def partial_note(untraced: int) -> str:
    return (
        f"{PARTIAL} partial: {untraced:,} inlined call site{'s' if untraced != 1 else ''} "
        "could not be probed, so more calls ran than counted (`list` and the details say why)"
    )
