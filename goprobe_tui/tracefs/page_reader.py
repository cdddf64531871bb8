"""Read an instance's per-CPU binary buffers without ever waiting in the kernel.

A reader blocked in read() or poll() on trace_pipe asks the ring buffer to wake it on every
event, and the traced program pays for each wake-up (+40% here). This reader opens every
`per_cpu/cpuN/trace_pipe_raw` with O_NONBLOCK, takes what is there, and is called again by its
owner after a sleep: the traced program pays only the kernel trap. It only copies pages (cheap,
at full priority, so the buffer never overflows); merging and decoding happen elsewhere.

Loss is what the kernel counts in the instance's per-CPU stats (overrun, dropped, commit
overrun), read on every pass: one source, so nothing is counted twice.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable

from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.ringbuf import DEFAULT_HEADER, parse_header_page

PACE = 0.05  # seconds between reads of the kernel buffers: the UI drains at the same pace
MAX_PAGES_PER_CPU = 512  # per read(): bounds one batch; the caller reads again at once if `more`


def read_loss(instance: str, read: Callable[[str], str] = fs.read_text) -> int:
    """Events the kernel could not keep in an instance's buffer, all CPUs: overwritten
    (overrun), refused (dropped events) and lost to nesting (commit overrun). ValueError for a
    count that is not a number."""
    total = 0
    base = os.path.join(instance, "per_cpu")
    try:
        cpus = os.listdir(base)
    except OSError:
        return 0
    for cpu in cpus:
        try:
            text = read(os.path.join(base, cpu, "stats"))
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("overrun", "dropped events", "commit overrun"):
                if not value.strip().isdigit():
                    raise BadInput(f"{key.strip()} is {value.strip()[:20]!r}, not a count")
                total += int(value.strip())
    return total


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
        except (OSError, ValueError, GoprobeError):
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
