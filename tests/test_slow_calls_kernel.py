"""`trace --slower-than`: only the calls slower than a Go duration, each printed once at its
return with its arguments, results and latency; the faster ones counted, never silently gone.
tests/go/slow calls Step 20 times for 10 ms and 5 times (every fifth) for 50 ms."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import need
from tests.kernel_helpers import TraceRun, private_copy, run_program
from tests.support import toolchains as tc

NEWEST = "1.27.3"
SLOW = [4, 9, 14, 19, 24]  # the calls that sleep 50 ms


@pytest.mark.kernel
@pytest.mark.parametrize("variant", ["default", "strip"])
def test_only_the_slow_calls_are_printed_with_their_arguments(root: str, tmp_path, variant: str) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST, variant), tmp_path)
    run = TraceRun("--json", "--slower-than", "30ms", str(slow), "main.Step")
    done = run_program(slow)
    assert done.returncode == 0, done.stderr
    run.proc.send_signal(2)
    events, err = run.finish()
    assert [e["kind"] for e in events] == ["return"] * 5, events
    assert all(e["pid"] == events[0]["pid"] for e in events)
    for e, i in zip(events, SLOW, strict=True):
        assert e["function"] == "main.Step" and e["latency_ns"] >= 50_000_000, e
        if variant == "default":  # DWARF names them; stripped: the ABI's registers, by position
            assert e["args"] == {"i": i, "ms": 50} and list(e["returns"].values()) == [i * 50], e
        else:
            assert list(e["args"].values()) == [i, 50], e
    assert run.status["faster_calls"] == 20 and run.status["no_latency"] == 0, run.status
    assert "20 faster calls not shown" in err, err


@pytest.mark.kernel
def test_the_text_line_is_the_whole_call(root: str, tmp_path) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST), tmp_path)
    run = TraceRun("--slower-than", "49ms", "--count", "1", str(slow), "main.Step")
    assert run_program(slow).returncode == 0
    out, err = run.proc.communicate(timeout=60)
    (line,) = out.splitlines()
    assert "<- main.Step(i=4, ms=50) = (~r0=200) 5" in line, line  # 50.xms
    # at least the 4 before it (those decoded while --count stopped the trace are counted too)
    faster = re.search(r"(\d+) faster calls not shown", err)
    assert faster and int(faster[1]) >= 4, err


@pytest.mark.parametrize("bad", ["0", "-5ms", "fast", "30"])
def test_a_bad_duration_is_one_line_exit_2(bad: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "trace", "--slower-than", bad, "/bin/true", "main.F"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--slower-than" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2, done.stderr  # usage line + the reason


@pytest.mark.kernel
def test_stats_counts_each_functions_slow_calls_and_the_rest_unchanged(root: str, tmp_path) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST), tmp_path)
    run = TraceRun("--json", "--slower-than", "30ms", str(slow), "main.Step", command="stats")
    assert run_program(slow).returncode == 0
    run.proc.send_signal(2)
    rows, err = run.finish()
    (step,) = [r for r in rows if r["function"] == "main.Step"]
    assert (step["calls"], step["returns"], step["slower"]) == (25, 25, 5), (step, err)
    assert step["p50_ns"] < 30_000_000 < step["max_ns"]  # statistics of every call, as without it
