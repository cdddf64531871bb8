"""One set of formatters for Go values and durations, shared by every output and view."""

from __future__ import annotations

import json
from typing import Any

from goprobe_tui.values.decoded import NIL, IfaceValue, Marker, NamedInt, SliceValue, StructValue

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
    if isinstance(value, Marker) and value == NIL:  # equality: a pickled NIL is another object
        return None
    if isinstance(value, dict):
        return json_values(value)
    return str(value) if isinstance(value, Marker) else value


def format_value(value: Any) -> str:
    if isinstance(value, str):  # Go's quoting: "bob", control characters escaped
        return value if isinstance(value, Marker) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, NamedInt):
        return f"{value.type_name}({int(value)})"
    if isinstance(value, SliceValue):
        return value.text(format_value)
    if isinstance(value, IfaceValue):
        inner = value["value"]
        if isinstance(inner, dict):
            return value["type"] + "{" + ", ".join(f"{k}:{format_value(v)}" for k, v in inner.items()) + "}"
        return f"{value['type']}({format_value(inner)})"
    if isinstance(value, StructValue):
        return value.type_name + "{" + ", ".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
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
