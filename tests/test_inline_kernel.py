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


@pytest.mark.parametrize(
    ("version", "variant"),
    [
        ("1.19", "default"),
        ("1.19", "strip"),
        ("1.27.3", "default"),
        ("1.27.3", "strip"),
        ("1.27.3", "pie"),
        ("1.27.3", "cgo"),
    ],
)
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


def test_arguments_of_inlined_calls_come_from_dwarf_where_it_says(root: str) -> None:
    """Where DWARF gives a parameter's place at the probe, its value is read; where it does
    not, it is unavailable (never guessed); stripped, there are none and the event says so."""
    binary = _program("1.27.3", "default")
    run = TraceRun("--json", str(binary), "main.b", "main.a", "main.Square")
    run_program(binary, "3")
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert run.proc.returncode == 0, err
    b = sorted(e["args"]["x"] for e in events if e["function"] == "main.b")
    assert b == [0, 1, 2, 3]  # C(i) for i < 4 inlines b(i)
    a = [e["args"]["x"] for e in events if e["function"] == "main.a"]
    assert sorted(x for x in a if x != "<unavailable>") == [0, 1, 2, 3]  # a(x); a(x+1) has none
    twice = [e["args"]["x"] for e in events if e.get("inlined_in") == "main.Twice"]
    assert sorted(twice, key=str) == [5, "<unavailable>"]  # Square(x) + Square(x+1), x = 5
    branch = [e["args"]["x"] for e in events if e.get("inlined_in") == "main.Branch"]
    assert branch == list(range(0, 30, 3))  # Branch(30): Square(i) where i%3 == 0
    stripped = _program("1.27.3", "strip")
    run = TraceRun("--json", str(stripped), "main.b")
    run_program(stripped, "3")
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert len(events) == 4 and all(e["args"] == {} and "without DWARF" in e["args_note"] for e in events)
    assert goprobe_leftovers(root) == []


def test_a_condition_is_checked_where_its_names_can_be_read(root: str) -> None:
    """With DWARF, `x > 3` is checked at the inlined calls whose x is readable there; the
    others are left out, and the note says how many and why. Stripped: all of them."""
    binary = _program("1.27.3", "default")
    run = TraceRun("--json", "--where", "x > 3", str(binary), "main.Square")
    said = "".join(run.stderr_lines)
    proc = run_program(binary)
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert proc.returncode == 0
    assert events and all(e["args"]["x"] > 3 for e in events)
    out_of_line = [e for e in events if "inlined_in" not in e]
    assert sorted(e["args"]["x"] for e in out_of_line) == [4, 5, 6]
    inlined = sorted((e["inlined_in"], e["args"]["x"]) for e in events if "inlined_in" in e)
    assert [x for _f, x in inlined if _f == "main.Branch"] == [i for i in range(0, 30, 3) if i > 3]
    assert ("main.Twice", 5) in inlined
    assert "4 of its 6 inlined calls not traced (4 where --where 'x > 3' cannot be read)" in said + err
    stripped = _program("1.27.3", "strip")
    run = TraceRun("--json", "--where", "arg0 > 3", str(stripped), "main.Square")
    said = "".join(run.stderr_lines)
    run.proc.send_signal(signal.SIGINT)
    run.finish()
    assert "6 of its 6 inlined calls not traced" in said


def test_arguments_of_inlined_calls_on_go_1_19(root: str) -> None:
    """DWARF 4 location lists (Go 1.19) read as DWARF 5 ones (Go 1.27) are."""
    binary = _program("1.19", "default")
    run = TraceRun("--json", str(binary), "main.b", "main.Square")
    run_program(binary, "3")
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert run.proc.returncode == 0, err
    assert sorted(e["args"]["x"] for e in events if e["function"] == "main.b") == [0, 1, 2, 3]
    branch = [e["args"]["x"] for e in events if e.get("inlined_in") == "main.Branch"]
    assert branch == list(range(0, 30, 3))


@pytest.mark.parametrize(
    ("version", "variant"),
    [("1.19", "default"), ("1.27.3", "default"), ("1.27.3", "strip"), ("1.27.3", "pie")],
)
def test_a_line_in_a_loop_fires_once_per_iteration_with_its_locals(
    root: str, version: str, variant: str
) -> None:
    """`hist[i&7]++` in Sums runs 50 times (Sums(50)): 50 line events, each with the loop
    variable's value where DWARF gives it; stripped, no locals and the event says so."""
    binary = _program(version, variant)
    line = next(
        n
        for n, text in enumerate((tc.GO_SOURCES / "inline" / "main.go").read_text().splitlines(), 1)
        if text.strip() == "hist[i&7]++"
    )
    run = TraceRun("--json", str(binary), f"inline/main.go:{line}")
    assert run_program(binary, "3").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert run.proc.returncode == 0, err
    assert len(events) == 50 and all(e["kind"] == "line" for e in events)
    assert {(e["function"], e["line"], e["probe"]) for e in events} == {
        ("main.Sums", line, f"main.go:{line}")
    }
    if variant == "strip":
        assert all(e["locals"] == {} and "no DWARF" in e["locals_note"] for e in events)
    else:
        assert [e["locals"]["i"] for e in events] == list(range(50))
    assert goprobe_leftovers(root) == []


LOOPS = ("main.clamp", "main.at", "main.(*scanner).accept", "main.(*node).ready", "main.weight")


@pytest.mark.parametrize(
    ("version", "variant"),
    [
        ("1.19", "default"),
        ("1.21.13", "default"),
        ("1.24.11", "default"),
        ("1.27.3", "default"),
        ("1.27.3", "strip"),
    ],
)
def test_helpers_inlined_into_loops_are_counted_whole(root: str, version: str, variant: str) -> None:
    """tests/go/loops: a helper whose inlined code is entered at more than one place (panic
    calls at the function's end, an argument loaded early, a loop's condition, a call behind
    a nil check) is still probed once per call; `clamp` in a loop said 69 of 88 calls."""
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    binary = tc.build("loops", version, variant)
    run = TraceRun("--json", str(binary), *LOOPS, command="stats")
    assert not any("not traced" in line for line in run.stderr_lines), run.stderr_lines
    proc = run_program(binary)
    assert proc.returncode == 0
    run.proc.send_signal(signal.SIGINT)
    rows, err = run.finish()
    ran = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", proc.stdout) if k != "sink"}
    stats = {r["function"].rsplit(".", 1)[-1]: r["calls"] for r in rows}
    assert stats == ran, err
    assert all(r.get("untraced_inlined_sites", 0) == 0 for r in rows), rows


def _line_of(program: str, text: str) -> int:
    return next(
        n
        for n, line in enumerate((tc.GO_SOURCES / program / "main.go").read_text().splitlines(), 1)
        if line.strip() == text
    )


@pytest.mark.parametrize("version", ["1.19", "1.21.13", "1.24.11", "1.27.3"])
def test_a_statement_the_compiler_split_fires_once_per_execution(root: str, version: str) -> None:
    """`acc += j % 13` begins twice in its block (a register move lands in its middle): 33
    executions gave 66 events. And every local in scope is listed, read or <unavailable>."""
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    binary = tc.build("loops", version)
    split, mul = _line_of("loops", "acc += j % 13"), _line_of("loops", "s += i * k")
    run = TraceRun("--json", str(binary), f"loops/main.go:{split}", f"loops/main.go:{mul}")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    by_line = {line: [e for e in events if e["line"] == line] for line in (split, mul)}
    assert len(by_line[split]) == len(range(7, 337, 10)) and len(by_line[mul]) == 337 // 7, err
    for e in by_line[mul]:
        assert set(e["locals"]) >= {"n", "k", "s", "i"}, e  # `j` is out of scope here
        assert "j" not in e["locals"]
        assert sorted(e.get("unavailable", [])) == sorted(
            k for k, v in e["locals"].items() if v == "<unavailable>"
        )
    assert {e["locals"]["k"] for e in by_line[mul]} == {3}
