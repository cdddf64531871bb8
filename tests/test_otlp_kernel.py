"""`trace --otlp URL`: each paired call a span over OTLP/HTTP, decoded here by a real receiver
with the official OpenTelemetry protobufs: names, parents on the same goroutine, attributes.
A collector that is down drops spans, counted, and tracing goes on."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.conftest import need
from tests.kernel_helpers import TraceRun, private_copy, run_program
from tests.support import toolchains as tc

NEWEST = "1.27.3"


class _Receiver(BaseHTTPRequestHandler):
    spans: list = []

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                type(self).spans.extend(ss.spans)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.spans = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/traces", _Receiver.spans
    server.shutdown()


def _attrs(span) -> dict:
    out = {}
    for kv in span.attributes:
        v = kv.value
        out[kv.key] = v.string_value if v.HasField("string_value") else v.int_value
    return out


@pytest.mark.kernel
def test_each_paired_call_is_a_span_under_its_caller(root: str, receiver) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    url, spans = receiver
    binary = tc.build("insight", NEWEST)
    run = TraceRun("--json", "--ret", "--otlp", url, str(binary), "main.Outer", "main.Inner", "main.Leaf")
    assert run_program(binary, "tree").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert "15 spans sent to " + url + ", 0 dropped" in err, err
    assert len(spans) == 15
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if not s.parent_span_id]
    assert sorted(s.name for s in roots) == ["main.Outer"] * 3
    for s in spans:
        if s.parent_span_id:  # Inner under Outer or Inner, Leaf under Inner, on one trace
            parent = by_id[s.parent_span_id]
            assert parent.trace_id == s.trace_id
            assert (parent.name, s.name) in {
                ("main.Outer", "main.Inner"),
                ("main.Inner", "main.Inner"),
                ("main.Inner", "main.Leaf"),
            }
            assert (
                parent.start_time_unix_nano
                <= s.start_time_unix_nano
                <= s.end_time_unix_nano
                <= parent.end_time_unix_nano
            )
    outer = _attrs(roots[0])
    assert outer["go.version"] == "go1.27.3" and outer["process.executable.path"] == str(binary)
    assert {_attrs(r)["arg.w"] for r in roots} == {0, 1, 2}
    assert {_attrs(r)["goroutine.id"] for r in roots} == {
        e["goid"] for e in events if e["function"] == "main.Outer"
    }


@pytest.mark.kernel
def test_a_collector_that_is_down_drops_spans_counted_and_tracing_goes_on(root: str) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1/traces"
    binary = tc.build("insight", NEWEST)
    run = TraceRun("--json", "--ret", "--otlp", url, str(binary), "main.Outer", "main.Inner", "main.Leaf")
    assert run_program(binary, "tree").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert len(events) == 30 and "0 spans sent to " + url + ", 15 dropped" in err, err


class _BadCollector:
    """A collector on loopback that accepts connections and then hangs, or answers garbage."""

    def __init__(self, garbage: bool) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1/traces"
        self.garbage = garbage
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.garbage:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(b"\x00\xffnot http at all\r\n\r\n" * 10)
                conn.close()
            else:
                self.held.append(conn)  # never read, never answered

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.kernel
@pytest.mark.parametrize("garbage", [False, True], ids=["hangs", "garbage"])
def test_a_collector_that_hangs_or_answers_garbage_never_holds_up_ctrl_c(
    root: str, tmp_path, garbage: bool
) -> None:
    """Ctrl-C ends the trace as quickly as without a collector, but for the 0.75 s it gives a
    silent one (it took 10.5-12.4 s), whatever the collector does; every span is either sent
    or counted dropped (the batch in flight when it gave up was counted nowhere). Judged
    against the same trace without --otlp in the same test: a loaded machine slows both."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    collector = _BadCollector(garbage)
    hot = private_copy(tc.build("hot", NEWEST), tmp_path)
    calls = 20_000

    def stopped_after(*otlp: str) -> tuple[float, str]:
        run = TraceRun("--json", "--ret", *otlp, str(hot), "main.Work")
        assert run_program(hot, str(calls), "2").returncode == 0
        for _ in range(2 * calls):  # every event decoded: the sender is stuck on the collector
            assert run.proc.stdout.readline()
        sent_at = time.monotonic()
        run.proc.send_signal(signal.SIGINT)
        run.proc.wait(60)
        took = time.monotonic() - sent_at
        _events, err = run.finish()
        return took, err

    try:
        # a second pair where the first is over the bound: one sample on a machine loaded by
        # other suites was seen 3.3 s over its reference (quiet: 0.85 s); the fault (10.5-12.4 s)
        # fails both
        for _attempt in range(2):
            took, err = stopped_after("--otlp", collector.url)
            reference, _ = stopped_after()
            m = re.search(r"(\d+) spans sent to \S+, ([\d,]+) dropped", err)
            assert m, err
            assert int(m[1]) + int(m[2].replace(",", "")) == calls, err
            if took < reference + 3.0:
                break
    finally:
        collector.close()
    # the 0.75 s it gives the collector plus what a loaded machine adds to one sample (1.87 s
    # against 0.32 s was seen under two runs at once); the fault took 10.5-12.4 s
    assert took < reference + 3.0, (took, reference, err)
