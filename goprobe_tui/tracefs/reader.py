"""A thread that tails an instance's trace_pipe and hands parsed events onward in batches.

poll() + non-blocking reads (the kernel returns at most a page per read), partial lines kept
for the next read, kernel loss markers and per-CPU overruns turned into counts. The callback
runs on this thread; it must be quick (append to a deque, put on a queue).
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from goprobe_tui.tracefs.parser import RawEvent, parse_chunk

_READ_SIZE = 1 << 16
_MAX_READS_PER_WAKE = 16  # ~64 KiB per parse: C regex calls hold the GIL, keep them short


@dataclass
class ReadStats:
    lines: int = 0
    events: int = 0
    lost: int = 0  # [LOST n EVENTS] markers
    overrun: int = 0  # per-CPU ring-buffer overruns (from the session)
    malformed: int = 0


class PipeReader:
    def __init__(self, path: str, on_events: Callable[[list[RawEvent], ReadStats], None],
                 overruns: Callable[[], int] | None = None) -> None:
        self.path = path
        self.on_events = on_events
        self.overruns = overruns
        self.stats = ReadStats()
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="goprobe-trace-pipe", daemon=True)
        self._opened = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._opened.wait(2.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5.0)

    def _run(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            self.error = f"cannot open {self.path}: {exc.strerror}"
            self._opened.set()
            return
        self._opened.set()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        pending = b""
        next_stats = 0.0
        try:
            while not self._stop.is_set():
                poller.poll(100)
                chunks = []
                for _ in range(_MAX_READS_PER_WAKE):
                    try:
                        data = os.read(fd, _READ_SIZE)
                    except OSError as exc:
                        if exc.errno in (errno.EAGAIN, errno.EINTR):
                            break
                        raise
                    if not data:
                        break  # EOF when tracing_on flips; the pipe is still there
                    chunks.append(data)
                now = time.monotonic()
                if self.overruns is not None and now >= next_stats:
                    next_stats = now + 0.5
                    self.stats.overrun = self.overruns()
                if not chunks:
                    if self.overruns is not None:
                        self.on_events([], self.stats)
                    continue
                pending += b"".join(chunks)
                cut = pending.rfind(b"\n") + 1
                if not cut:
                    continue
                complete, pending = pending[:cut], pending[cut:]
                chunk = parse_chunk(complete)
                self.stats.lines += complete.count(b"\n")
                self.stats.events += len(chunk.events)
                self.stats.lost += chunk.lost
                self.stats.malformed += chunk.malformed
                self.on_events(chunk.events, self.stats)
                time.sleep(0)  # yield the GIL between batches
        except OSError as exc:
            self.error = f"reading {self.path}: {exc.strerror}"
        finally:
            os.close(fd)
