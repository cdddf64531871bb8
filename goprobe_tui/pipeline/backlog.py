"""Events waiting for a consumer: bounded, thread-safe, drops counted.

Batches are kept as they arrive (pickled bytes from the decoder process stay bytes) and are
unpickled only when drained: a full backlog of 200k events is then a few hundred bytes
objects, not a million objects for the garbage collector to walk on the UI thread.
"""

from __future__ import annotations

import pickle
import threading
from collections import deque

from goprobe_tui.events.model import EventRow
from goprobe_tui.pipeline.stream import Batch


class Backlog:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0
        self._batches: deque[tuple[int, Batch]] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def put(self, count: int, batch: Batch) -> None:
        """Add a batch; whole oldest batches go when over the limit (oldest first, counted)."""
        with self._lock:
            self._batches.append((count, batch))
            self._size += count
            while self._size > self.limit and len(self._batches) > 1:
                n, _ = self._batches.popleft()
                self._size -= n
                self.dropped += n

    def take(self, limit: int) -> list[EventRow]:
        out: list[EventRow] = []
        while len(out) < limit:
            with self._lock:
                if not self._batches:
                    break
                count, batch = self._batches.popleft()
                self._size -= count
            events = pickle.loads(batch) if isinstance(batch, bytes) else batch
            room = limit - len(out)
            if len(events) > room:  # the rest goes back to the front, already unpickled
                with self._lock:
                    self._batches.appendleft((len(events) - room, events[room:]))
                    self._size += len(events) - room
                events = events[:room]
            out.extend(events)
        return out
