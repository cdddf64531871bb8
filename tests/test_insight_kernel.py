"""Insight on the real kernel: per-function statistics (`stats`) and kernel-side conditions
(`--where`), on DWARF and stripped builds."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from goprobe_tui.errors import BadInput
from tests.conftest import need
from tests.kernel_helpers import TraceRun, goprobe_leftovers, probes_of, run_program, tracefs_state
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
NEWEST = "1.27.3"
MS = 1_000_000


def _stats(variant: str, mode: str, *patterns: str) -> dict[str, dict]:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST, variant)
    run = TraceRun("--json", str(binary), *patterns, command="stats")
    assert run_program(binary, mode).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    rows, err = run.finish()
    assert run.proc.returncode == 0, err
    return {r["function"]: r for r in rows}


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_stats_latency_percentiles_and_histogram(root: str, variant: str) -> None:
    """Sleepy sleeps 10 ms x20 and 50 ms x5."""
    sleepy = _stats(variant, "sleep", "main.Sleepy")["main.Sleepy"]
    assert (sleepy["calls"], sleepy["returns"], sleepy["unpaired_returns"]) == (25, 25, 0)
    assert 10 * MS <= sleepy["p50_ns"] < 15 * MS
    assert 50 * MS <= sleepy["max_ns"] < 70 * MS and 50 * MS <= sleepy["p99_ns"] <= sleepy["max_ns"]
    assert sum(n for _lo, _hi, n in sleepy["histogram"]) == 25
    buckets = {lo: n for lo, _hi, n in sleepy["histogram"]}
    # 8.4-16.8 ms and 33.6-67.1 ms; a sleep is never shorter than asked, but a loaded machine
    # can wake a 10 ms sleeper late (19 of 20 in its bucket once, with two suites on 2 CPUs)
    assert sum(n for lo, n in buckets.items() if lo < 1 << 23) == 0
    assert buckets.get(1 << 23, 0) >= 15 and sum(n for lo, n in buckets.items() if lo >= 1 << 25) >= 5
    slowest = sleepy["slowest"]
    assert slowest["latency_ns"] == sleepy["max_ns"]
    assert slowest["args"] == ({"ms": 50} if variant == "default" else {"arg0": 50})
    assert sleepy["errors"] is None  # Sleepy has no error result


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_stats_count_errors_where_the_result_type_is_known(root: str, variant: str) -> None:
    """Fallible returns an error every 4th call of 100; stripped, its results are unknown."""
    fallible = _stats(variant, "errors", "main.Fallible")["main.Fallible"]
    assert (fallible["calls"], fallible["returns"]) == (100, 100)
    assert fallible["errors"] == (25 if variant == "default" else None)


def test_stats_give_every_attached_function_a_row_even_with_no_calls(root: str) -> None:
    """Only main.Fallible is called (mode errors): main.Countdown and main.Sleepy still get
    their row, with 0 calls, in JSON and in text."""
    rows = _stats("default", "errors", "main.Fallible", "main.Countdown", "main.Sleepy")
    assert {f: r["calls"] for f, r in rows.items()} == {
        "main.Fallible": 100,
        "main.Countdown": 0,
        "main.Sleepy": 0,
    }
    assert rows["main.Countdown"]["p50_ns"] is None and rows["main.Countdown"]["errors"] is None
    binary = tc.build("insight", NEWEST)
    run = TraceRun(str(binary), "main.Countdown", "main.Sleepy", command="stats")
    run.proc.send_signal(signal.SIGINT)
    out = run.proc.communicate(timeout=60)[0]
    assert "no calls recorded" not in out
    assert [ln.split()[:2] for ln in out.splitlines()[1:]] == [["main.Countdown", "0"], ["main.Sleepy", "0"]]


def _filters(root: str, pid: int) -> list[str]:
    """The filters in force in the instance of the session `pid` started."""
    out = []
    for inst in glob.glob(os.path.join(root, "instances", f"goprobe_{pid}_*")):
        # its own group only: other sessions' groups show here too, and come and go
        for path in glob.glob(os.path.join(inst, "events", f"goprobe_{pid}_*", "*", "filter")):
            try:
                text = Path(path).read_text().strip()
            except FileNotFoundError:
                continue
            if text != "none":
                out.append(text)
    return out


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_where_records_exactly_the_matching_calls(root: str, variant: str) -> None:
    """Check(i, path) is called with i = 0..999; the kernel drops the others."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST, variant)
    where = "i >= 990" if variant == "default" else "arg0 >= 990"
    run = TraceRun("--json", "--ret", "--where", where, str(binary), "main.Check")
    assert _filters(root, run.proc.pid) == ["c0 >= 990"]  # in the kernel while attached
    assert run_program(binary, "check").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    entries = [e for e in events if e["kind"] == "entry"]
    first = "i" if variant == "default" else "arg0"
    assert sorted(e["args"][first] for e in entries) == list(range(990, 1000)), err
    returns = [e for e in events if e["kind"] == "return"]
    assert len(returns) == 10 and all(e["latency_ns"] is not None for e in returns)
    assert goprobe_leftovers(root) == []


def test_where_on_strings_and_results(root: str) -> None:
    """A string glob (its bytes checked by the decoder: the literals' pages are never touched
    by the program, so the kernel cannot read them), and a condition on the error result."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    run = TraceRun("--json", "--where", 'path ~ "/api/*" && i < 10', str(binary), "main.Check")
    assert run_program(binary, "check").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, _err = run.finish()
    assert [(e["args"]["i"], e["args"]["path"]) for e in events] == [
        (0, "/api/users"),
        (2, "/api/orders"),
        (4, "/api/users"),
        (6, "/api/orders"),
        (8, "/api/users"),
    ]
    run = TraceRun("--json", "--ret", "--where", "err != nil", str(binary), "main.Fallible")
    assert run_program(binary, "errors").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, _err = run.finish()
    returns = [e for e in events if e["kind"] == "return"]
    assert len(returns) == 25 and all(e["returns"]["~r1"] is not None for e in returns)


def test_where_in_recursion_pairs_by_stack_depth(root: str) -> None:
    """Inner(2) -> Inner(1) -> Inner(0) on 3 goroutines: only depth == 1 is recorded, and each
    return pairs with its own entry (not an outer call's)."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    run = TraceRun("--json", "--ret", "--where", "depth == 1", str(binary), "main.Inner")
    assert run_program(binary, "tree").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, _err = run.finish()
    assert [e["args"] for e in events if e["kind"] == "entry"] == [{"depth": 1}] * 3
    returns = [e for e in events if e["kind"] == "return"]
    assert [e["returns"] for e in returns] == [{"~r0": 1}] * 3  # Inner(1) returns 1
    assert all(e["latency_ns"] is not None for e in returns)


WORDS = ["bob", "bad", "héllo", "日本語", "]", "a", "b", "/api/users", "/apx", "", "x.css", "日本"]


@pytest.mark.parametrize(
    ("where", "meaning"),
    [
        ('path == "héllo"', lambda s: s == "héllo"),
        ('path == "日本語"', lambda s: s == "日本語"),
        ('!(path == "bob")', lambda s: s != "bob"),
        ('!(path != "bob")', lambda s: s == "bob"),
        ('path ~ "[]ab]"', lambda s: s in ("]", "a", "b")),
        ('!(path ~ "/api/*") && path != ""', lambda s: not s.startswith("/api/") and s != ""),
        ('path ~ "*.css" || path ~ "日*"', lambda s: s.endswith(".css") or s.startswith("日")),
        ('path ~ "?" && !(path == "a")', lambda s: len(s) == 1 and s != "a"),
    ],
)
def test_string_conditions_on_the_program_s_own_values(root: str, where: str, meaning) -> None:
    """Each condition selects exactly the calls its Go meaning selects, Go lengths in bytes."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    run = TraceRun("--json", "--where", where, str(binary), "main.Check")
    assert run_program(binary, "strings").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    got = sorted(e["args"]["path"] for e in events)
    assert got == sorted(w for w in WORDS for _ in range(10) if meaning(w)), err


def test_conditions_for_some_functions(root: str) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    run = TraceRun(
        "--json",
        "--where",
        "main.Check: i >= 995",
        "--where",
        "main.Fallible: i < 2",
        str(binary),
        "main.Check",
        "main.Fallible",
    )
    assert run_program(binary, "errors").returncode == 0
    assert run_program(binary, "check").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    got = sorted((e["function"], e["args"]["i"]) for e in events)
    want = [("main.Check", i) for i in range(995, 1000)] + [("main.Fallible", 0), ("main.Fallible", 1)]
    assert got == want, err
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            "trace",
            "--where",
            "main.Nope: i > 1",
            str(binary),
            "main.Check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "no traced function matches main.Nope" in out.stderr


@pytest.mark.parametrize("where", ["i >>= 3", "q == 3", 'path < "x"', "i ==", "", "(" * 400 + "i > 1"])
def test_a_bad_condition_is_one_line_and_exit_2(root: str, where: str) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    proc = subprocess.Popen(
        [sys.executable, "-m", "goprobe_tui", "trace", "--where", where, str(binary), "main.Check"],
        stderr=subprocess.PIPE,
        text=True,
    )
    err = proc.communicate(timeout=60)[1]
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--where" in lines[0], err
    assert probes_of(root, proc.pid) == [] and not any(
        f"goprobe_{proc.pid}_" in i for i in tracefs_state(root)[1]
    )


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_stack_expands_inlined_callers(root: str, variant: str) -> None:
    """A calls B (inlined) calls C; D calls C. The frame walk misses the direct caller at a
    function's first instruction: the return address fills it in, and the inline tree gives B."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST, variant)
    run = TraceRun("--json", "--stack", "--ret", str(binary), "main.C")
    assert run_program(binary, "stack").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    stacks = [[(f["function"], f["inlined"]) for f in e["stack"]] for e in events]
    assert len(stacks) == 4, err
    via_a = [("main.B", True), ("main.A", False), ("main.main", False)]
    via_d = [("main.D", False), ("main.main", False)]
    assert [s[:3] for s in stacks[:2]] == [via_a, via_a]  # entry and return
    assert [s[:2] for s in stacks[2:]] == [via_d, via_d]
    assert all(s[-1] == ("runtime.goexit", False) for s in stacks)
    assert events[0]["stack"][0]["file"].endswith("main.go") and events[0]["stack"][0]["line"] > 0


def test_stats_count_direct_callers(root: str) -> None:
    c = _stats("default", "stack", "main.C")["main.C"]
    assert sorted(map(tuple, c["callers"])) == [("main.B", 1), ("main.D", 1)]


def test_a_refused_filter_leaves_the_previous_one_in_force(root: str) -> None:
    """The kernel drops an event's filter when a new one fails to parse: it is written back."""
    from goprobe_tui.engine.attach import Attacher
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.tracefs.errors import ProbeError
    from goprobe_tui.tracefs.session import ProbeSession

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    with GoBinary.open(str(binary)) as b, ProbeSession() as session:
        att = Attacher(b, session, where=("i >= 990",)).attach(b.find("main.Check"))
        (ev,) = att.events
        path = Path(session.instance) / "events" / session.group / ev.name / "filter"
        assert path.read_text().strip() == "c0 >= 990"
        with pytest.raises(ProbeError) as refused:
            session.set_filter(ev, "c0 >>= 3")
        assert "parse_error" in str(refused.value.reason) or "refused" in str(refused.value)
        assert path.read_text().strip() == "c0 >= 990" and ev.filter == "c0 >= 990"
    assert goprobe_leftovers(root) == []


def test_live_statistics_catch_up_when_the_events_stop(root: str) -> None:
    """The TUI's snapshots come from the decoder: when calls stop, a heartbeat still brings the
    final counts (they used to stay at what the last busy moment had)."""
    import time

    from goprobe_tui.engine.controller import TraceController
    from goprobe_tui.engine.options import EngineOptions
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.tracefs.session import ProbeSession

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    with GoBinary.open(str(binary)) as b:
        controller = TraceController(b, ProbeSession(), options=EngineOptions(statistics=True))
        try:
            assert controller.stream.wait_ready() is None
            controller.attach(b.find("main.Sleepy"), returns=True)
            assert run_program(binary, "sleep").returncode == 0
            # A snapshot taken in a later whole second than the last call counts every call in
            # its per-second rates and says 0 calls/s; one from the busy moment cannot. Heartbeats
            # keep coming for a minute after the last event, so the wait ends on the condition
            # itself (a loaded machine may deliver the first such snapshot late).
            deadline = time.monotonic() + 50
            stats: dict = {}
            while time.monotonic() < deadline:
                stats = {s.function: s for s in controller.insight()}
                row = stats.get("main.Sleepy")
                if row is not None and sum(row.rate) == 25 and row.calls_per_s == 0:
                    break
                time.sleep(0.1)
            sleepy = stats["main.Sleepy"]
            assert (sleepy.calls, sleepy.returns) == (25, 25)
            assert sum(sleepy.rate) == 25 and sleepy.calls_per_s == 0
        finally:
            controller.close()
    assert goprobe_leftovers(root) == []


@pytest.mark.parametrize("variant", ["default", "strip"])
def test_stats_by_a_parameter_give_a_row_per_value(root: str, variant: str) -> None:
    """`stats --by path`: per URL path, like a bpftrace map keyed by an argument; stripped, the
    same parameter is arg1 (a string: ArgInfo groups its two words)."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST, variant)
    key = "path" if variant == "default" else "arg1"
    run = TraceRun("--json", "--by", key, str(binary), "main.Check", command="stats")
    assert run_program(binary, "check").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    rows, err = run.finish()
    assert run.proc.returncode == 0, err
    (total,) = [r for r in rows if r.get("total")]
    rows = [r for r in rows if not r.get("total")]
    assert total["calls"] == sum(r["calls"] for r in rows) == 1000, err
    by_key = {str(r["key"]): r for r in rows}
    paths = ["/api/users", "/static/x.css", "/api/orders", "/healthz"]
    if variant == "strip":  # a string without DWARF: its words, not its text
        assert len(by_key) == 4 and all(r["calls"] == 250 for r in rows), err
        return
    assert sorted(by_key) == sorted(paths), err
    for r in rows:
        assert r["function"] == "main.Check" and r["calls"] == 250 and r["returns"] == 250
        assert r["p50_ns"] is not None and r["slowest"]["args"]["path"] == r["key"]


def test_stats_by_a_parameter_nobody_has_is_one_line_and_exit_2() -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "stats", "--by", "nope", str(binary), "main.Check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--by nope: no traced function has a parameter nope" in done.stderr


def test_stack_depth_walks_more_frames_than_the_kernel(root: str) -> None:
    """--stack-depth 13: 13 frames of a 21-deep recursion (the kernel's walk gives 7 and the
    direct caller), and a shallow call's walk ends where its goroutine began."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("recurse", NEWEST)
    stacks = {}
    for flag in ("--stack-depth=13", "--stack"):
        run = TraceRun("--json", flag, str(binary), "main.Recurse")
        assert run_program(binary, "20").returncode == 0
        run.proc.send_signal(signal.SIGINT)
        events, err = run.finish()
        stacks[flag] = {e["args"]["n"]: [f["function"] for f in e["stack"]] for e in events}
    deep, kernel = stacks["--stack-depth=13"], stacks["--stack"]
    assert deep[0] == ["main.Recurse"] * 13, err
    assert kernel[0] == ["main.Recurse"] * 8  # the direct caller and the kernel's 7 (its record: 8)
    assert deep[19] == kernel[19] == ["main.Recurse", "main.main.func1", "runtime.goexit"]
    assert deep[20] == ["main.main.func1", "runtime.goexit"]


def test_stack_depth_beyond_a_probes_walk_uses_perf_for_every_process(root: str) -> None:
    """--stack-depth 32 without --pid: perf events on every CPU (every process, as tracefs),
    their callchains as deep as asked."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("recurse", NEWEST)
    run = TraceRun("--json", "--stack-depth", "32", str(binary), "main.Recurse")
    assert run_program(binary, "40").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    stacks = {e["args"]["n"]: [f["function"] for f in e["stack"]] for e in events}
    assert stacks[0] == ["main.Recurse"] * 32, (len(stacks.get(0, [])), err)
    assert stacks[39] == ["main.Recurse", "main.main.func1", "runtime.goexit"]


def test_stats_by_a_field_not_read_yet_reads_it(root: str) -> None:
    """The TUI's K on r.URL.Path, which no --field reads: the function is attached again with
    the field read, and its calls are keyed by it (every call went under "(not read)")."""
    import time

    from goprobe_tui.engine.controller import TraceController
    from goprobe_tui.engine.options import EngineOptions
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.tracefs.session import ProbeSession

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("values", NEWEST)
    with GoBinary.open(str(binary)) as b:
        controller = TraceController(b, ProbeSession(), options=EngineOptions(statistics=True))
        try:
            assert controller.stream.wait_ready() is None
            controller.attach(b.find("main.Handle"), returns=False)
            with pytest.raises(BadInput, match="no attached function has it"):
                controller.stats_by("nope.Field")
            changed = controller.stats_by("r.URL.Path")
            assert [a.function.key for a in changed] == ["main.Handle"]
            assert run_program(binary).returncode == 0
            deadline = time.monotonic() + 50
            keys: set = set()
            while time.monotonic() < deadline and keys != {"/healthz", "<nil pointer on the way>"}:
                keys = {str(s.key) for s in controller.insight() if s.calls and not s.total}
                time.sleep(0.2)
            assert keys == {"/healthz", "<nil pointer on the way>"}, controller.insight()
        finally:
            controller.close()
    assert goprobe_leftovers(root) == []
