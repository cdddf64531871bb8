"""Merge the pages of every CPU into one stream of records, oldest first.

Records from different CPUs are merged by timestamp (the instance uses the `mono` clock, which
is CLOCK_MONOTONIC). A record newer than `now - HOLDBACK` is held to the next read, because a
CPU read earlier in this pass may still commit a slightly older one; a goroutine that migrated
between CPUs would otherwise see its return before its entry. Runs in the decoder process, at
low priority.
"""

from __future__ import annotations

from typing import NamedTuple

from goprobe_tui.tracefs.ringbuf import DEFAULT_HEADER, PageError, PageHeader, page_records

HOLDBACK_NS = 20_000_000  # a record's commit follows its timestamp by microseconds; 20 ms is ample


class Record(NamedTuple):
    ts: int  # ns, trace clock (mono)
    cpu: int
    seq: int  # read order: keeps one CPU's records in order when timestamps tie
    page: bytes
    start: int  # the record's data inside page


class RecordMerger:
    """Pages in, records out: merged across CPUs by time, the newest held back a moment."""

    def __init__(self, header: PageHeader = DEFAULT_HEADER) -> None:
        self.header = header
        self.lost = 0  # records the kernel could not keep (its own counters), as the reader saw them
        self.malformed = 0  # corrupt pages (their records are lost with them)
        self._held: list[Record] = []
        self._seq = 0

    @property
    def holding(self) -> int:
        return len(self._held)

    def records(
        self, pages: list[tuple[int, bytes]], lost: int, read_ns: int, final: bool = False
    ) -> list[Record]:
        """Records ready, oldest first; read_ns: when the reader began reading these pages.
        final: everything, nothing held back (teardown)."""
        watermark = read_ns - HOLDBACK_NS
        fresh: list[Record] = []
        for cpu, page in pages:
            try:
                spans = page_records(page, self.header)
            except PageError:
                self.malformed += 1
                continue
            seq = self._seq
            fresh.extend(Record(ts, cpu, seq + i, page, start) for i, (ts, start, _end) in enumerate(spans))
            self._seq = seq + len(spans)
        self.lost = lost
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
