"""Inlined calls on the real kernel: attaching a function attaches its inlined copies, and the
counts equal what tests/go/inline says it ran (loops, branches, nested inlining, a function
inlined twice into one caller, a jump table, one that exists only inlined)."""

from __future__ import annotations

import re
import signal

import pytest

from tests.conftest import need
from tests.kernel_helpers import TraceRun, goprobe_leftovers, run_program
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
FUNCTIONS = ("main.Square", "main.only", "main.a", "main.b", "main.sumTo")
OUT_OF_LINE = {"main.Square": 7}  # calls through the func value `square`


def _program(version: str, variant: str):
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    return tc.build("inline", version, variant)


def _ran(out: str) -> dict[str, int]:
    """What the program counted itself: `calls Square=1032 only=30 ...`."""
    return {f"main.{k}": int(v) for k, v in re.findall(r"(\w+)=(\d+)", out) if k != "sink"}


@pytest.mark.parametrize(("version", "variant"), [("1.19", "default"), ("1.19", "strip"),
                                                  ("1.27.3", "default"), ("1.27.3", "strip"),
                                                  ("1.27.3", "pie"), ("1.27.3", "cgo")])
def test_stats_count_every_call_inlined_or_not(root: str, version: str, variant: str) -> None:
    binary = _program(version, variant)
    run = TraceRun("--json", str(binary), *FUNCTIONS, command="stats")
    proc = run_program(binary)
    assert proc.returncode == 0
    run.proc.send_signal(signal.SIGINT)
    rows, err = run.finish()
    assert run.proc.returncode == 0, err
    stats = {r["function"]: r for r in rows}
    ran = _ran(proc.stdout)
    assert {f: stats[f]["calls"] for f in FUNCTIONS} == ran, err
    for f in FUNCTIONS:
        assert stats[f]["inlined"] == ran[f] - OUT_OF_LINE.get(f, 0)
    assert "0 lost" in err
    assert goprobe_leftovers(root) == []


def test_inlined_events_say_where_and_inlined_only_functions_trace_by_name(root: str) -> None:
    binary = _program("1.27.3", "default")
    run = TraceRun("--json", str(binary), "main.Square", "main.a")
    proc = run_program(binary, "10")
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert run.proc.returncode == 0, err
    ran = _ran(proc.stdout)
    square = [e for e in events if e["function"] == "main.Square"]
    assert len(square) == ran["main.Square"]
    inlined = [e for e in square if "inlined_in" in e]
    assert len(inlined) == ran["main.Square"] - 7
    loop = [e for e in inlined if e["inlined_in"] == "main.Loop"]
    assert len(loop) == 10 and all(e["file"].endswith("inline/main.go") for e in loop)
    assert {e["line"] for e in loop} == {58}  # `s += Square(i)` in Loop
    assert all(e["latency_ns"] is None and e["kind"] == "entry" for e in inlined)
    nested = [e for e in events if e["function"] == "main.a"]
    assert len(nested) == ran["main.a"]
    assert {tuple(e["inlined_chain"]) for e in nested} == {("main.b", "main.C")}
    # a function that exists only inlined: found and traced by its name
    run = TraceRun(str(binary), "main.only")
    assert "1 function" in "".join(run.stderr_lines)
    proc = run_program(binary)
    run.proc.send_signal(signal.SIGINT)
    out, err = run.proc.communicate(timeout=60)
    lines = [ln for ln in out.splitlines() if "-> main.only(" in ln]
    assert len(lines) == _ran(proc.stdout)["main.only"]
    assert all("inlined in main.Branch" in ln or "inlined in main.Switch" in ln for ln in lines)
    assert goprobe_leftovers(root) == []


def test_a_condition_leaves_inlined_calls_out_and_says_so(root: str) -> None:
    """Their arguments are not read: a condition cannot be checked there."""
    binary = _program("1.27.3", "default")
    run = TraceRun("--json", "--where", "x > 3", str(binary), "main.Square")
    said = "".join(run.stderr_lines)
    proc = run_program(binary)
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert "not checked at its 6 inlined calls" in said + err
    assert events and all("inlined_in" not in e and e["args"]["x"] > 3 for e in events)
    assert len(events) == 3 == sum(1 for x in range(7) if x > 3)
    assert proc.returncode == 0
