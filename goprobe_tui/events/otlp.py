"""Spans over OTLP/HTTP (`trace --otlp URL`, `stats --otlp URL`), with the official
OpenTelemetry packages: each paired call is a span named after its function, with its
arguments, results, goroutine, pid, binary and Go version as attributes. Its parent is the
traced call around it on the same goroutine; a goroutine's first calls link to the call that
created it (--goroutines).

Never in tracing's way: spans go to a bounded queue that a sender thread empties in batches;
a slow or unreachable collector makes spans drop, counted, and nothing waits for it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from goprobe_tui.events import model
from goprobe_tui.events.calls import CallMatcher, OpenCall, goroutine_of
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.text import format_value

QUEUE_SPANS = 20_000  # waiting to be sent; beyond, new spans are dropped (counted)
BATCH = 512
SEND_EVERY = 1.0  # seconds between batches when fewer than BATCH wait
# At the end, what waits is sent while the collector keeps taking batches; one that answers
# nothing for this long is given up on (the rest dropped, counted): Ctrl-C never waits on it.
STALLED = 0.75


@dataclass
class _SpanIds:
    trace_id: int
    span_id: int
    parent_id: int | None
    link: tuple[int, int] | None = None  # (trace id, span id) of the call that created its goroutine


@dataclass
class SpanRecord:
    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    start_ns: int  # wall clock
    end_ns: int
    attributes: dict[str, Any]
    link: tuple[int, int] | None = None


def _attr(value: Any) -> str | int | float | bool:
    """An attribute value: Go's scalars as they are, anything else as Go prints it."""
    return value if type(value) in (bool, int, float, str) else format_value(value)


class SpanBuilder:
    """Events in, finished spans out (feed): calls matched per goroutine (events/calls.py),
    each span's parent the call it ran inside, a goroutine's first calls linked to its creator."""

    def __init__(self, binary: str, goversion: str) -> None:
        self.binary = binary
        self.goversion = goversion
        self._created_by: dict[tuple[int, int], tuple[int, int]] = {}
        self._rng = random.Random()
        self._calls = CallMatcher(with_stacks=False, annotate=self._ids)

    def _ids(self, ev: TraceEvent, enclosing: OpenCall | None) -> _SpanIds:
        span = self._rng.getrandbits(64) or 1
        if enclosing is not None:
            outer: _SpanIds = enclosing.extra
            return _SpanIds(outer.trace_id, span, outer.span_id)
        return _SpanIds(self._rng.getrandbits(128) or 1, span, None, self._created_by.get(goroutine_of(ev)))

    def feed(self, ev: TraceEvent) -> SpanRecord | None:
        if ev.kind == "spawn":
            child = ev.args.get("child_goid")
            top = self._calls.top(ev)
            if isinstance(child, int) and top is not None:
                self._created_by[(ev.pid, child)] = (top.extra.trace_id, top.extra.span_id)
            return None
        call = self._calls.feed(ev)
        if call is None or call.entry is None:
            return None  # still open, or its entry (and so its parent) was not seen
        ids: _SpanIds = call.extra
        attrs: dict[str, Any] = {
            "goroutine.id": ev.goid if ev.goid is not None else -1,
            "process.pid": ev.pid,
            "thread.id": ev.tid,
            "process.executable.path": self.binary,
            "go.version": self.goversion,
        }
        attrs.update({f"arg.{k}": _attr(v) for k, v in call.entry.args.items()})
        attrs.update({f"result.{k}": _attr(v) for k, v in ev.returns.items()})
        end = ev.ts_ns + model.WALL_OFFSET_NS
        return SpanRecord(
            ev.function, ids.trace_id, ids.span_id, ids.parent_id, end - call.dur_ns, end, attrs, ids.link
        )


class OtlpSink:
    """Sends SpanRecords to an OTLP/HTTP endpoint from its own thread."""

    def __init__(self, url: str, binary: str, goversion: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.builder = SpanBuilder(binary, goversion)
        self.exporter = OTLPSpanExporter(endpoint=url, timeout=5)
        self.sent = 0
        self.dropped = 0  # queue full, or the collector refused or could not be reached
        self._queue: deque[SpanRecord] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._in_flight = 0  # spans of the batch being sent: neither sent nor dropped yet
        self._abandoned = False  # close() gave up on the collector and counted what was left
        self._progress = 0.0  # monotonic time of the last batch the collector answered
        self._thread = threading.Thread(target=self._run, name="goprobe-otlp", daemon=True)
        self._thread.start()

    def add(self, events: list[TraceEvent]) -> None:
        spans = [s for s in map(self.builder.feed, events) if s is not None]
        if not spans:
            return
        with self._cond:
            room = QUEUE_SPANS - len(self._queue)
            self._queue.extend(spans[: max(0, room)])
            self.dropped += max(0, len(spans) - max(0, room))
            if len(self._queue) >= BATCH:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closing:
                    self._cond.wait(SEND_EVERY)
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._in_flight = len(batch)
                done = self._closing and not self._queue
            if batch:
                self._send(batch)
            if done:
                return

    def _send(self, batch: list[SpanRecord]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            ok = self.exporter.export([_readable(s) for s in batch]) == SpanExportResult.SUCCESS
        except Exception:  # a collector that is down must not stop tracing: counted
            ok = False
        with self._cond:
            self._in_flight = 0
            if ok:  # only an accepted batch is progress: a collector answering errors
                self._progress = time.monotonic()  # fast is as stuck as a silent one
            if self._abandoned:
                return  # close() counted this batch as dropped already
            if ok:
                self.sent += len(batch)
            else:
                self.dropped += len(batch)

    def close(self, stalled: float = STALLED) -> None:
        """Sends what waits while the collector takes it; once it has accepted nothing for
        `stalled` seconds (silent, or refusing), the rest (the batch in flight too) is
        dropped, counted."""
        with self._cond:
            self._closing = True
            self._progress = time.monotonic()
            self._cond.notify()
        while self._thread.is_alive():
            self._thread.join(0.05)
            with self._cond:
                if time.monotonic() - self._progress > stalled:
                    break
        with self._cond:
            self._abandoned = True
            self.dropped += len(self._queue) + self._in_flight
            self._queue.clear()
            self._in_flight = 0
        # the exporter's shutdown can wait on a hung request: never in the way of exiting
        threading.Thread(target=self.exporter.shutdown, name="goprobe-otlp-shutdown", daemon=True).start()


_RESOURCE = None


def _readable(s: SpanRecord):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Link, SpanContext, TraceFlags

    global _RESOURCE
    if _RESOURCE is None:
        _RESOURCE = Resource.create({"service.name": "goprobe-tui"})
    sampled = TraceFlags(TraceFlags.SAMPLED)
    ctx = SpanContext(s.trace_id, s.span_id, is_remote=False, trace_flags=sampled)
    parent = (
        SpanContext(s.trace_id, s.parent_id, is_remote=False, trace_flags=sampled)
        if s.parent_id is not None
        else None
    )
    links = (
        [
            Link(
                SpanContext(s.link[0], s.link[1], is_remote=False, trace_flags=sampled),
                {"goprobe.link": "goroutine created by"},
            )
        ]
        if s.link
        else []
    )
    return ReadableSpan(
        s.name,
        context=ctx,
        parent=parent,
        resource=_RESOURCE,
        attributes=s.attributes,
        links=links,
        start_time=s.start_ns,
        end_time=s.end_ns,
    )
