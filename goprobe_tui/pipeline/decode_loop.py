"""Pages in, decoded event rows out: merge CPUs, learn events, decode, filter by process.

Runs in the decoder process (decoder_process.py), which the session's process feeds.
"""

from __future__ import annotations

from goprobe_tui.events.model import EventRow, TraceEvent
from goprobe_tui.events.otlp import OtlpSink
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.insight.flame import FlameTree
from goprobe_tui.insight.stats import StatsTable
from goprobe_tui.pipeline.decoder import EventDecoder
from goprobe_tui.pipeline.merge import RecordMerger
from goprobe_tui.tracefs.ringbuf import PageHeader
from goprobe_tui.tracefs.session import ProbeEvent

HELD_NS = 100_000_000  # a return held for its entry (same address) waits at most this long


class DecodeLoop:
    def __init__(
        self,
        header: PageHeader,
        root: str,
        pid_filter: int | None,
        insight: bool = False,
        one_process: int | None = None,
        by: str | None = None,
        otlp: tuple[str, str, str] | None = None,
        live: bool = True,
    ) -> None:
        """insight: also aggregate per-function statistics (`table`). one_process: every
        record is known to come from this process's threads (perf). live=False: records of
        another machine (replay): its threads are not this machine's /proc."""
        self.merger = RecordMerger(header)
        self.pid_filter = pid_filter
        self.goroutines: frozenset[int] | None = None  # followed in user space (perf: see stream)
        self.decoder = EventDecoder(root, call_args=insight, live=live)
        if pid_filter is not None:
            self.decoder.procs.learn_process(pid_filter)
        if one_process is not None:
            self.decoder.procs.only(one_process)
        self.decoded = 0
        self.messages = 0
        self.table = StatsTable(by) if insight else None
        self.flame = FlameTree() if insight else None  # the Flame view's call paths
        # --otlp (url, binary, Go version): paired calls as spans to a collector
        self.sink = OtlpSink(*otlp) if otlp else None
        self.slower_than_ns: int | None = None  # --slower-than: only slower calls passed on
        self.faster_calls = 0  # returns at or under it, not passed on
        self.no_latency = 0  # other events not passed on: no latency to judge them by

    def only_slower_than(self, ns: int | None) -> None:
        """From now on pass on only calls slower than ns, once each at its return, with its
        entry's arguments (None: every event again). Statistics still see every event."""
        self.slower_than_ns = ns
        if self.table is not None:  # stats --slower-than: each function's slow calls counted
            self.table.slower_than_ns = ns
        if ns is not None:
            self.decoder.keep_call_args()

    def _slow_calls(self, events: list[TraceEvent], limit: int) -> list[TraceEvent]:
        out = []
        for e in events:
            if e.kind == "return" and e.latency_ns is not None:
                if e.latency_ns > limit:
                    if e.call_args is not None:
                        e.args = e.call_args
                    out.append(e)
                else:
                    self.faster_calls += 1
            elif e.kind == "entry" and not e.inlined and e.has_return:
                continue  # its return says whether the call was slow
            else:  # inlined calls, lines, spawns, returns whose entry was not seen
                self.no_latency += 1
        return out

    def learn(self, ev: ProbeEvent) -> None:
        self.decoder.learn(ev)
        if self.table is not None:
            for site in ev.sites:
                if site.kind == "return":
                    self.table.learn_results(site.function, site.values)
                elif site.muted_since is None:
                    self.table.learn_function(site.function, site.untraced)

    def _keep(self, ev: TraceEvent) -> bool:
        if self.goroutines is not None and ev.kind != "spawn" and ev.goid not in self.goroutines:
            return False  # not followed: as the kernel's filter would, without perf
        return self.pid_filter is None or ev.pid == self.pid_filter

    def status(self) -> TraceStatus:
        m, d = self.merger, self.decoder
        return TraceStatus(
            decoded=self.decoded,
            lost=m.lost,
            malformed=m.malformed + d.malformed,
            unattributed=d.unattributed,
            unpaired_returns=d.pairing.unmatched,
            filtered=d.filtered + d.filtered_returns,
            messages=self.messages,
            held=m.holding + d.held_count,
            otlp_sent=self.sink.sent if self.sink else 0,
            otlp_dropped=self.sink.dropped if self.sink else 0,
            faster_calls=self.faster_calls,
            no_latency=self.no_latency,
        )

    def step(
        self, pages: list[tuple[int, bytes]], lost: int, read_ns: int, final: bool = False
    ) -> list[EventRow]:
        # Rows are made at the end: a user stack record, later in this batch, completes the
        # event before it.
        events: list[TraceEvent] = []
        decoder = self.decoder
        decode, keep = decoder.decode, self._keep
        last_ts = 0
        for rec in self.merger.records(pages, lost, read_ns, final):
            last_ts = rec.ts
            for ev in decode(rec):
                if keep(ev):
                    events.append(ev)
        if decoder.holding:
            late = decoder.flush_held(None if final else last_ts - HELD_NS)
            events.extend(e for e in late if keep(e))
        if self.table is not None:
            add = self.table.add
            for e in events:
                add(e)
        if self.flame is not None:
            self.flame.add(events)
        if self.sink is not None:
            self.sink.add(events)
        if self.slower_than_ns is not None:  # after statistics, flame and spans: they see all
            events = self._slow_calls(events, self.slower_than_ns)
        rows = [e.as_row() for e in events]
        self.decoded += len(rows)
        self.messages += 1
        return rows
