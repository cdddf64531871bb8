"""arm64 for real: probes planned here by the real attach (`trace --emit-script`), run by the
arm64 kernel of a qemu-system-aarch64 VM on arm64 Go builds, and their records decoded here by
the real decoder (`replay`). One boot serves every case (tests/support/arm64_vm.py).

Nothing runs outside the VM that a real attach would not run: here goprobe-tui plans and
decodes; in the VM busybox sh writes the script's commands to tracefs and runs the program.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.kernel_helpers import json_events
from tests.support import arm64_vm
from tests.support import toolchains as tc
from tests.support.go_dump import held_to_go_dump

pytestmark = pytest.mark.arm64

VERSIONS = ("1.21.13", "1.27.3")
DUMP_VERSIONS = ("1.19", "1.21.13", "1.24.11", "1.27.3")  # goroutines: every table's version
DEPTH = 3000  # the recursion: its stack grows (and is copied) many times over


def _goprobe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goprobe_tui", *args], capture_output=True, text=True, timeout=300
    )


# goprobe-tui itself on the arm64 machine (its Python, no script): (name, program, variant,
# goprobe-tui arguments, program arguments, program stdin)
LIVE = [
    (
        "live_divide_1_27_3_dwarf",
        "divide",
        "arm64",
        ("trace", "--json", "--ret", "--stack", "@BIN@", "main.Divide"),
        (),
        "",
    ),
    (
        "live_divide_1_21_13_stripped",
        "divide",
        "arm64-sw",
        ("trace", "--json", "--ret", "--stack", "@BIN@", "main.Divide"),
        (),
        "",
    ),
    (
        "live_recurse_1_27_3",
        "recurse",
        "arm64",
        ("trace", "--json", "--ret", "@BIN@", "main.Recurse"),
        ("1000",),
        "",
    ),
    # --pid through perf: the program runs first, waiting for its "go"
    (
        "live_pid_spawn_1_27_3",
        "spawn",
        "arm64",
        ("trace", "--json", "--goroutines", "--pid", "@PID@"),
        (),
        "go\n",
    ),
    # and --stack there: perf's own user callchain on the arm64 kernel
    (
        "live_pid_stack_1_27_3",
        "spawn",
        "arm64",
        ("trace", "--json", "--stack", "--pid", "@PID@", "main.report"),
        (),
        "go\n",
    ),
]
# The TUI itself: tests/support/arm64_tui.py drives the real app with Textual's pilot
TUI = "live_tui_divide_1_27_3"


def _cases(work: Path) -> list[tuple[arm64_vm.Case, tuple[str, ...]]]:
    """(case, trace arguments) for every build."""
    out = []
    for version in VERSIONS:
        v = version.replace(".", "_")
        for variant, tag in (("arm64", "dwarf"), ("arm64-sw", "stripped")):
            out.append((f"divide_{v}_{tag}", "divide", variant, ("main.Divide", "--ret", "--stack"), ()))
            extra = ("--where", "main.Worker: n >= 1", "--field", "r.URL.Path") if tag == "dwarf" else ()
            out.append((f"values_{v}_{tag}", "values", variant, ("main.*", "--ret", *extra), ()))
        out.append((f"recurse_{v}", "recurse", "arm64", ("main.Recurse", "--ret"), (str(DEPTH),)))
        for variant, tag in (("arm64", "dwarf"), ("arm64-sw", "stripped")):
            out.append((f"spawn_{v}_{tag}", "spawn", variant, ("--goroutines",), ()))
    cases = []
    for name, program, variant, goprobe, argv, stdin in LIVE:
        binary = tc.build(program, version_of(name), variant)
        goprobe = tuple(a.replace("@BIN@", arm64_vm.target_path(name)) for a in goprobe)
        cases.append((arm64_vm.Case(name, binary, None, argv, stdin, goprobe), goprobe))
    for version in DUMP_VERSIONS:
        for variant in ("arm64", "arm64-sw"):
            name = _dump_case(version, variant)
            live = ("goroutines", "--json", "--pid", "@PID@")
            cases.append(
                (
                    arm64_vm.Case(name, tc.build("parked", version, variant), None, goprobe=live, dump=True),
                    live,
                )
            )
    binary = tc.build("divide", version_of(TUI), "arm64")
    tui = (arm64_vm.target_path(TUI),)
    cases.append((arm64_vm.Case(TUI, binary, None, goprobe=tui, module="arm64_tui"), tui))
    for name, program, variant, trace_args, argv in out:
        binary = tc.build(program, version_of(name), variant)
        script = work / "scripts" / name
        done = _goprobe(
            "trace",
            str(binary),
            *trace_args,
            "--emit-script",
            str(script),
            "--target-path",
            arm64_vm.target_path(name),
        )
        assert done.returncode == 0, done.stderr
        stdin = "go\n" if program == "spawn" else ""
        cases.append((arm64_vm.Case(name, binary, script, argv, stdin), trace_args))
    return cases


def _dump_case(version: str, variant: str) -> str:
    return f"dump_{version.replace('.', '_')}_{variant.replace('-', '_')}"


def version_of(name: str) -> str:
    return next(v for v in VERSIONS if v.replace(".", "_") in name)


@pytest.fixture(scope="module")
def vm(tmp_path_factory) -> tuple[arm64_vm.Boot, dict[str, arm64_vm.Case]]:
    why = arm64_vm.available()
    need(not why, why)
    for version in {*VERSIONS, *DUMP_VERSIONS}:
        need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    work = tmp_path_factory.mktemp("arm64")
    cases = [c for c, _args in _cases(work)]
    boot = arm64_vm.boot(cases, work)
    return boot, {c.name: c for c in cases}


def _replay(vm, name: str) -> tuple[dict[str, list[dict]], str, str]:
    boot, cases = vm
    result = boot.results[name]
    assert result.status == 0, (result.stdout, result.stderr)
    done = _goprobe("replay", str(cases[name].script_dir), str(result.records), "--json")
    assert done.returncode == 0, done.stderr
    by_function: dict[str, list[dict]] = {}
    for e in json_events(done.stdout):
        by_function.setdefault(e["function"], []).append(e)
    return by_function, result.stdout, done.stderr


def test_the_vm_is_arm64_and_left_nothing_behind(vm) -> None:
    boot, _cases = vm
    assert boot.uname.endswith("aarch64")
    assert boot.leftovers == ""  # every script removed its probes and instance
    print(f"arm64 VM: boot {boot.boot_s:.2f} s, cases {boot.cases_s:.2f} s, wall {boot.wall_s:.2f} s")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tag", ["dwarf", "stripped"])
def test_divide_arguments_results_latency_and_callers(vm, version: str, tag: str) -> None:
    ev, stdout, err = _replay(vm, f"divide_{version.replace('.', '_')}_{tag}")
    assert "dividend=5 divisor=3 quotient=1 remainder=2" in stdout
    entry, ret = ev["main.Divide"]
    assert (entry["kind"], ret["kind"]) == ("entry", "return")
    if tag == "dwarf":
        assert entry["args"] == {"dividend": 5, "divisor": 3}
        assert ret["returns"] == {"quotient": 1, "remainder": 2}
    else:  # without DWARF: the argument words, named by position; results unnamed registers
        assert entry["args"] == {"arg0": 5, "arg1": 3}
        assert ret["registers"]["x0"] == 1 and ret["registers"]["x1"] == 2
    assert 0 < ret["latency_ns"] < 1_000_000_000
    assert entry["goid"] == ret["goid"] == 1  # x28's g, main's goroutine
    # --stack: x30 (the direct caller), then the frame chain through x29
    for e in (entry, ret):
        frames = [f["function"] for f in e["stack"]]
        assert frames[:2] == ["main.main", "runtime.main"], frames
        assert e["stack"][0]["line"] == 16
    assert ", 0 lost, 0 malformed" in err


@pytest.mark.parametrize("version", VERSIONS)
def test_deep_recursion_completes_and_every_return_pairs(vm, version: str) -> None:
    ev, stdout, err = _replay(vm, f"recurse_{version.replace('.', '_')}")
    assert stdout.strip() == f"result {DEPTH}"
    calls = ev["main.Recurse"]
    entries = [e for e in calls if e["kind"] == "entry"]
    returns = [e for e in calls if e["kind"] == "return"]
    assert len(entries) == len(returns) == DEPTH + 1
    assert all(e["latency_ns"] is not None for e in returns)
    assert sorted(e["args"]["n"] for e in entries) == list(range(DEPTH + 1))
    assert "returns without latency" not in err and ", 0 lost," in err


def _goids(stdout: str) -> dict[int, int]:
    return {int(w): int(g) for g, w in re.findall(r"goid (\d+) worker (\d+)", stdout)}


@pytest.mark.parametrize("version", VERSIONS)
def test_values_strings_structs_errors_and_goroutines(vm, version: str) -> None:
    ev, stdout, err = _replay(vm, f"values_{version.replace('.', '_')}_dwarf")
    assert ev["main.Describe"][0]["args"] == {"u": {"ID": 1, "Name": "bob", "Admin": True}}
    assert ev["main.Open"][0]["args"] == {"path": "/nonexistent/file"}
    serve = ev["main.Serve"]
    assert serve[0]["args"]["u"] == {"ID": 1, "Name": "bob", "Admin": True}
    assert serve[1]["returns"] == {"~r0": 200, "~r1": None}
    assert serve[3]["returns"]["~r0"] == 404
    assert serve[3]["returns"]["~r1"]["type"] == "*errors.errorString"
    (open_ret,) = [e for e in ev["main.Open"] if e["kind"] == "return"]
    assert open_ret["returns"]["~r0"]["type"] == "*fs.PathError"
    assert [e["args"]["v"] for e in ev["main.Classify"] if e["kind"] == "entry"] == [
        {"type": "int", "value": 7},
        {"type": "string", "value": "seven"},
    ]
    assert ev["main.Many"][0]["args"] == {n: i + 1 for i, n in enumerate("abcdefghijk")}
    assert [e["args"]["s"] for e in ev["main.Text"] if e["kind"] == "entry"] == ["a\ufffdb", "a\\xffb"]
    # --where in the arm64 kernel's filter: worker 0's call is not recorded, its return neither
    workers = {e["args"]["n"]: e["goid"] for e in ev["main.Worker"] if e["kind"] == "entry"}
    assert workers == {n: g for n, g in _goids(stdout).items() if n >= 1} and len(workers) == 2
    assert sorted(e["returns"]["~r0"] for e in ev["main.Worker"] if e["kind"] == "return") == [2, 4]
    # --field through two pointers
    paths = [e["args"].get("r.URL.Path") for e in ev["main.Handle"] if e["kind"] == "entry"]
    assert paths == ["/healthz", "<nil pointer on the way>"]
    assert ", 0 lost," in err


@pytest.mark.parametrize("version", VERSIONS)
def test_stripped_values_invent_nothing_and_know_the_goroutine(vm, version: str) -> None:
    ev, stdout, _err = _replay(vm, f"values_{version.replace('.', '_')}_stripped")
    assert ev["main.Divide"][0]["args"] == {"arg0": 7, "arg1": 2}
    assert ev["main.Many"][0]["args"] == {f"arg{i}": i + 1 for i in range(11)}
    assert ev["main.Nothing"][0]["args"] == {}
    workers = {e["args"]["arg0"]: e["goid"] for e in ev["main.Worker"] if e["kind"] == "entry"}
    assert workers == _goids(stdout) and len(workers) == 3
    # methods: the signature from the type metadata, strings read behind their pointers
    get = [e for e in ev["main.(*MemStore).Get"] if e["kind"] == "entry"]
    assert [{k: v for k, v in e["args"].items() if k != "recv"} for e in get] == [
        {"arg0": "id", "arg1": 1},
        {"arg0": "id", "arg1": 2},
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tag", ["dwarf", "stripped"])
def test_goroutine_lineage_equals_what_the_program_sees(vm, version: str, tag: str) -> None:
    """main starts 3 workers, each starts 2 leaves: 9 creations, each child's parent and `go`
    statement as the program's own stacks print them ("created by F in goroutine N")."""
    ev, stdout, err = _replay(vm, f"spawn_{version.replace('.', '_')}_{tag}")
    seen = {}
    for line in stdout.splitlines()[1:]:  # after "ready"
        m = re.fullmatch(r"(worker|leaf) (\d+) created by (\S+) in goroutine (\d+)", line)
        assert m, line
        seen[int(m.group(2))] = (m.group(3), int(m.group(4)))
    assert len(seen) == 9
    spawns = [e for events in ev.values() for e in events if e["kind"] == "spawn" and e["child_goid"] in seen]
    assert len(spawns) == 9, err
    for e in spawns:
        creator, parent = seen[e["child_goid"]]
        assert (e["function"], e["goid"]) == (creator, parent)
        assert e["file"].endswith("main.go") and e["line"] > 0


def _live(vm, name: str) -> tuple[list[dict], str, str]:
    boot, _cases = vm
    result = boot.results[name]
    assert result.status == 0 and result.live_status == 0, (result.stderr, result.live_err)
    events = json_events(result.live_out)
    return events, result.stdout, result.live_err


@pytest.mark.parametrize("name", ["live_divide_1_27_3_dwarf", "live_divide_1_21_13_stripped"])
def test_live_goprobe_on_arm64_traces_divide(vm, name: str) -> None:
    """goprobe-tui itself on the arm64 machine: attach, decode live, detach."""
    events, stdout, err = _live(vm, name)
    assert "quotient=1 remainder=2" in stdout
    entry, ret = [e for e in events if e["function"] == "main.Divide"]
    if name.endswith("dwarf"):
        assert (entry["args"], ret["returns"]) == (
            {"dividend": 5, "divisor": 3},
            {"quotient": 1, "remainder": 2},
        )
    else:
        assert entry["args"] == {"arg0": 5, "arg1": 3}
        assert (ret["registers"]["x0"], ret["registers"]["x1"]) == (1, 2)
    assert ret["latency_ns"] > 0 and entry["goid"] == ret["goid"] == 1
    assert [f["function"] for f in entry["stack"]][:2] == ["main.main", "runtime.main"]
    assert "2 events, 0 lost, 0 malformed" in err


def test_live_goprobe_on_arm64_pairs_a_deep_recursion(vm) -> None:
    events, stdout, err = _live(vm, "live_recurse_1_27_3")
    assert stdout.strip() == "result 1000"
    returns = [e for e in events if e["kind"] == "return"]
    assert len(returns) == len([e for e in events if e["kind"] == "entry"]) == 1001
    assert all(e["latency_ns"] is not None for e in returns), err


def test_live_goprobe_on_arm64_with_pid_through_perf(vm) -> None:
    """--pid: perf events on the arm64 kernel, in that process alone; lineage as the program
    sees it."""
    events, stdout, err = _live(vm, "live_pid_spawn_1_27_3")
    seen = {}
    for line in stdout.splitlines()[1:]:
        m = re.fullmatch(r"(worker|leaf) (\d+) created by (\S+) in goroutine (\d+)", line)
        assert m, line
        seen[int(m.group(2))] = (m.group(3), int(m.group(4)))
    spawns = [e for e in events if e["kind"] == "spawn" and e["child_goid"] in seen]
    assert len(seen) == 9 and len(spawns) == 9, err
    assert all((e["function"], e["goid"]) == seen[e["child_goid"]] for e in spawns)


def test_the_tui_on_arm64_attaches_shows_values_and_turns_stacks_on_and_off(vm) -> None:
    """The app as `goprobe-tui BINARY` opens it, on the arm64 kernel: r attaches main.Divide
    with its returns; b shows call stacks (the probes walk the frames: this kernel has no
    user-stack walk) and hides them again; q detaches everything."""
    boot, _cases = vm
    result = boot.results[TUI]
    assert result.live_status == 0, result.live_err
    lines = [json.loads(line) for line in result.live_out.splitlines() if line.startswith("{")]
    *events, said = lines
    ran = "dividend=5 divisor=3 quotient=1 remainder=2"
    assert said["said"] == ["stacks on", ran, "stacks off", ran], result.live_err
    assert [(e["function"], e["kind"]) for e in events] == [
        ("main.Divide", "entry"),
        ("main.Divide", "return"),
    ] * 2
    for entry, ret in (events[:2], events[2:]):
        assert (entry["args"], ret["returns"]) == (
            {"dividend": 5, "divisor": 3},
            {"quotient": 1, "remainder": 2},
        )
        assert ret["latency_ns"] > 0 and entry["goid"] == ret["goid"] == 1
    for shown in events[:2]:
        assert [f["function"] for f in shown["stack"]][:2] == ["main.main", "runtime.main"]
    assert all("stack" not in e for e in events[2:])


def test_live_goprobe_on_arm64_with_pid_walks_stacks_through_perf(vm) -> None:
    """--pid --stack: the stacks come from perf's callchain of the arm64 kernel."""
    events, _stdout, err = _live(vm, "live_pid_stack_1_27_3")
    callers = sorted(e["stack"][0]["function"] for e in events if e["function"] == "main.report")
    assert callers == ["main.leaf"] * 6 + ["main.worker"] * 3, err


@pytest.mark.parametrize("version", DUMP_VERSIONS)
@pytest.mark.parametrize("variant", ["arm64", "arm64-sw"])
def test_goroutines_of_an_arm64_process_agree_with_the_runtimes_own_dump(
    vm, version: str, variant: str
) -> None:
    """`goroutines --pid --json` on the arm64 kernel (runtime.allgs from ADRP operands when
    stripped, stacks unwound the LR way), then SIGQUIT: the same goids, and every parked
    goroutine's wait reason, frames and "created by" as the runtime prints them."""
    boot, _cases = vm
    result = boot.results[_dump_case(version, variant)]
    assert result.live_status == 0, result.live_err
    ours = {g["goid"]: g for g in json.loads(result.live_out)["goroutines"]}
    assert result.status == 2, result.stderr[-2000:]  # SIGQUIT's exit, after the dump
    held_to_go_dump(ours, result.stderr, version)
    assert all(g["frames"] for g in ours.values() if g["status"] == "waiting")
