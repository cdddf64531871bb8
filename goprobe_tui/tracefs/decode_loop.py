"""Pages in, decoded event rows out: merge CPUs, learn events, decode, filter by process.

Runs in the decoder process (decoder_process.py), which the session's process feeds.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from goprobe_tui.insight.stats import StatsTable
from goprobe_tui.tracefs.decode import EventDecoder, EventRow, TraceEvent
from goprobe_tui.tracefs.raw_reader import RecordMerger
from goprobe_tui.tracefs.ringbuf import PageHeader
from goprobe_tui.tracefs.session import ProbeEvent

HELD_NS = 100_000_000  # a return held for its entry (same address) waits at most this long


@dataclass
class StreamStats:
    """What happened to the records, for the status line and the final summary."""

    events: int = 0  # decoded and passed on
    lost: int = 0  # the kernel could not keep them, or they waited beyond the memory bound
    malformed: int = 0
    unattributed: int = 0
    unpaired_returns: int = 0  # returns shown without a latency (entry unseen or evicted)
    pairing_evicted: int = 0  # pending entries dropped to respect the memory bound
    # For the parent, should this decoder die: what it has taken in, and what it still holds.
    messages: int = 0  # page messages consumed
    held: int = 0  # records taken in but not yet passed on (held back for ordering)
    filtered: int = 0  # records of calls that do not match --where, dropped here (not lost)

    def plus(self, other: StreamStats) -> StreamStats:
        """Totals over a decoder that died and its successor (lost is absolute already)."""
        return StreamStats(self.events + other.events, other.lost,
                           self.malformed + other.malformed, self.unattributed + other.unattributed,
                           self.unpaired_returns + other.unpaired_returns,
                           self.pairing_evicted + other.pairing_evicted, other.messages, other.held,
                           self.filtered + other.filtered)

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)


class DecodeLoop:
    def __init__(self, header: PageHeader, root: str, pid_filter: int | None,
                 insight: bool = False) -> None:
        """insight: also aggregate per-function statistics (`table`)."""
        self.merger = RecordMerger(header)
        self.pid_filter = pid_filter
        self.decoder = EventDecoder(root, call_args=insight)
        self.stats = StreamStats()
        self.table = StatsTable() if insight else None

    def learn(self, ev: ProbeEvent) -> None:
        self.decoder.learn(ev)
        if self.table is not None:
            self.table.learn(ev)

    def _keep(self, ev: TraceEvent) -> bool:
        return self.pid_filter is None or ev.pid == self.pid_filter

    def step(self, pages: list[tuple[int, bytes]], lost: int, read_ns: int, final: bool = False
             ) -> list[EventRow]:
        # Rows are made at the end: a user stack record, later in this batch, completes the
        # event before it.
        events: list[TraceEvent] = []
        decoder = self.decoder
        decode, keep = decoder.decode, self._keep
        last_ts = 0
        for rec in self.merger.records(pages, lost, read_ns, final):
            ev = decode(rec)
            last_ts = rec.ts
            if ev is None:
                continue
            if type(ev) is list:  # a held return and what followed it
                events.extend(e for e in ev if keep(e))
            elif keep(ev):
                events.append(ev)
        if decoder._held:
            late = decoder.flush_held(None if final else last_ts - HELD_NS)
            events.extend(e for e in late if keep(e))
        if self.table is not None:
            add = self.table.add
            for e in events:
                add(e)
        rows = [e.as_row() for e in events]
        s, m, d, p = self.stats, self.merger.stats, self.decoder.stats, self.decoder.pairing
        s.events += len(rows)
        s.lost, s.unattributed = m.lost, d.unattributed
        s.malformed = m.malformed + d.malformed
        s.unpaired_returns, s.pairing_evicted = p.unmatched, p.evicted
        s.filtered = d.filtered + d.filtered_returns
        s.messages += 1
        s.held = self.merger.holding + len(decoder._held)
        return rows
