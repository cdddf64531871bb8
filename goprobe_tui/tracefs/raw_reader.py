"""Read an instance's per-CPU binary buffers without ever waiting in the kernel, and merge them.

A reader blocked in read() or poll() on trace_pipe asks the ring buffer to wake it on every
event, and the traced program pays for each wake-up (+40% here). This reader opens every
`per_cpu/cpuN/trace_pipe_raw` with O_NONBLOCK, takes what is there, and is called again by its
owner after a sleep: the traced program pays only the kernel trap.

Records from different CPUs are merged by timestamp (the instance uses the `mono` clock, which
is CLOCK_MONOTONIC). A record newer than `now - HOLDBACK` is held to the next read, because a
CPU read earlier in this pass may still commit a slightly older one; a goroutine that migrated
between CPUs would otherwise see its return before its entry.

Reading (PageReader) and merging (RecordMerger) are apart: the first runs beside the session at
full priority and only copies pages; the second runs in the decoder process, at low priority.

Loss is what the kernel counts in the instance's per-CPU stats (overrun, dropped, commit
overrun), read on every pass: one source, so nothing is counted twice.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import NamedTuple

from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.ringbuf import (
    DEFAULT_HEADER,
    PageError,
    PageHeader,
    page_records,
    parse_header_page,
)
from goprobe_tui.tracefs.session import read_loss

PACE = 0.05  # seconds between reads of the kernel buffers: the UI drains at the same pace
HOLDBACK_NS = 20_000_000  # a record's commit follows its timestamp by microseconds; 20 ms is ample
MAX_PAGES_PER_CPU = 512  # per read(): bounds one batch; the caller reads again at once if `more`


@dataclass
class MergeStats:
    lost: int = 0  # records the kernel could not keep (its own counters), as the reader saw them
    malformed: int = 0  # corrupt pages (their records are lost with them)


class Record(NamedTuple):
    ts: int  # ns, trace clock (mono)
    cpu: int
    seq: int  # read order: keeps one CPU's records in order when timestamps tie
    page: bytes
    start: int  # the record's data inside page


def _page_size(instance: str) -> int:
    try:  # sub-buffers can be larger than a page since 6.8
        return int(fs.read_text(os.path.join(instance, "buffer_subbuf_size_kb")).split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return os.sysconf("SC_PAGE_SIZE")


class PageReader:
    """Takes the pages out of the kernel: cheap, so it runs at full priority and the buffer
    never overflows while a (lower-priority) decoder catches up."""

    def __init__(self, instance: str, root: str | None = None) -> None:
        self.instance = instance
        root = root or os.path.dirname(os.path.dirname(instance))
        try:
            self.header = parse_header_page(fs.read_text(os.path.join(root, "events", "header_page")))
        except (OSError, ValueError):
            self.header = DEFAULT_HEADER
        self.page_size = _page_size(instance)
        self.fds: dict[int, int] = {}
        base = os.path.join(instance, "per_cpu")
        try:
            for name in sorted(os.listdir(base), key=lambda n: int(n[3:])):
                path = os.path.join(base, name, "trace_pipe_raw")
                self.fds[int(name[3:])] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.close()
            raise
        self._loss_base = read_loss(instance)
        self.more = False  # the last read stopped at its bound: data is still waiting

    def read(self) -> tuple[list[tuple[int, bytes]], int, int]:
        """([(cpu, page)], events lost so far by the kernel's count, when the read began):
        every record committed before that time (less HOLDBACK_NS) is in these pages or
        earlier ones."""
        started = time.monotonic_ns()
        pages: list[tuple[int, bytes]] = []
        self.more = False
        for cpu, fd in self.fds.items():
            for _ in range(MAX_PAGES_PER_CPU):
                try:
                    page = os.read(fd, self.page_size)
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EINTR):
                        break
                    raise
                if not page:
                    break
                pages.append((cpu, page))
            else:
                self.more = True
        return pages, read_loss(self.instance) - self._loss_base, started

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


class RecordMerger:
    """Pages in, records out: merged across CPUs by time, the newest held back a moment."""

    def __init__(self, header: PageHeader = DEFAULT_HEADER) -> None:
        self.header = header
        self.stats = MergeStats()
        self._held: list[Record] = []
        self._seq = 0

    @property
    def holding(self) -> int:
        return len(self._held)

    def records(self, pages: list[tuple[int, bytes]], lost: int, read_ns: int,
                final: bool = False) -> list[Record]:
        """Records ready, oldest first; read_ns: when the reader began reading these pages.
        final: everything, nothing held back (teardown)."""
        watermark = read_ns - HOLDBACK_NS
        fresh: list[Record] = []
        for cpu, page in pages:
            try:
                spans = page_records(page, self.header)
            except PageError:
                self.stats.malformed += 1
                continue
            seq = self._seq
            fresh.extend(Record(ts, cpu, seq + i, page, start) for i, (ts, start, _end) in enumerate(spans))
            self._seq = seq + len(spans)
        self.stats.lost = lost
        if not fresh and not self._held:
            return []
        pending = self._held + fresh
        pending.sort()
        if final:
            self._held = []
            return pending
        cut = len(pending)
        while cut and pending[cut - 1].ts > watermark:
            cut -= 1
        self._held = pending[cut:]
        return pending[:cut]
