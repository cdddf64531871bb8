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


MS = 1_000_000
MARGIN = MS  # the program's own clock and the probes' see a call within far less of each other


def _took(stdout: str) -> list[int]:
    """Each Step call's length as the program measured it (ns): under load a 10 ms sleep can
    take over 30 ms, and then it is a slow call, truly."""
    took = [int(x) for x in stdout.splitlines()[1].strip("[]").split()]
    assert len(took) == 25
    return took


def _slower(took: list[int], limit_ns: int) -> tuple[set[int], set[int]]:
    """(calls surely slower than the limit, calls that may be: within MARGIN of it)."""
    return {i for i, d in enumerate(took) if d > limit_ns + MARGIN}, {
        i for i, d in enumerate(took) if d > limit_ns - MARGIN
    }


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
    sure, maybe = _slower(_took(done.stdout), 30 * MS)
    assert set(SLOW) <= sure  # the 50 ms calls, always
    assert [e["kind"] for e in events] == ["return"] * len(events), events
    assert all(e["pid"] == events[0]["pid"] for e in events)
    shown = [next(iter(e["args"].values())) for e in events]  # i (DWARF) or arg0 (stripped)
    assert shown == sorted(shown) and sure <= set(shown) <= maybe, (shown, sure, maybe)
    for e, i in zip(events, shown, strict=True):
        ms = 50 if i in SLOW else 10
        assert e["function"] == "main.Step" and e["latency_ns"] > 30 * MS, e
        if variant == "default":  # DWARF names them; stripped: the ABI's registers, by position
            assert e["args"] == {"i": i, "ms": ms} and list(e["returns"].values()) == [i * ms], e
        else:
            assert list(e["args"].values()) == [i, ms], e
    faster = 25 - len(events)
    assert run.status["faster_calls"] == faster and run.status["no_latency"] == 0, run.status
    assert f"{faster} faster calls not shown" in err, err


@pytest.mark.kernel
def test_the_text_line_is_the_whole_call(root: str, tmp_path) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    slow = private_copy(tc.build("slow", NEWEST), tmp_path)
    run = TraceRun("--slower-than", "49ms", "--count", "1", str(slow), "main.Step")
    done = run_program(slow)
    assert done.returncode == 0
    out, err = run.proc.communicate(timeout=60)
    (line,) = out.splitlines()
    m = re.search(r"<- main\.Step\(i=(\d+), ms=(\d+)\) = \(~r0=(\d+)\) [\d.]+ms$", line)
    assert m, line
    i, ms, r = (int(g) for g in m.groups())
    sure, maybe = _slower(_took(done.stdout), 49 * MS)
    # the first call slower than 49 ms (i=4 on a quiet machine), with its arguments and result
    assert i in maybe and not {j for j in sure if j < i} and r == i * ms, (line, sure, maybe)
    # at least the calls before it (those decoded while --count stopped the trace count too)
    faster = re.search(r"(\d+) faster calls not shown", err)
    assert faster and int(faster[1]) >= i, err


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
    done = run_program(slow)
    assert done.returncode == 0
    run.proc.send_signal(2)
    rows, err = run.finish()
    sure, maybe = _slower(_took(done.stdout), 30 * MS)
    (step,) = [r for r in rows if r["function"] == "main.Step"]
    assert (step["calls"], step["returns"]) == (25, 25), (step, err)
    assert len(sure) <= step["slower"] <= len(maybe), (step, sure, maybe)
    assert step["p50_ns"] < 30_000_000 < step["max_ns"]  # statistics of every call, as without it
