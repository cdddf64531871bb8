"""--pid costs the neighbours nothing: its probes trap in the target's threads only (perf's
per-process uprobe filter), threads created later included; the events are all there, and a
killed tracer leaves nothing `cleanup` does not remove. Judged by this test's own pids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from goprobe_tui.tracefs.fs import read_text
from tests.conftest import need
from tests.kernel_helpers import TraceRun, private_copy, probes_of
from tests.support import toolchains as tc

NEWEST = "1.27.3"


def _toolchain() -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")


def _waiting(binary, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(binary), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline()


def _go(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0
    return out


def _hits(root: str, tracer: int) -> int:
    """Hits of the tracer's own probes (uprobe_profile counts every trap, any process)."""
    events = {ln.split(" ", 1)[0].split("/", 1)[1] for ln in probes_of(root, tracer)}
    total = 0
    for line in read_text(os.path.join(root, "uprobe_profile")).splitlines():
        parts = line.rsplit(None, 2)
        if len(parts) == 3 and parts[1] in events:
            total += int(parts[2])
    return total


@pytest.mark.kernel
def test_a_sibling_of_the_traced_process_never_traps(root: str, tmp_path) -> None:
    _toolchain()
    binary = private_copy(tc.build("ticker", NEWEST), tmp_path)  # hits: ours alone
    target, _ = _waiting(binary, "300")
    run = TraceRun("--json", "--ret", "--pid", str(target.pid), str(binary), "main.Tick")
    try:
        lines = probes_of(root, run.proc.pid)
        assert lines
        for line in lines:  # defined, never enabled in the instance: perf opens them
            group, event = line.split(" ", 1)[0].split(":", 1)[1].split("/")
            enable = os.path.join(root, "instances", group, "events", group, event, "enable")
            assert read_text(enable).strip() == "0"
        sibling, _ = _waiting(binary, "5000")
        assert _go(sibling).strip().endswith(str(sum(i * 7 + 4 for i in range(5000))))
        assert _hits(root, run.proc.pid) == 0  # 10,000 calls beside it: not one trap
        _go(target)
    finally:
        target.kill()
    events, err = run.finish()
    assert [e["args"]["i"] for e in events if e["kind"] == "entry"] == list(range(300)), err
    assert [e["returns"]["~r0"] for e in events if e["kind"] == "return"] == [i * 7 + 4 for i in range(300)]
    assert {e["pid"] for e in events} == {target.pid} and "0 lost" in err


@pytest.mark.kernel
def test_threads_started_after_attach_are_traced(root: str) -> None:
    _toolchain()
    binary = tc.build("threads", NEWEST)
    target, ready = _waiting(binary)
    before = int(ready.split()[1])
    run = TraceRun("--json", "--pid", str(target.pid), str(binary), "main.Work")
    out = _go(target)
    after = int(out.split()[-1])
    events, err = run.finish()
    assert after > before  # the 8 locked goroutines ran on threads created after attach
    by_worker = {}
    for e in events:
        by_worker.setdefault(e["args"]["w"], []).append(e["args"]["i"])
    assert by_worker == {w: list(range(100)) for w in range(8)}, err
    assert len({e["tid"] for e in events}) >= 2


@pytest.mark.kernel
def test_a_killed_tracer_leaves_nothing_cleanup_misses(root: str, tmp_path) -> None:
    _toolchain()
    binary = private_copy(tc.build("ticker", NEWEST), tmp_path)  # hits: ours alone
    target, _ = _waiting(binary, "1000")
    run = TraceRun("--ret", "--pid", str(target.pid), str(binary), "main.Tick")
    tracer = run.proc.pid
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait()
    # its event definitions stay until a cleanup (any new session's sweep is one: other
    # sessions may run on this machine), but its descriptors died with it: no trap is left
    out = _go(target)
    assert out.strip().endswith(str(sum(i * 7 + 4 for i in range(1000))))
    assert _hits(root, tracer) == 0
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "cleanup"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert probes_of(root, tracer) == []


@pytest.mark.kernel
def test_stacks_with_pid_name_each_caller_once(root: str) -> None:
    """perf's callchain repeats the direct caller at a probe on `push %rbp`; the stack shown
    has each frame once, as the kernel's own walk gives it without --pid."""
    _toolchain()
    binary = tc.build("spawn", NEWEST)
    target, _ = _waiting(binary)
    run = TraceRun("--json", "--stack", "--pid", str(target.pid), str(binary), "main.report")
    _go(target)
    events, err = run.finish()
    stacks = sorted({tuple(f["function"] for f in e["stack"]) for e in events})
    assert stacks == [
        ("main.leaf", "main.worker.gowrap2", "runtime.goexit"),  # go f(x): Go 1.22+
        ("main.worker", "main.main.gowrap1", "runtime.goexit"),
    ], err


@pytest.mark.kernel
def test_stack_depth_with_pid_reaches_32_frames(root: str) -> None:
    """--pid: perf's callchain as deep as asked (32), where a probe's own walk stops at 13."""
    _toolchain()
    binary = tc.build("recurse", NEWEST)
    target, _ = _waiting(binary, "40", "wait")
    run = TraceRun("--json", "--stack-depth", "32", "--pid", str(target.pid), str(binary), "main.Recurse")
    _go(target)
    events, err = run.finish()
    stacks = {e["args"]["n"]: [f["function"] for f in e["stack"]] for e in events}
    assert stacks[0] == ["main.Recurse"] * 32, (len(stacks[0]), err)
    assert stacks[39] == ["main.Recurse", "main.main.func1", "runtime.goexit"]
