"""One step of the event pipeline: wait for trace_pipe, read, learn new probes, decode, filter.

Shared by the decoder child process (the TUI) and the in-process reader thread (headless).
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterable

from goprobe_tui.tracefs.decode import EventDecoder, EventRow
from goprobe_tui.tracefs.reader import PipeTail, ReadStats
from goprobe_tui.tracefs.session import Probe, read_overruns

OVERRUN_EVERY = 0.5  # seconds between samples of the kernel's per-CPU overrun counters


class DecodeLoop:
    def __init__(self, trace_pipe: str, instance: str, pid_filter: int | None) -> None:
        self.tail = PipeTail(trace_pipe)  # OSError goes to the caller
        self.instance = instance
        self.pid_filter = pid_filter
        self.decoder = EventDecoder({})
        self.poller = select.poll()
        self.poller.register(self.tail.fd, select.POLLIN)
        self._sent = self.tail.stats.as_tuple()
        self._next_overrun = 0.0

    def also_wake_on(self, fd: int) -> None:
        self.poller.register(fd, select.POLLIN)

    def step(self, announced: Callable[[], Iterable[Probe]], timeout_ms: int = 100
             ) -> tuple[list[EventRow], ReadStats | None]:
        """Decoded events as rows, and the read stats when they changed (else None)."""
        self.poller.poll(timeout_ms)
        raws = self.tail.read()
        # Learn probes after the read: a probe is announced before it is enabled, so every
        # probe with events in `raws` has its announcement waiting by now.
        for probe in announced():
            self.decoder.probes[probe.event] = probe
        rows = []
        for raw in raws:
            ev = self.decoder.decode(raw)
            if ev is not None and (self.pid_filter is None or ev.pid == self.pid_filter):
                rows.append(ev.as_row())
        now = time.monotonic()
        if now >= self._next_overrun:
            self._next_overrun = now + OVERRUN_EVERY
            self.tail.stats.overrun = read_overruns(self.instance)
        stats = self.tail.stats.as_tuple()
        changed, self._sent = stats != self._sent, stats
        return rows, (self.tail.stats if changed or rows else None)

    def close(self) -> None:
        self.tail.close()
