"""Text: one line per event (its stack on the next), and a table per function for stats."""

from __future__ import annotations

from typing import TextIO

from goprobe_tui.events.formats.base import EventWriter, LineWriter, OutputFormat, Snapshot, register
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.events.text import (
    NOT_KNOWN,
    PARTIAL,
    by_function,
    format_duration,
    histogram_lines,
    partial_note,
)
from goprobe_tui.textsafe import printable


@register
class TextFormat(OutputFormat):
    name = "text"
    suffix = ".txt"
    summary = "one readable line per event; a table per function for stats"

    def writer(self, out: TextIO) -> EventWriter:
        return LineWriter(out, TraceEvent.text_line)

    def write_stats(self, snapshot: Snapshot, out: TextIO, status: TraceStatus | None = None) -> None:
        rows = by_function(snapshot)
        if not rows:
            out.write("no calls recorded\n")
            return
        d = format_duration

        def name_of(s: StatsRow) -> str:  # with --by: a key's rows under their function's total
            if s.total:
                return f"{s.function} (all keys)"
            return f"  {s.key_text}" if s.key_text is not None else s.function

        width = min(max(40, *(len(printable(name_of(s))) for s in rows)), 100)
        with_slower = any(s.slower is not None for s in rows)  # stats --slower-than: its column
        out.write(
            f"{'function':<{width}} {'calls':>9} {'inlined':>9} {'errors':>7} {'p50':>8} "
            f"{'p90':>8} {'p99':>8} {'max':>8}" + (f" {'slower':>9}" if with_slower else "") + "\n"
        )
        for s in rows:
            errors = NOT_KNOWN if s.errors is None else f"{s.errors:,}"
            inlined = s.inlined
            shown = f"{inlined:,}" if inlined else ""
            name = name_of(s)
            untraced = s.untraced_inlined_sites
            calls = f"{s.calls:,}" + (PARTIAL if untraced else "")
            out.write(
                f"{printable(name)[:width]:<{width}} {calls:>9} {shown:>9} "
                f"{errors:>7} {d(s.p50_ns):>8} {d(s.p90_ns):>8} {d(s.p99_ns):>8} "
                f"{d(s.max_ns):>8}" + (f" {s.slower or 0:>9,}" if with_slower else "") + "\n"
            )
            if untraced:
                out.write(f"    {partial_note(untraced)}\n")
            if inlined:
                out.write(f"    {latency_scope(s.calls, inlined)}\n")
            for line in histogram_lines(s.histogram):
                out.write(f"    {line}\n")
            if s.callers:
                out.write(
                    printable("    callers: " + ", ".join(f"{name} ({n:,})" for name, n in s.callers)) + "\n"
                )
            slow = s.slowest
            if slow is not None:
                out.write(printable(f"    slowest: {slowest_text(s.function, slow)}") + "\n")
        out.flush()


def latency_scope(calls: int, inlined: int) -> str:
    """What the latency columns cover when some calls were inlined (those have no return)."""
    if inlined >= calls:
        return f"all {calls:,} calls inlined: no latency (an inlined call has no return)"
    return f"latency of the {calls - inlined:,} out-of-line calls; the {inlined:,} inlined have none"


def slowest_text(function: str, slow: dict) -> str:
    """`50.6ms main.F(a=1) pid 42 g7`: the slowest call of a function, with its arguments."""
    args = "(arguments not kept)" if slow["args_text"] is None else f"({slow['args_text']})"
    goid = "" if slow["goid"] is None else f" g{slow['goid']}"
    return f"{format_duration(slow['latency_ns'])} {function}{args} pid {slow['pid']}{goid}"
