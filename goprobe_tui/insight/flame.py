"""Where the time goes: traced calls aggregated by call path (their nesting on a goroutine,
below the outermost call's --stack frames when there are some), for the Flame view.

Aggregated in the decoder process (events.calls pairs the calls); the UI gets a snapshot of
flat rows about twice a second. Bounded: past MAX_PATHS distinct paths, a new one is counted
in its parent's "(other paths)" row, so the time is never lost, only its detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goprobe_tui.events.calls import Call, CallMatcher
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.insight.latency import LatencyHistogram

MAX_PATHS = 20_000
OTHER = "(other paths)"


@dataclass
class _Node:
    calls: int = 0  # traced calls ending on this path (0: a --stack frame, not traced)
    total_ns: int = 0
    self_ns: int = 0
    hist: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass(frozen=True)
class FlameRow:
    """One path of the snapshot. width_ns: its time with everything below it (a frame that
    was not traced itself: the sum of what was); width_calls: its calls and those below."""

    path: tuple[str, ...]
    calls: int
    total_ns: int
    self_ns: int
    p50_ns: int | None
    p99_ns: int | None
    width_ns: int
    width_calls: int


class FlameTree:
    def __init__(self) -> None:
        self.matcher = CallMatcher()
        self.nodes: dict[tuple[str, ...], _Node] = {}
        self.changes = 0

    def add(self, events: list[TraceEvent]) -> None:
        feed = self.matcher.feed
        for ev in events:
            call = feed(ev)
            if call is not None:
                self._count(call)

    def _count(self, call: Call) -> None:
        path = call.path
        node = self.nodes.get(path)
        if node is None:
            if len(self.nodes) >= MAX_PATHS:
                path = (*path[:-1], OTHER)
            node = self.nodes.setdefault(path, _Node())
        node.calls += 1
        node.total_ns += call.dur_ns
        node.self_ns += call.self_ns
        node.hist.add(call.dur_ns)
        self.changes += 1

    def snapshot(self) -> list[FlameRow]:
        """Every path with its prefixes (frames that were never traced themselves included)."""
        widths: dict[tuple[str, ...], list[int]] = {}
        for path in self.nodes:
            for depth in range(1, len(path) + 1):
                widths.setdefault(path[:depth], [0, 0, 0])
        for path in sorted(widths, key=len, reverse=True):  # children before their parents
            node = self.nodes.get(path)
            w = widths[path]
            if node is not None:
                w[0] = node.total_ns  # a traced call's time covers the calls it made
                w[1] += node.calls
            else:
                w[0] = w[2]  # a frame not traced itself: the time of the traced calls below
            if len(path) > 1:
                parent = widths[path[:-1]]
                parent[2] += w[0]
                parent[1] += w[1]
        out = []
        for path, (width_ns, width_calls, _below) in widths.items():
            node = self.nodes.get(path) or _Node()
            out.append(
                FlameRow(
                    path,
                    node.calls,
                    node.total_ns,
                    node.self_ns,
                    node.hist.percentile(50),
                    node.hist.percentile(99),
                    width_ns,
                    width_calls,
                )
            )
        out.sort(key=lambda r: r.path)
        return out
