"""`goprobe-tui stats` output: a table with a latency histogram per function, or JSON lines."""

from __future__ import annotations

import json
from typing import Any, TextIO

from goprobe_tui.textsafe import printable
from goprobe_tui.tracefs.decode import format_duration

BAR = 40
JSON_KEYS = ("function", "calls", "errors", "p50_ns", "p90_ns", "p99_ns", "max_ns", "min_ns",
             "mean_ns", "returns", "unpaired_returns", "histogram", "slowest", "callers")


def duration(ns: int | None) -> str:
    return "—" if ns is None else format_duration(ns)


def histogram_lines(histogram: list[list[int]], width: int = BAR) -> list[str]:
    """One bar per power of two: `  8.4ms – 16.8ms ████████ 20`."""
    if not histogram:
        return []
    top = max(n for _lo, _hi, n in histogram)
    out = []
    for lo, hi, n in histogram:
        bar = "█" * max(1, round(width * n / top))
        out.append(f"{duration(lo):>8} – {duration(hi):<8} {bar:<{width}} {n:,}")
    return out


def print_stats(snapshot: list[dict[str, Any]], as_json: bool, out: TextIO) -> None:
    rows = sorted(snapshot, key=lambda s: (-s["calls"], s["function"]))
    if as_json:
        for s in rows:
            out.write(json.dumps({k: s[k] for k in JSON_KEYS}) + "\n")
        out.flush()
        return
    if not rows:
        out.write("no calls recorded\n")
        return
    out.write(f"{'function':<40} {'calls':>9} {'errors':>7} {'p50':>8} {'p90':>8} {'p99':>8} "
              f"{'max':>8}\n")
    for s in rows:
        errors = "—" if s["errors"] is None else f"{s['errors']:,}"
        name = printable(s["function"])
        out.write(f"{name:<40} {s['calls']:>9,} {errors:>7} {duration(s['p50_ns']):>8} "
                  f"{duration(s['p90_ns']):>8} {duration(s['p99_ns']):>8} {duration(s['max_ns']):>8}\n")
        for line in histogram_lines(s["histogram"]):
            out.write(f"    {line}\n")
        if s.get("callers"):
            out.write(printable("    callers: " + ", ".join(f"{name} ({n:,})"
                                                         for name, n in s["callers"])) + "\n")
        slow = s["slowest"]
        if slow is not None:
            args = "(arguments not kept)" if slow["args_text"] is None else f"({slow['args_text']})"
            goid = "" if slow["goid"] is None else f" g{slow['goid']}"
            out.write(printable(f"    slowest: {duration(slow['latency_ns'])} {s['function']}{args}"
                                f" pid {slow['pid']}{goid}") + "\n")
    out.flush()
