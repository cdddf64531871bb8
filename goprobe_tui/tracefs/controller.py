"""The tracing engine behind one thread-safe object, for the TUI (and anything else).

Events are read and decoded by an event stream (a child process for the TUI, a thread for
headless runs) and kept in a bounded backlog; a consumer drains them at its own pace. Drops
from the backlog are counted, never hidden.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan
from goprobe_tui.tracefs.attach import Attacher
from goprobe_tui.tracefs.backlog import Backlog
from goprobe_tui.tracefs.decode import EventRow
from goprobe_tui.tracefs.event_stream import Batch, EventStream, ProcessEventStream, ThreadEventStream
from goprobe_tui.tracefs.reader import ReadStats
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
                 on_wake: Callable[[], None] | None = None, isolate: bool = True) -> None:
        """isolate: decode in a child process, so this process's event loop never waits on
        decoding (the TUI); False decodes on a thread, which costs the traced program less CPU."""
        self.binary = binary
        self.session = session
        self.attacher = Attacher(binary, session, path, overrides)
        self.attached: dict[str, AttachedFunction] = {}
        self.backlog = Backlog(BACKLOG)
        self.counters = Counters()
        self._lock = threading.Lock()
        self._on_wake = on_wake
        stream_type = ProcessEventStream if isolate else ThreadEventStream
        self.stream: EventStream = stream_type(session.trace_pipe, session.instance, pid_filter,
                                               self._on_batch)
        session.on_define = self.stream.announce
        session.attach_reader(self.stream)

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
    @property
    def error(self) -> str | None:
        """Why events are not arriving (the decoder process failed), if they are not."""
        return self.stream.error

    def _on_batch(self, count: int, batch: Batch, stats: ReadStats) -> None:
        c = self.counters
        c.kernel_lost, c.overrun, c.malformed = stats.lost, stats.overrun, stats.malformed
        if count:
            self.backlog.put(count, batch)
            c.backlog_dropped = self.backlog.dropped
            c.received += count
            if self._on_wake:
                self._on_wake()

    def drain(self, limit: int = 5000) -> list[EventRow]:
        """Up to `limit` waiting events, oldest first, as rows (TraceEvent.from_row)."""
        return self.backlog.take(limit)

    def close(self) -> None:
        self.session.close()  # disables, stops our reader, deletes: in that order
