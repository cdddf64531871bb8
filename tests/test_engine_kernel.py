"""The engine's promises on the real kernel: nothing lost on detach, any pairing depth, fast and
honest teardown and cleanup."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from goprobe_tui.engine.controller import TraceController
from goprobe_tui.engine.options import EngineOptions
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.tracefs.session import ProbeSession
from tests.conftest import need
from tests.kernel_helpers import TraceRun, goprobe_leftovers, private_copy, tracefs_state
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
FLOOD = 150_000


def _newest() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")


def _drain_all(controller: TraceController) -> list[TraceEvent]:
    return [TraceEvent.from_row(r) for r in controller.drain(10**9)]


@contextlib.contextmanager
def _controller(binary: GoBinary) -> Iterator[TraceController]:
    """The TUI's engine on its own session; closed (everything detached) on the way out."""
    controller = TraceController(binary, ProbeSession())
    # Every event decoded before the stop ends, however loaded the machine: these tests count
    # them (the TUI's 5 s, past which what is left is counted lost, has its own test).
    controller.stream.stop_timeout = None
    try:
        assert controller.stream.wait_ready() is None
        yield controller
    finally:
        controller.close()


def test_detaching_another_function_mid_flood_loses_nothing(root: str) -> None:
    """Detach disables and never deletes mid-session: deleting an enabled event would clear
    the instance's buffer, the flood's unread events with it, uncounted."""
    _newest()
    path = tc.build("hot", "1.27.3")
    with GoBinary.open(str(path)) as binary:
        with _controller(binary) as controller:
            controller.attach(binary.find("main.Work"), returns=False)
            controller.attach(binary.find("main.main"), returns=True)
            proc = subprocess.Popen([str(path), str(FLOOD), "2"], stdout=subprocess.DEVNULL)
            time.sleep(0.3)  # mid-flood
            assert proc.poll() is None, "the flood ended before the detach"
            controller.detach("main.main")
            ev_lines, _ = tracefs_state(root)
            assert any("main_main" in ln for ln in ev_lines)  # disabled, not deleted
            assert proc.wait(60) == 0
        events = _drain_all(controller)
    work = sum(1 for e in events if e.function == "main.Work")
    c = controller.status()
    assert (work + c.lost, c.lost) == (FLOOD, 0)
    assert goprobe_leftovers(root) == []


def test_reattaching_reuses_the_disabled_event(root: str, tmp_path) -> None:
    _newest()
    path = private_copy(tc.build("hot", "1.27.3"), tmp_path)  # hits: ours alone
    with GoBinary.open(str(path)) as binary:
        with _controller(binary) as controller:
            fn = binary.find("main.Work")
            first = controller.attach(fn, returns=True)
            controller.detach("main.Work")
            again = controller.attach(fn, returns=True)
            assert [e.name for e in again.events] == [e.name for e in first.events]
            assert all(e.enabled for e in again.events)
            subprocess.run([str(path), "1000", "2"], check=True, capture_output=True)
            assert controller.hits() == {"main.Work": 1000}  # entry probes only, from the kernel
        events = _drain_all(controller)
    assert len(events) == 2000 and all(e.latency_ns is not None for e in events if e.kind == "return")


def test_recursion_100000_deep_pairs_every_return(root: str) -> None:
    _newest()
    binary = tc.build("recurse", "1.27.3")
    depth = 100_000
    run = TraceRun("--json", "--ret", "--count", str(2 * (depth + 1)), str(binary), "main.Recurse")
    proc = subprocess.run([str(binary), str(depth)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == f"result {depth}", proc.stderr
    out, err = run.proc.communicate(timeout=600)
    kinds = {"entry": 0, "return": 0}
    latencies = 0
    for line in out.splitlines():
        if '"kind": "status"' in line:  # the closing record: not an event
            continue
        kind = ('"kind": "entry"' in line and "entry") or "return"
        kinds[kind] += 1
        latencies += kind == "return" and '"latency_ns": null' not in line
    assert kinds == {"entry": depth + 1, "return": depth + 1}, err
    assert latencies == depth + 1
    assert "0 lost" in err and "without latency" not in err


def test_sigkill_then_cleanup_at_once(root: str) -> None:
    """No sleep between the kill and cleanup: a dying owner counts as dead."""
    _newest()
    binary = tc.build("large", "1.27.3")
    for _ in range(3):
        run = TraceRun("--ret", str(binary), "main.*")
        assert goprobe_leftovers(root)
        run.proc.kill()
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "cleanup"], capture_output=True, text=True, timeout=120
        )
        run.proc.wait()
        assert out.returncode == 0, out.stderr
        # every goprobe-tui start sweeps dead sessions too: another run's may have been first
        assert "removed" in out.stdout or "nothing to clean up" in out.stdout, out.stdout
        assert goprobe_leftovers(root) == []


def test_ret_without_ret_instruction_gets_an_entry_probe(root: str) -> None:
    _newest()
    binary = tc.build("large", "1.27.3")
    with GoBinary.open(str(binary)) as b:
        from goprobe_tui.engine.attach import Attacher

        attacher = Attacher(b, ProbeSession())
        try:
            # e.g. runtime.goexit or a function that ends in a tail jump
            no_ret = next(
                fn
                for fn in b.functions
                if fn.name.startswith(("runtime.", "main."))
                and fn.offset >= 0
                and fn.size > 8
                and not attacher.sites(fn).returns
            )
            att = attacher.attach(no_ret, returns=True)
            assert att.probes == 1 and "entry probe only" in att.note
        finally:
            attacher.session.close()


def test_second_sigint_during_teardown_changes_nothing(root: str) -> None:
    _newest()
    binary = tc.build("large", "1.27.3")
    run = TraceRun("--ret", str(binary), "main.*", "fmt.*")
    stop = threading.Event()

    def pester() -> None:
        while not stop.is_set() and run.proc.poll() is None:
            run.proc.send_signal(2)
            time.sleep(0.01)

    t = threading.Thread(target=pester)
    t.start()
    try:
        run.proc.wait(60)
    finally:
        stop.set()
        t.join()
    _out, err = run.proc.communicate()
    assert "Traceback" not in err and run.proc.returncode == 0, err
    assert goprobe_leftovers(root) == []


def test_teardown_mid_flood_leaves_no_return_without_its_entry(root: str) -> None:
    """Returns are disabled before entries: every call in flight at the stop shows as an entry
    whose return never came, never as a return without latency."""
    _newest()
    path = tc.build("hot", "1.27.3")
    run = TraceRun("--json", "--ret", str(path), "main.Work")
    # Paced (5 calls per 1 ms rest, per goroutine): the decoder runs at nice 19, and on a loaded
    # machine an unpaced flood left it minutes of backlog to decode at the stop.
    flood = subprocess.Popen([str(path), "4000000", "2", "5"], stdout=subprocess.DEVNULL)
    lines: list[str] = []

    def read() -> None:
        for line in run.proc.stdout:  # line by line: extend() would wait for the end
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(lines) < 500 and time.monotonic() < deadline:  # events are flowing
            time.sleep(0.01)
        assert flood.poll() is None, "the flood ended before the stop"
        run.proc.send_signal(2)
        err = run.proc.communicate(timeout=300)[1]  # every event decoded first: slow when loaded
    finally:
        flood.kill()
        flood.wait()
    reader.join(30)
    summary = err.strip().splitlines()[-1]
    # nothing after "malformed": no return without latency
    assert re.fullmatch(r"goprobe-tui: \d+ events, 0 lost, 0 malformed", summary), summary
    assert goprobe_leftovers(root) == []


def test_stacks_the_probes_walk_show_only_while_stacks_are_on(root: str) -> None:
    """Where the probes walk the frames themselves (an arm64 kernel has no user-stack walk of
    its own, so the TUI's probes walk from the start), `b` shows or hides them: events decoded
    while stacks are off carry none, and on again they do, through a decoder restart too."""
    _newest()
    path = tc.build("divide", "1.27.3")
    with GoBinary.open(str(path)) as binary:
        controller = TraceController(binary, ProbeSession(), options=EngineOptions(stack_depth=4))
        try:
            assert controller.stream.wait_ready() is None
            controller.attach(binary.find("main.Divide"), returns=False)

            def one_call() -> TraceEvent:
                assert subprocess.run([str(path)], capture_output=True).returncode == 0
                deadline = time.monotonic() + 60
                events: list[TraceEvent] = []
                while not events and time.monotonic() < deadline:
                    time.sleep(0.05)
                    events = _drain_all(controller)
                (event,) = events
                return event

            assert controller.status().stacks
            shown = one_call()
            assert shown.stack and [f[0] for f in shown.stack[:2]] == ["main.main", "runtime.main"]
            controller.set_stacks(False)
            assert not controller.status().stacks and one_call().stack is None
            os.kill(controller.stream._proc.pid, signal.SIGKILL)  # a new decoder keeps it off
            deadline = time.monotonic() + 60
            while not controller.stream.restarts and time.monotonic() < deadline:
                time.sleep(0.05)
            assert controller.stream.restarts and one_call().stack is None
            controller.set_stacks(True)
            assert controller.status().stacks and one_call().stack == shown.stack
        finally:
            controller.close()
    assert goprobe_leftovers(root) == []


def test_processes_that_exit_at_once_keep_their_pid_and_name(root: str) -> None:
    """Short-lived processes run one after another: each event names its own process, even
    when it exited before its records were decoded (the kernel's saved_tgids/saved_cmdlines).
    They used to be "?", or an earlier process that had the same id (pids wrap at 32768 here),
    with that process's pid."""
    _newest()
    path = tc.build("divide", "1.27.3")
    with GoBinary.open(str(path)) as binary, _controller(binary) as controller:
        controller.attach(binary.find("main.Divide"), returns=False)
        pids: list[int] = []
        events: list[TraceEvent] = []
        for _ in range(8):  # each after the previous one's event was decoded
            proc = subprocess.Popen([str(path)], stdout=subprocess.DEVNULL)
            assert proc.wait(60) == 0
            pids.append(proc.pid)
            deadline = time.monotonic() + 60
            while len(events) < len(pids) and time.monotonic() < deadline:
                time.sleep(0.05)
                events += _drain_all(controller)
    assert [(e.pid, e.tid, e.comm) for e in events] == [(p, p, path.name[:15]) for p in pids]


def test_following_a_goroutine_with_pid_can_be_undone_and_done_again(root: str, tmp_path) -> None:
    """With --pid the probes are perf events, and a perf event takes one filter, once (the
    kernel answers EEXIST to a second): F, F again and F once more each hold, round after
    round of a running process (it said "File exists" and stayed following)."""
    from goprobe_tui.engine import open_engine

    _newest()
    path = private_copy(tc.build("rounds", "1.27.3"), tmp_path)
    proc = subprocess.Popen([str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with GoBinary.open(str(path)) as binary:
            controller = open_engine(binary, options=EngineOptions(pid=proc.pid))
            try:
                assert controller.stream.wait_ready() is None
                controller.attach(binary.find("main.Work"), returns=False)

                def round_of_calls() -> list[TraceEvent]:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    assert proc.stdout.readline().startswith("done")
                    seen: list[TraceEvent] = []
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        seen += _drain_all(controller)
                        if controller.status().decoded >= want_total[0]:
                            break
                        time.sleep(0.05)
                    time.sleep(0.3)
                    return seen + _drain_all(controller)

                want_total = [15]
                first = round_of_calls()
                assert len(first) == 15
                main_goid = next(e.goid for e in first if e.args["w"] == 0)
                for follow, want in ((main_goid, 5), (None, 15), (main_goid, 5)):
                    controller.follow_goroutine(follow)
                    assert controller.status().following == follow
                    want_total[0] = controller.status().decoded + want
                    events = round_of_calls()
                    assert len(events) == want, (follow, [(e.goid, e.args) for e in events])
                    assert follow is None or {e.goid for e in events} == {follow}
            finally:
                controller.close()
    finally:
        proc.kill()
        proc.wait()
    assert goprobe_leftovers(root) == []
