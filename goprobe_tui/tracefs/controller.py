"""The tracing engine behind one thread-safe object, for the TUI (and anything else).

Events are decoded on the reader thread and kept in a bounded deque; a consumer drains
them at its own pace. Drops from the deque are counted, never hidden.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan
from goprobe_tui.tracefs.attach import Attacher
from goprobe_tui.tracefs.decode import EventDecoder, TraceEvent
from goprobe_tui.tracefs.parser import RawEvent
from goprobe_tui.tracefs.reader import PipeReader, ReadStats
from goprobe_tui.tracefs.session import ProbeSession

BACKLOG = 200_000


@dataclass
class AttachedFunction:
    function: Function
    returns: bool
    events: list[str]


@dataclass
class Counters:
    received: int = 0
    kernel_lost: int = 0
    overrun: int = 0
    backlog_dropped: int = 0
    malformed: int = 0

    @property
    def lost(self) -> int:
        return self.kernel_lost + self.overrun + self.backlog_dropped


class TraceController:
    def __init__(self, binary: GoBinary, session: ProbeSession, path: str | None = None,
                 pid_filter: int | None = None, overrides: dict[str, FetchPlan] | None = None,
                 on_wake: Callable[[], None] | None = None) -> None:
        self.binary = binary
        self.session = session
        self.attacher = Attacher(binary, session, path, overrides)
        self.decoder = EventDecoder(session.probes)
        self.pid_filter = pid_filter
        self.attached: dict[str, AttachedFunction] = {}
        self.backlog: deque[TraceEvent] = deque()
        self.counters = Counters()
        self._lock = threading.Lock()
        self._on_wake = on_wake
        self.reader = PipeReader(session.trace_pipe, self._on_events, session.overruns)
        session.attach_reader(self.reader)
        self.reader.start()

    # -- probes (call from worker threads; they may take a while) -------------------
    def attach(self, fn: Function, returns: bool) -> AttachedFunction:
        with self._lock:
            if fn.name in self.attached:
                self._detach_locked(fn.name)
            probes = self.attacher.attach(fn, returns=returns)
            att = AttachedFunction(fn, returns, [p.event for p in probes])
            self.attached[fn.name] = att
            return att

    def detach(self, name: str) -> None:
        with self._lock:
            self._detach_locked(name)

    def _detach_locked(self, name: str) -> None:
        att = self.attached.pop(name, None)
        if att is not None:
            for event in att.events:
                self.session.remove(event)

    def detach_all(self, progress: Callable[[int, int], None] | None = None) -> None:
        names = list(self.attached)
        for i, name in enumerate(names):
            self.detach(name)
            if progress:
                progress(i + 1, len(names))

    def hits(self) -> dict[str, int]:
        """Hits per Go function (entry probes only), from uprobe_profile."""
        per_event = self.session.hits()
        out = {}
        for name, att in list(self.attached.items()):
            out[name] = sum(per_event.get(ev, 0) for ev in att.events[:1])
        return out

    # -- events ---------------------------------------------------------------------
    def _on_events(self, raws: list[RawEvent], stats: ReadStats) -> None:
        c = self.counters
        c.kernel_lost, c.overrun, c.malformed = stats.lost, stats.overrun, stats.malformed
        for raw in raws:
            ev = self.decoder.decode(raw)
            if ev is None or (self.pid_filter is not None and ev.pid != self.pid_filter):
                continue
            if len(self.backlog) >= BACKLOG:
                self.backlog.popleft()
                c.backlog_dropped += 1
            self.backlog.append(ev)
            c.received += 1
        if raws and self._on_wake:
            self._on_wake()

    def drain(self, limit: int = 5000) -> list[TraceEvent]:
        out = []
        pop = self.backlog.popleft
        for _ in range(min(limit, len(self.backlog))):
            out.append(pop())
        return out

    def close(self) -> None:
        self.session.close()  # disables, stops our reader, deletes: in that order
