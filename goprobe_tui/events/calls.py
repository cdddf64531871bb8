"""Events paired into calls, nested per goroutine: what timelines and flame graphs draw.

The decoder already pairs a return with its entry (its latency). Here each goroutine keeps
the stack of its traced calls still open, so every finished call knows the traced calls
around it (its path) and the time spent in traced calls below it (its self time is the
rest). An entry whose return never came (a panic, a detach) is given back as unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goprobe_tui.events.model import TraceEvent

MAX_OPEN = 256  # open calls kept per goroutine
MAX_UNFINISHED = 10_000  # entries that never returned, kept to be shown


@dataclass
class Call:
    entry: TraceEvent | None  # None: the return's entry was not seen
    ret: TraceEvent
    path: tuple[str, ...]  # outermost first, this call's function last
    start_ns: int
    dur_ns: int
    children_ns: int = 0  # time in the traced calls it made

    @property
    def self_ns(self) -> int:
        return max(0, self.dur_ns - self.children_ns)


@dataclass
class _Open:
    event: TraceEvent
    path: tuple[str, ...]
    children_ns: int = 0


@dataclass
class CallMatcher:
    """Feed events in time order; finished calls come back from feed()."""

    with_stacks: bool = True  # an outermost call's path starts with its --stack frames
    _open: dict[tuple[int, int], list[_Open]] = field(default_factory=dict)
    unfinished: list[TraceEvent] = field(default_factory=list)  # entries never returned
    unfinished_count: int = 0  # given up on beyond MAX_OPEN (not kept)

    @staticmethod
    def goroutine(ev: TraceEvent) -> tuple[int, int]:
        return (ev.pid, ev.goid if ev.goid is not None else -ev.tid)

    @staticmethod
    def is_call_edge(ev: TraceEvent) -> bool:
        """Entries and returns of out-of-line calls: inlined copies and lines have no return."""
        return ev.kind in ("entry", "return") and not ev.inlined

    def feed(self, ev: TraceEvent) -> Call | None:
        if not self.is_call_edge(ev) or (ev.kind == "entry" and ev.has_return is False):
            return None  # an entry whose function has no return probe never closes
        stack = self._open.setdefault(self.goroutine(ev), [])
        if ev.kind == "entry":
            if len(stack) >= MAX_OPEN:  # bounded: the oldest open call is given up on
                self.unfinished_count += 1
                stack.pop(0)
            if stack:
                path = (*stack[-1].path, ev.function)
            else:
                frames = tuple(f[0] for f in reversed(ev.stack or ())) if self.with_stacks else ()
                path = (*frames, ev.function)
            stack.append(_Open(ev, path))
            return None
        if ev.latency_ns is None:
            return None  # a return whose call's length is unknown: nothing to draw
        at = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].event.function == ev.function), None)
        if at is None:
            return Call(None, ev, (ev.function,), ev.ts_ns - ev.latency_ns, ev.latency_ns)
        above = stack[at + 1 :]  # they never returned
        if len(self.unfinished) < MAX_UNFINISHED:
            self.unfinished.extend(o.event for o in above)
        else:
            self.unfinished_count += len(above)
        opened = stack[at]
        del stack[at:]
        call = Call(
            opened.event, ev, opened.path, ev.ts_ns - ev.latency_ns, ev.latency_ns, opened.children_ns
        )
        if stack:
            stack[-1].children_ns += ev.latency_ns
        return call

    def still_open(self) -> list[TraceEvent]:
        """Entries without a return yet (at the end: calls in flight), and those abandoned."""
        return self.unfinished + [o.event for stack in self._open.values() for o in stack]
