"""Calls matched from entries and returns, per goroutine: the one matcher behind the decoder's
latency pairing, the Calls and Flame views, Chrome and folded output and OTLP spans.

The rule, everywhere: each goroutine keeps a stack of its open (entered, not returned) calls;
a return closes the innermost open call of its function, and the calls above that one never
returned (a panic, runtime.Goexit, a detach): they are abandoned, never paired with the wrong
return. A return whose function has no open call closes nothing (its entry was not seen).

CallStacks is that rule on compact arrays (16 bytes an open call, under one global bound);
CallMatcher adds what pictures need: each finished call's path of enclosing traced calls and
the time spent in traced calls below it.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from goprobe_tui.events.model import TraceEvent

PENDING_LIMIT = 2_000_000  # open calls kept in all: ~32 MB plus ~100 bytes per goroutine
PAYLOAD_LIMIT = 200_000  # open calls of the decoder that keep their arguments
MAX_UNFINISHED = 10_000  # entries that never returned, kept to be shown
OPEN_LIMIT = 1_000_000  # open calls a picture keeps (each with its path)


def goroutine_of(ev: TraceEvent) -> tuple[int, int]:
    """The stack an event belongs to: (process, goroutine id), or its thread where the goroutine
    is not known (negative, so it never meets a goroutine id)."""
    return (ev.pid, ev.goid if ev.goid is not None else -ev.tid)


def is_call_edge(ev: TraceEvent) -> bool:
    """Entries and returns of out-of-line calls: inlined copies and lines have no return."""
    return ev.kind in ("entry", "return") and not ev.inlined


class CallStacks:
    """Open calls per key, as flat arrays of (function id, entry timestamp) pairs. When the
    bound is reached the oldest entry of the deepest-growing stack goes; its return then finds
    nothing and is counted in `unmatched`, never paired with the wrong entry."""

    def __init__(
        self, limit: int = PENDING_LIMIT, payloads: bool = False, payload_limit: int = PAYLOAD_LIMIT
    ):
        """payloads: keep what each entry carries until its return, for up to payload_limit
        open calls; beyond, entries keep none (None)."""
        self.limit = limit
        self.payload_limit = payload_limit
        self._payloads: dict[tuple[int, int], list] | None = {} if payloads else None
        self.pending = 0
        self.evicted = 0  # entries dropped to stay within the bound
        self.unmatched = 0  # returns whose entry was never seen (or was evicted)
        self.abandoned = 0  # entries skipped by a return further out (panic, Goexit)
        self._stacks: dict[tuple[int, int], array] = {}
        self._ids: dict[str, int] = {}

    def _id(self, function: str) -> int:
        fid = self._ids.get(function)
        if fid is None:
            fid = self._ids[function] = len(self._ids)
        return fid

    def push(self, key: tuple[int, int], function: str, ts: int, payload: object = None) -> None:
        stack = self._stacks.get(key)
        if stack is None:
            stack = self._stacks[key] = array("q")
        stack.append(self._id(function))
        stack.append(ts)
        if self._payloads is not None:
            self._payloads.setdefault(key, []).append(payload if self.pending < self.payload_limit else None)
        self.pending += 1
        if self.pending > self.limit:
            self._evict(key, stack)

    def keep_payloads(self) -> None:
        """Keep what each entry carries from now on; the calls open already carry none."""
        if self._payloads is None:
            self._payloads = {key: [None] * (len(stack) // 2) for key, stack in self._stacks.items()}

    def _evict(self, key: tuple[int, int], stack: array) -> None:
        """Drop one entry: the bottom of this stack, or of the oldest other one."""
        if len(stack) <= 2:
            key = next(k for k in self._stacks if k != key)
            stack = self._stacks[key]
        del stack[0:2]
        if self._payloads is not None:
            del self._payloads[key][0]
        if not stack:
            del self._stacks[key]
            if self._payloads is not None:
                del self._payloads[key]
        self.pending -= 1
        self.evicted += 1

    def on_top(self, key: tuple[int, int], function: str) -> bool:
        stack = self._stacks.get(key)
        return stack is not None and len(stack) > 0 and stack[-2] == self._ids.get(function)

    def top(self, key: tuple[int, int]) -> Any:
        """The payload of the innermost open call (None: none open, or it keeps none)."""
        if self._payloads is None:
            return None
        plist = self._payloads.get(key)
        return plist[-1] if plist else None

    def pop(self, key: tuple[int, int], function: str) -> int | None:
        """The entry timestamp for this return, or None (the stack is then left alone)."""
        found = self.pop_entry(key, function)
        return None if found is None else found[0]

    def pop_entry(
        self, key: tuple, function: str, count: bool = True, abandoned: list | None = None
    ) -> tuple[int, Any] | None:
        """(entry timestamp, its payload) for this return, or None (counted as unmatched
        unless count=False: a return whose entry was filtered out is expected). abandoned:
        gets the payloads of the calls above it, which never returned."""
        stack = self._stacks.get(key)
        fid = self._ids.get(function)
        if stack is None or fid is None:
            self.unmatched += count
            return None
        for i in range(len(stack) - 2, -1, -2):
            if stack[i] == fid:
                ts = stack[i + 1]
                skipped = (len(stack) - i) // 2 - 1
                del stack[i:]
                payload = None
                if self._payloads is not None:
                    plist = self._payloads[key]
                    payload = plist[i // 2]
                    if abandoned is not None:
                        abandoned.extend(plist[i // 2 + 1 :])
                    del plist[i // 2 :]
                self.abandoned += skipped
                self.pending -= skipped + 1
                if not stack:
                    del self._stacks[key]
                    if self._payloads is not None:
                        del self._payloads[key]
                return ts, payload
        self.unmatched += count
        return None

    def open_payloads(self) -> list:
        return [p for plist in (self._payloads or {}).values() for p in plist]


@dataclass
class Call:
    entry: TraceEvent | None  # None: the return's entry was not seen
    ret: TraceEvent
    path: tuple[str, ...]  # outermost first, this call's function last
    start_ns: int
    dur_ns: int
    children_ns: int = 0  # time in the traced calls it made
    extra: Any = None  # what the matcher's user attached at the entry (a span's ids, a node)

    @property
    def self_ns(self) -> int:
        return max(0, self.dur_ns - self.children_ns)


@dataclass
class OpenCall:
    event: TraceEvent
    path: tuple[str, ...]
    children_ns: int = 0
    extra: Any = None


# What a matcher's user attaches to a call as it opens, given the call it opens inside.
Annotate = Callable[[TraceEvent, OpenCall | None], Any]


@dataclass
class CallMatcher:
    """Feed events in time order; finished calls come back from feed()."""

    with_stacks: bool = True  # an outermost call's path starts with its --stack frames
    annotate: Annotate | None = None
    unfinished: list[TraceEvent] = field(default_factory=list)  # entries never returned
    _lost: int = 0  # abandoned entries beyond MAX_UNFINISHED (not kept)
    _stacks: CallStacks = field(
        default_factory=lambda: CallStacks(OPEN_LIMIT, payloads=True, payload_limit=OPEN_LIMIT)
    )

    goroutine = staticmethod(goroutine_of)
    is_call_edge = staticmethod(is_call_edge)

    @property
    def unfinished_count(self) -> int:
        """Entries given up on without being kept: beyond the bound, or beyond MAX_UNFINISHED."""
        return self._lost + self._stacks.evicted

    def top(self, ev: TraceEvent) -> OpenCall | None:
        """The innermost open call of the event's goroutine."""
        return self._stacks.top(goroutine_of(ev))

    def feed(self, ev: TraceEvent) -> Call | None:
        if not is_call_edge(ev) or (ev.kind == "entry" and ev.has_return is False):
            return None  # an entry whose function has no return probe never closes
        key = goroutine_of(ev)
        if ev.kind == "entry":
            top: OpenCall | None = self._stacks.top(key)
            if top is not None:
                path = (*top.path, ev.function)
            else:
                frames = tuple(f[0] for f in reversed(ev.stack or ())) if self.with_stacks else ()
                path = (*frames, ev.function)
            opened = OpenCall(ev, path)
            if self.annotate is not None:
                opened.extra = self.annotate(ev, top)
            self._stacks.push(key, ev.function, ev.ts_ns, opened)
            return None
        above: list[OpenCall] = []
        found = self._stacks.pop_entry(key, ev.function, abandoned=above)
        if found is None:
            if ev.latency_ns is None:
                return None  # a return whose call's length is unknown: nothing to draw
            return Call(None, ev, (ev.function,), ev.ts_ns - ev.latency_ns, ev.latency_ns)
        entry_ts, opened = found
        if len(self.unfinished) < MAX_UNFINISHED:
            self.unfinished.extend(o.event for o in above)
        else:
            self._lost += len(above)
        dur = ev.latency_ns if ev.latency_ns is not None else max(0, ev.ts_ns - entry_ts)
        call = Call(opened.event, ev, opened.path, ev.ts_ns - dur, dur, opened.children_ns, opened.extra)
        enclosing: OpenCall | None = self._stacks.top(key)
        if enclosing is not None:
            enclosing.children_ns += dur
        return call

    def still_open(self) -> list[TraceEvent]:
        """Entries without a return yet (at the end: calls in flight), and those abandoned."""
        return self.unfinished + [o.event for o in self._stacks.open_payloads()]
