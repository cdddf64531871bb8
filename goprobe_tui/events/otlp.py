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
from dataclasses import dataclass, field
from typing import Any

from goprobe_tui.events.model import WALL_OFFSET_NS, TraceEvent
from goprobe_tui.events.text import format_value

QUEUE_SPANS = 20_000  # waiting to be sent; beyond, new spans are dropped (counted)
BATCH = 512
SEND_EVERY = 1.0  # seconds between batches when fewer than BATCH wait
# At the end, what waits is sent while the collector keeps taking batches; one that answers
# nothing for this long is given up on (the rest dropped, counted): Ctrl-C never waits on it.
STALLED = 0.75


@dataclass
class _Open:
    event: TraceEvent
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


@dataclass
class SpanBuilder:
    """Events in, finished spans out (feed), parents and links kept per goroutine."""

    binary: str
    goversion: str
    _open: dict[tuple[int, int], list[_Open]] = field(default_factory=dict)
    _created_by: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=lambda: random.Random())

    def feed(self, ev: TraceEvent) -> SpanRecord | None:
        g = (ev.pid, ev.goid if ev.goid is not None else -ev.tid)
        stack = self._open.setdefault(g, [])
        if ev.kind == "spawn":
            child = ev.args.get("child_goid")
            if isinstance(child, int) and stack:
                self._created_by[(ev.pid, child)] = (stack[-1].trace_id, stack[-1].span_id)
            return None
        if ev.kind not in ("entry", "return") or ev.inlined:
            return None
        if ev.kind == "entry":
            top = stack[-1] if stack else None
            link = None if top else self._created_by.get(g)
            stack.append(
                _Open(
                    ev,
                    top.trace_id if top else self._rng.getrandbits(128) or 1,
                    self._rng.getrandbits(64) or 1,
                    top.span_id if top else None,
                    link,
                )
            )
            return None
        at = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].event.function == ev.function), None)
        if at is None or ev.latency_ns is None:
            return None
        opened = stack[at]
        del stack[at:]
        attrs: dict[str, Any] = {
            "goroutine.id": ev.goid if ev.goid is not None else -1,
            "process.pid": ev.pid,
            "thread.id": ev.tid,
            "process.executable.path": self.binary,
            "go.version": self.goversion,
        }
        attrs.update({f"arg.{k}": _attr(v) for k, v in opened.event.args.items()})
        attrs.update({f"result.{k}": _attr(v) for k, v in ev.returns.items()})
        end = ev.ts_ns + WALL_OFFSET_NS
        return SpanRecord(
            ev.function,
            opened.trace_id,
            opened.span_id,
            opened.parent_id,
            end - ev.latency_ns,
            end,
            attrs,
            opened.link,
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
            self._progress = time.monotonic()
            if self._abandoned:
                return  # close() counted this batch as dropped already
            if ok:
                self.sent += len(batch)
            else:
                self.dropped += len(batch)

    def close(self, stalled: float = STALLED) -> None:
        """Sends what waits while the collector answers; once it has answered nothing for
        `stalled` seconds, the rest (the batch in flight too) is dropped, counted."""
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
