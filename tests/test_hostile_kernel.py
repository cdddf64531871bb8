"""Hostile and unlucky conditions on the real kernel: a binary overwritten while attached, signals
at any moment, PID namespaces, a comm with a newline, lost events counted exactly, a dead decoder."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from goprobe_tui.gobinary import GoBinary
from tests.conftest import need
from tests.kernel_helpers import (
    TraceRun,
    goprobe_leftovers,
    run_program,
    started,
    tracefs_state,
)
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel


def _newest() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")


def _stderr_until(run: TraceRun, text: str, timeout: float = 10) -> str:
    """Read the trace's stderr until a line holds `text`. A thread reads with readline: a
    select() on the pipe cannot see the lines a text file already holds in its buffer (two
    lines that came in one read, progress lines before `attached`, waited for ever)."""
    seen: list[str] = []
    found: queue.Queue = queue.Queue()

    def read() -> None:
        for line in iter(run.proc.stderr.readline, ""):
            seen.append(line)
            if text in line:
                found.put(line)
                return
        found.put(None)

    threading.Thread(target=read, name="stderr-until", daemon=True).start()
    try:
        line = found.get(timeout=timeout)
    except queue.Empty:
        line = None
    if line is None:
        raise AssertionError(f"{text!r} never printed: {''.join(seen)}")
    return line


def test_binary_overwritten_in_place_loses_its_probes_at_once(root: str, tmp_path: Path) -> None:
    """`cat other > victim` keeps the inode: the old offsets would land in the new code."""
    _newest()
    victim = tmp_path / "victim"
    shutil.copy(tc.build("divide", "1.27.3"), victim)
    run = TraceRun("--ret", str(victim), "main.*")
    victim.write_bytes(tc.build("hot", "1.27.3").read_bytes())  # O_TRUNC, same inode
    line = _stderr_until(run, "overwritten in place")
    assert str(victim) in line
    for _ in range(5):
        out = subprocess.run([str(victim), "20000", "2"], capture_output=True, text=True, timeout=60)
        assert (out.returncode, out.stdout.strip()) == (0, "done 2"), out.stderr[-2000:]
    assert run.proc.wait(30) == 1
    assert goprobe_leftovers(root) == []


def test_binary_replaced_at_a_new_inode_is_reported(root: str, tmp_path: Path) -> None:
    _newest()
    victim = tmp_path / "victim"
    shutil.copy(tc.build("divide", "1.27.3"), victim)
    run = TraceRun(str(victim), "main.Divide")
    new = tmp_path / "victim.new"
    shutil.copy(tc.build("divide", "1.27.3"), new)
    os.rename(new, victim)  # a rebuild: new inode, the probes stay on the old one
    assert "events have stopped" in _stderr_until(run, "replaced")
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(30) == 0
    assert goprobe_leftovers(root) == []


def _instance_of(root: str, pid: int) -> bool:
    return any(n.startswith(f"goprobe_{pid}_") for n in os.listdir(os.path.join(root, "instances")))


def _holds_sigint(pid: int) -> bool:
    """Our code runs: its first act is to hold INT/TERM/HUP (before that, an interrupt is the
    interpreter's own business)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            blocked = next(int(ln.split()[1], 16) for ln in f if ln.startswith("SigBlk:"))
    except (OSError, StopIteration):
        return False
    return bool(blocked & (1 << (signal.SIGINT - 1)))


def test_sigint_at_any_moment_never_leaks_nor_is_ignored(root: str) -> None:
    """50 runs, SIGINT at a random point of a stage the run is seen to be in: start-up, set-up
    (its tracing instance exists: attaching), tracing (it said "attached"); every third run a
    second SIGINT lands during teardown. Every run must end, and leave nothing. Stages are
    recognised by what the run does, never by how long it has been running: a loaded machine
    takes over a second to attach."""
    _newest()
    binary = str(tc.build("large", "1.27.3"))
    rng = random.Random(12)
    outcomes = []
    for i in range(50):
        stage = ("startup", "setup", "tracing")[i % 3]
        proc = started(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "goprobe_tui",
                    "trace",
                    "--ret",
                    binary,
                    "main.*",
                    "fmt.*",
                    "strconv.*",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        err: list[str] = []
        reader = threading.Thread(target=lambda p=proc, e=err: e.extend(p.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        if stage == "startup":
            while not _holds_sigint(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
        elif stage == "setup":
            while not _instance_of(root, proc.pid) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
        elif stage == "tracing":
            while (
                not any("attached " in ln for ln in err)
                and proc.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
        assert proc.poll() is None, f"run {i}: ended by itself: {''.join(err)}"
        time.sleep(rng.uniform(0.0, 0.3 if stage != "startup" else 0.05))
        proc.send_signal(signal.SIGINT)
        if i % 3 == 0:
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"run {i}: SIGINT ignored") from None
        reader.join(10)
        text = "".join(err)
        assert rc in (0, 130) and "Traceback" not in text, f"run {i} ({stage}): rc {rc}: {text}"
        outcomes.append((stage, "attached " in text))
        assert goprobe_leftovers(root) == [], f"run {i} leaked: {text}"
    # Every stage was reached, and both sides of the attach were covered.
    assert any(attached for _s, attached in outcomes) and not all(a for _s, a in outcomes)


def _children(pid: int) -> list[int]:
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def test_session_in_a_pid_namespace_is_never_swept_from_outside(root: str) -> None:
    """Inside `unshare -p` the session's owner is pid 1 there: the host's /proc cannot prove it
    dead, so neither `cleanup` nor a new session's start-up sweep may touch it."""
    need(shutil.which("unshare") is not None, "unshare missing (util-linux)")
    _newest()
    divide = tc.build("divide", "1.27.3")
    outer = started(
        subprocess.Popen(
            [
                "unshare",
                "-p",
                "-f",
                "--mount-proc",
                "--kill-child=SIGINT",
                sys.executable,
                "-m",
                "goprobe_tui",
                "trace",
                "--json",
                str(divide),
                "main.Divide",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        run = TraceRun.__new__(TraceRun)
        run.proc = outer
        _stderr_until(run, "attached", timeout=60)
        inner = _children(outer.pid)[0]
        ns = os.readlink(f"/proc/{inner}/ns/pid").partition("[")[2].rstrip("]")

        def theirs() -> list[str]:
            return [ln for ln in tracefs_state(root)[0] if "goprobe_1_" in ln and f"_n{ns}/" in ln]

        assert theirs(), "the namespaced session is not named goprobe_1_…_n<inode>"
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "cleanup"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0 and theirs(), out.stdout
        host = TraceRun(str(divide), "main.main")  # its start-up sweep
        host.proc.send_signal(signal.SIGINT)
        assert host.proc.wait(120) == 0 and theirs()
        assert subprocess.run([str(divide)], capture_output=True, timeout=120).returncode == 0
        os.kill(inner, signal.SIGINT)
        out, err = outer.communicate(timeout=60)
        assert '"function": "main.Divide"' in out, err
        assert not theirs()
    finally:
        if outer.poll() is None:
            outer.send_signal(signal.SIGINT)  # unshare passes it on (--kill-child)
            outer.wait(120)


def test_comm_with_a_newline_hides_no_event(root: str) -> None:
    """prctl(PR_SET_NAME, "a\\nb"): the binary ring-buffer format has no lines to break, and the
    text output shows the comm escaped, one event per line."""
    _newest()
    binary = tc.build("hostile", "1.27.3")
    run = TraceRun("--count", "400", str(binary), "main.Tick")
    assert run_program(binary, "comm", "200").returncode == 0
    out, err = run.proc.communicate(timeout=60)
    lines = out.splitlines()
    assert len(lines) == 400 and all("-> main.Tick(" in ln for ln in lines), out[-2000:]
    assert "400 events, 0 lost, 0 malformed" in err, err
    assert "\x1b" not in out and any("a\\nb[" in ln for ln in lines)


def test_each_event_has_the_name_its_thread_had_then(root: str) -> None:
    """The thread renames itself between two runs of calls: every event carries the name it
    had as the probe fired (the probe records $comm), not one looked up once in /proc."""
    _newest()
    binary = tc.build("hostile", "1.27.3")
    run = TraceRun("--json", "--count", "400", str(binary), "main.Tick")
    assert run_program(binary, "comm", "200").returncode == 0
    events, err = run.finish()
    assert [e["comm"] for e in events] == ["a\nb"] * 200 + ["hostile"] * 200, err


def test_return_on_the_entry_address_pairs_and_spares_outer_frames(root: str) -> None:
    """main.Same is one RET: its entry and return probes share an address. The entry comes
    first, its return pairs with it, and main.Outer's latencies survive."""
    _newest()
    binary = tc.build("hostile", "1.27.3")
    n = 500
    run = TraceRun("--json", "--ret", "--count", str(6 * n), str(binary), "main.Outer", "main.Same")
    assert run_program(binary, "same", str(n)).returncode == 0
    events, err = run.finish()
    assert len(events) == 6 * n, err
    last: dict[int, dict] = {}  # per thread (one trap runs on one thread)
    for e in events:
        if e["function"] == "main.Same" and e["kind"] == "return":
            before = last.get(e["tid"], {})
            assert (before.get("function"), before.get("kind")) == ("main.Same", "entry"), e
        last[e["tid"]] = e
    returns = [e for e in events if e["kind"] == "return"]
    assert len(returns) == 3 * n and all(e["latency_ns"] is not None for e in returns)
    assert "without latency" not in err


def test_argument_after_a_one_element_array_is_read_from_its_register(root: str) -> None:
    """Go's ABI assigns [1]int like an int: Arr1V([1]int{77}, 5) is a=77 in AX, q=5 in BX."""
    _newest()
    binary = tc.build("hostile", "1.27.3")
    run = TraceRun("--json", "--count", "1", str(binary), "main.Arr1V")
    assert run_program(binary, "arr").returncode == 0
    events, err = run.finish()
    assert events and events[0]["args"] == {"a": 77, "q": 5}, err


def test_functions_sharing_a_name_are_all_traced_and_told_apart(root: str) -> None:
    """runtime.newproc and its ABI0 wrapper (<autogenerated>) share a name: both are traced,
    the wrapper's argument read from the stack, the real one's from its register."""
    _newest()
    binary = tc.build("hostile", "1.27.3")
    with GoBinary.open(str(binary)) as b:
        keys = b.functions.keys
        assert len(set(keys)) == len(keys)
        assert {keys[i] for i, n in enumerate(b.functions.names) if n == "runtime.newproc"} == {
            "runtime.newproc",
            "runtime.newproc (wrapper)",
        }
    run = TraceRun("--json", "--count", "2", str(binary), "runtime.newproc")
    assert "to 2 functions" in run.stderr_lines[-1]
    assert run_program(binary, "gen").returncode == 0
    events, err = run.finish()
    assert [e["function"] for e in events] == ["runtime.newproc (wrapper)", "runtime.newproc"], err
    assert events[0]["args"]["fn"] == events[1]["args"]["fn"]


def test_lost_events_are_counted_exactly_once(root: str) -> None:
    """The reader is stopped (SIGSTOP) through a flood: the ring buffer overflows. What arrives
    plus what is reported lost is exactly what was called, never twice."""
    _newest()
    hot = tc.build("hot", "1.27.3")
    calls = 600_000
    run = TraceRun("--json", str(hot), "main.Work")
    os.kill(run.proc.pid, signal.SIGSTOP)
    try:
        assert run_program(hot, str(calls), "2").returncode == 0
    finally:
        os.kill(run.proc.pid, signal.SIGCONT)
    time.sleep(1.0)
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish(timeout=120)
    m = re.search(r"(\d+) events, (\d+) lost", err)
    assert m, err
    shown, lost = int(m[1]), int(m[2])
    assert shown == len(events) and lost > 0
    assert shown + lost == calls, err


def _decoder_killed_mid_flood(hot, calls: int, *trace_args: str) -> tuple[list[dict], str, int, int]:
    """A trace of main.Work whose decoder gets kill -9 while `calls` calls flood in: (events on
    stdout, stderr, shown, lost)."""
    run = TraceRun(*trace_args, str(hot), "main.Work")
    (decoder,) = _children(run.proc.pid)
    flood = subprocess.Popen([str(hot), str(calls), "2"], stdout=subprocess.DEVNULL)
    time.sleep(0.4)
    os.kill(decoder, signal.SIGKILL)
    assert flood.wait(60) == 0
    time.sleep(1.0)
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish(timeout=120)
    assert "restarted" in err, err
    m = re.search(r"(\d+) events, (\d+) lost", err)
    if trace_args[0] == "--json":  # the output says itself what it misses
        assert run.status is not None and (run.status["decoded"], run.status["lost"]) == (
            int(m[1]),
            int(m[2]),
        )
    return events, err, int(m[1]), int(m[2])


def test_decoder_killed_mid_flood_is_restarted_and_its_loss_counted(root: str) -> None:
    """kill -9 of the decoder child: a new one takes over; what the dead one held is counted
    lost, so shown + lost is still exactly the number of calls. Every line is whole JSON."""
    _newest()
    calls = 400_000
    events, err, shown, lost = _decoder_killed_mid_flood(tc.build("hot", "1.27.3"), calls, "--json")
    assert shown == len(events) and shown + lost == calls, err
    assert shown > calls // 2  # the new decoder went on


def test_decoder_killed_mid_flood_leaves_a_whole_chrome_file(root: str, tmp_path) -> None:
    """The events' output is written by goprobe-tui itself, not by the decoder: a decoder killed
    mid-write leaves no half record, and its successor starts no second Chrome header."""
    _newest()
    calls = 200_000
    out = tmp_path / "calls.trace.json"
    _events, err, shown, lost = _decoder_killed_mid_flood(tc.build("hot", "1.27.3"), calls, "-o", str(out))
    doc = json.loads(out.read_text())
    calls_in_file = [e for e in doc["traceEvents"] if e.get("name") == "main.Work"]
    assert len(calls_in_file) == shown and shown + lost == calls, err
    assert doc["otherData"]["lost_events"] == lost


def test_max_rate_detaches_a_probe_that_fires_too_fast(root: str) -> None:
    _newest()
    hot = tc.build("hot", "1.27.3")
    run = TraceRun("--max-rate", "1000", str(hot), "main.Work", "main.main")
    flood = subprocess.Popen([str(hot), "3000000", "2"], stdout=subprocess.DEVNULL)
    note = _stderr_until(run, "above --max-rate", timeout=30)
    assert note.startswith("goprobe-tui: main.Work fired") and "detached" in note
    assert flood.wait(120) == 0  # free again: the probe is gone
    assert run.proc.poll() is None  # main.main is slow: still traced
    run.proc.send_signal(signal.SIGINT)
    run.finish(timeout=60)  # reads what was printed
    assert run.proc.returncode == 0
    assert goprobe_leftovers(root) == []


def test_trace_pid_stops_when_the_process_exits(root: str) -> None:
    _newest()
    binary = tc.build("hostile", "1.27.3")
    target = subprocess.Popen(
        [str(binary), "stdin", "1500"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    run = TraceRun("--json", "--pid", str(target.pid), "main.Größe")
    target.communicate("go\n", timeout=30)  # Größe runs once the probe is in place
    assert target.returncode == 0
    _stderr_until(run, f"process {target.pid} exited", timeout=60)
    events, err = run.finish(timeout=30)
    assert run.proc.returncode == 0 and [e["function"] for e in events] == ["main.Größe"], err
