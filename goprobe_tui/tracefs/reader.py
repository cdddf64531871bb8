"""Non-blocking reads of an instance's trace_pipe, turned into parsed events and counts.

The kernel returns at most a page per read; partial lines are kept for the next read; kernel
loss markers and unparseable lines are counted, never dropped silently. The caller owns the
loop (poll on `fd`), so it can interleave other work between reads.
"""

from __future__ import annotations

import errno
import os
from dataclasses import astuple, dataclass

from goprobe_tui.tracefs.parser import RawEvent, parse_chunk

_READ_SIZE = 1 << 16
_MAX_READS = 16  # ~1 MiB per call at most: keeps each batch (and its frame) small


@dataclass
class ReadStats:
    lines: int = 0
    events: int = 0
    lost: int = 0  # [LOST n EVENTS] markers
    overrun: int = 0  # per-CPU ring-buffer overruns (sampled from the instance's stats)
    malformed: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)


class PipeTail:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # OSError goes to the caller
        self.stats = ReadStats()
        self._pending = b""

    def read(self) -> list[RawEvent]:
        """Whatever complete lines are ready now, parsed; [] if none."""
        chunks = []
        for _ in range(_MAX_READS):
            try:
                data = os.read(self.fd, _READ_SIZE)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise
            if not data:
                break  # EOF when tracing_on flips; the pipe is still there
            chunks.append(data)
        if not chunks:
            return []
        data = self._pending + b"".join(chunks)
        cut = data.rfind(b"\n") + 1
        complete, self._pending = data[:cut], data[cut:]
        if not complete:
            return []
        chunk = parse_chunk(complete)
        self.stats.lines += complete.count(b"\n")
        self.stats.events += len(chunk.events)
        self.stats.lost += chunk.lost
        self.stats.malformed += chunk.malformed
        return chunk.events

    def close(self) -> None:
        os.close(self.fd)
