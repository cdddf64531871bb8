"""The TUI's engine path on the real kernel: decoding in a child process, rows, the backlog."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from goprobe_tui.engine.controller import TraceController
from goprobe_tui.events.model import ROW_FUNCTION, ROW_KIND, TraceEvent
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.pipeline.backlog import Backlog
from goprobe_tui.pipeline.frames import FrameBuffer, write_frame
from goprobe_tui.tracefs.session import ProbeSession
from tests.conftest import need
from tests.kernel_helpers import goprobe_leftovers, run_program
from tests.support import toolchains as tc


def _row(i: int) -> tuple:
    return TraceEvent(i, 0, 1, 1, "c", "main.F", "entry", "gp1_0_main_F", {"n": i}).as_row()


def test_backlog_drops_whole_oldest_batches_and_counts_them() -> None:
    b = Backlog(limit=2500)
    for start in range(0, 4000, 1000):
        b.put(1000, pickle.dumps([_row(i) for i in range(start, start + 1000)]))
    assert len(b) == 2000 and b.dropped == 2000  # the two oldest batches, counted
    first = b.take(1500)  # splits a batch; the rest stays at the front, in order
    assert [r[0] for r in first] == list(range(2000, 3500))
    assert [r[0] for r in b.take(5000)] == list(range(3500, 4000))
    assert len(b) == 0


def test_rows_round_trip_and_escape_the_cyclic_gc() -> None:
    import gc

    ev = TraceEvent(
        5,
        1,
        2,
        3,
        "comm",
        "main.F",
        "return",
        "gp1_1_main_F_ret",
        returns={"s": "x", "sl": {"ptr": 1, "len": 2, "cap": 3}},
        latency_ns=7,
    )
    row = pickle.loads(pickle.dumps(ev.as_row()))
    assert TraceEvent.from_row(row) == ev
    assert (row[ROW_FUNCTION], row[ROW_KIND]) == (ev.function, ev.kind)
    for _ in range(6):  # each pass untracks one more level of nesting
        gc.collect()
    assert not gc.is_tracked(row)


def test_frames_survive_arbitrary_splits(tmp_path) -> None:
    msgs = [("events", 3, b"x" * 70_000, (1, 2)), ("stats", (0,)), ("ready",)]
    fd = os.open(tmp_path / "frames", os.O_RDWR | os.O_CREAT)
    for m in msgs:
        write_frame(fd, m)
    os.close(fd)
    data = (tmp_path / "frames").read_bytes()
    buf = FrameBuffer()
    got = []
    for i in range(0, len(data), 777):  # frames cut anywhere, headers included
        got += buf.feed(data[i : i + 777])
    assert got == msgs


def _drain_until(controller: TraceController, n: int, stalled: float = 30) -> list[TraceEvent]:
    """Until n events came, or none came for `stalled` seconds: the nice-19 decoder beside two
    other suites decoded 12,192 of 40,000 events in a fixed 30 s, still going."""
    rows: list = []
    last = time.monotonic()
    while len(rows) < n and time.monotonic() - last < stalled:
        more = controller.drain(5000)
        if more:
            rows += more
            last = time.monotonic()
        time.sleep(0.05)
    return [TraceEvent.from_row(r) for r in rows]


@contextlib.contextmanager
def _tracing(program: str, function: str) -> Iterator[tuple[Path, TraceController]]:
    """The TUI's controller (decoder in a child process) with one function attached, returns too."""
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    path = tc.build(program, "1.27.3")
    with GoBinary.open(str(path)) as binary:
        controller = TraceController(binary, ProbeSession())
        try:
            assert controller.stream.wait_ready() is None
            controller.attach(binary.find(function), returns=True)
            yield path, controller
        finally:
            controller.close()


@pytest.mark.kernel
def test_child_decoder_gets_every_event_of_a_fresh_probe(root: str) -> None:
    """Attach, run at once: the first events are decoded (announced before enabled), all paired."""
    with _tracing("hot", "main.Work") as (path, controller):
        assert run_program(path, "20000", "2").returncode == 0
        events = _drain_until(controller, 40_000)
        assert (len(events), controller.status().lost) == (40_000, 0)
        entries = [e for e in events if e.kind == "entry"]
        assert len(entries) == 20_000
        # compared as booleans: a failing comparison of 40k-element lists takes pytest ages
        assert sorted(e.args["a"] for e in entries) == sorted(list(range(10_000)) * 2), "args"
        unpaired = sum(e.latency_ns is None for e in events if e.kind == "return")
        assert unpaired == 0
        child = controller.stream._proc.pid
    assert not os.path.exists(f"/proc/{child}") or _is_zombie(child)
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
def test_a_dead_decoder_is_restarted_then_given_up_and_teardown_completes(root: str) -> None:
    from goprobe_tui.pipeline.stream import MAX_RESTARTS

    with _tracing("divide", "main.Divide") as (_path, controller):
        for kill in range(MAX_RESTARTS + 1):
            os.kill(controller.stream._proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while (
                len(controller.status().notices) <= kill
                and controller.status().error is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            status = controller.status()
            if kill < MAX_RESTARTS:
                assert len(status.notices) == kill + 1 and "restarted" in status.notices[-1]
                assert status.error is None
        assert controller.status().error and "no longer read" in controller.status().error
        controller.attach(controller.binary.find("main.main"), returns=False)  # still no crash
    assert goprobe_leftovers(root) == []


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.kernel
def test_a_decoder_that_cannot_finish_by_the_stop_has_its_events_counted_lost(root: str) -> None:
    """The TUI gives the decoder 5 s to finish at the stop; a starved one (a loaded machine,
    here SIGSTOP) is killed then. What it held is counted lost: decoded + lost == calls (3,051
    events of 150,000 had gone uncounted under two suites at once)."""
    with _tracing("hot", "main.Work") as (path, controller):
        controller.stream.stop_timeout = 1.0
        child = controller.stream._proc.pid
        os.kill(child, signal.SIGSTOP)  # it reads nothing more
        try:
            assert run_program(path, "20000", "2").returncode == 0
            deadline = time.monotonic() + 30  # the reader has sent the pages to the child
            while controller.stream._inflight == deque() and time.monotonic() < deadline:
                time.sleep(0.05)
            controller.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGCONT)
        events = [TraceEvent.from_row(r) for r in controller.drain(10**9)]
        status = controller.status()
        assert len(events) + status.lost == 40_000, (len(events), status.lost)
        assert status.lost > 0 and any("did not finish" in n for n in status.notices), status.notices
    assert goprobe_leftovers(root) == []
