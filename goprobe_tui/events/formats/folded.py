"""Collapsed stacks (`main.Job;main.leaf 1234567`): per call path, the self time in ns of the
traced calls on it, for flamegraph.pl, inferno and speedscope. A path is the nesting of traced
calls on one goroutine, below the call stack of the outermost one when --stack is on. The self
times add up to the time of the outermost calls. Written at close."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from goprobe_tui.events.calls import CallMatcher
from goprobe_tui.events.formats.base import EventWriter, OutputFormat, register
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus


def _frame(name: str) -> str:
    return name.replace(";", ":").replace("\n", " ")  # `;` separates frames, a line a sample


class FoldedWriter(EventWriter):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.calls = CallMatcher()
        self.self_ns: dict[tuple[str, ...], int] = {}

    def write(self, events: Iterable[TraceEvent]) -> None:
        for ev in events:
            call = self.calls.feed(ev)
            if call is not None:
                self.self_ns[call.path] = self.self_ns.get(call.path, 0) + call.self_ns

    def close(self, status: TraceStatus | None = None) -> None:
        # every path a call took, 0 ns too (a function that is one RET returns where it enters)
        for path, ns in sorted(self.self_ns.items()):
            self.out.write(";".join(_frame(f) for f in path) + f" {ns}\n")
        self.out.flush()


@register
class FoldedFormat(OutputFormat):
    name = "folded"
    suffix = ".folded"
    summary = "collapsed stacks, self time in ns per call path (flamegraph.pl, inferno, speedscope)"

    def writer(self, out: TextIO) -> EventWriter:
        return FoldedWriter(out)
