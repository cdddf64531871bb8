"""`trace BIN PATTERN -- ARG...`: the program started under trace, every probe in place before
its first instruction (its init functions seen), its probes its own (other processes running
the same file trap nowhere), its stdin/stdout/stderr kept, and goprobe-tui exiting with its
exit status. tests/go/launched: Step 3 times in init, N times in main, then exit 7."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.kernel_helpers import goprobe_leftovers, json_lines, private_copy, started
from tests.support import toolchains as tc

NEWEST = "1.27.3"


def _launch(*args: str, stdin=None) -> subprocess.Popen:
    return started(
        subprocess.Popen(
            [sys.executable, "-m", "goprobe_tui", "trace", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )


@pytest.mark.kernel
@pytest.mark.parametrize("variant", ["default", "strip"])
def test_a_launched_program_is_traced_from_its_first_instruction_alone(
    root: str, tmp_path, variant: str
) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("launched", NEWEST, variant), tmp_path)
    out = tmp_path / "events.jsonl"
    # other copies of the very same file, started again and again meanwhile: never traced
    stop, siblings = threading.Event(), []

    def run_siblings() -> None:
        while not stop.is_set():
            done = subprocess.run([str(prog), "50"], capture_output=True, text=True, timeout=60)
            siblings.append(done.returncode)

    loop = threading.Thread(target=run_siblings)
    loop.start()
    try:
        trace = _launch("--json", "-o", str(out), str(prog), "main.Step", "--", "5")
        stdout, stderr = trace.communicate(timeout=120)
    finally:
        stop.set()
        loop.join()
    assert trace.returncode == 7, stderr  # the program's own exit status
    assert stdout == "stepped 8\n", stdout  # its output, untouched
    assert siblings and set(siblings) == {7}
    events, status = json_lines(out.read_text())
    assert [e["kind"] for e in events] == ["entry"] * 8, events
    assert len({e["pid"] for e in events}) == 1
    values = [next(iter(e["args"].values())) for e in events]  # i (DWARF) or arg0 (stripped)
    assert values == [100, 101, 102, 0, 1, 2, 3, 4], values  # init's three first
    assert status is not None and status["complete"], status
    assert "the program exited with status 7" in stderr, stderr
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
def test_without_o_events_go_to_stderr_and_the_programs_stdin_is_its_own(root: str, tmp_path) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("launched", NEWEST), tmp_path)
    trace = _launch(str(prog), "main.Step", "--", "2", stdin=subprocess.PIPE)
    stdout, stderr = trace.communicate(input="", timeout=120)
    assert trace.returncode == 7 and stdout == "stepped 5\n", (stdout, stderr)
    assert sum("-> main.Step(" in line for line in stderr.splitlines()) == 5, stderr
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
def test_sigterm_goes_to_the_program_first(root: str, tmp_path) -> None:
    """SIGTERM to goprobe-tui ends the program (Go's default: exit by the signal), tracing
    ends with it, and goprobe-tui exits 128+15 after its summary; nothing is left."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("parked", NEWEST), tmp_path)
    trace = _launch(str(prog), "main.receiver", "--", stdin=subprocess.PIPE)
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = trace.stderr.readline()
        lines.append(line)
        if not line or "-> main.receiver(" in line:
            break
    assert any("started" in ln for ln in lines), lines
    trace.send_signal(signal.SIGTERM)
    trace.wait(timeout=120)  # its stdin stays open: it ends by the signal, not by EOF
    err = trace.stderr.read()
    trace.stdin.close()
    assert trace.returncode == 128 + signal.SIGTERM, "".join(lines) + err
    assert "SIGTERM passed to the program" in err and "exited with status 143" in err, err
    assert goprobe_leftovers(root) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "/bin/true", "--", "x"],
        ["trace", "--pid", "1", "main.F", "--", "x"],
        ["trace", "/nonexistent/prog", "main.F", "--"],
    ],
)
def test_a_launch_that_cannot_be_is_one_line_exit_2(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _started_program(prog, *more: str) -> tuple[subprocess.Popen, int]:
    """goprobe-tui tracing the parked program it started; (goprobe-tui, the program's pid)."""
    trace = _launch(str(prog), "main.receiver", *more, "--", stdin=subprocess.PIPE)
    deadline = time.monotonic() + 120
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = trace.stderr.readline()
        lines.append(line)
        if not line or "-> main.receiver(" in line:
            break
    started_line = next((ln for ln in lines if " as pid " in ln), None)
    assert started_line, lines
    return trace, int(started_line.rsplit(" ", 1)[1])


@pytest.mark.kernel
def test_a_program_killed_ends_the_trace_with_its_status(root: str, tmp_path) -> None:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("parked", NEWEST), tmp_path)
    trace, pid = _started_program(prog)
    os.kill(pid, signal.SIGKILL)
    trace.wait(timeout=120)
    err = trace.stderr.read()
    trace.stdin.close()
    assert trace.returncode == 128 + signal.SIGKILL and "exited with status 137" in err, err
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
def test_goprobe_tui_killed_leaves_the_program_running_unharmed(root: str, tmp_path) -> None:
    """SIGKILL to goprobe-tui: the kernel closes its perf events (the program's breakpoints go
    with them), the program runs on and ends as it would have; cleanup removes the event
    definitions the dead session left (any start of goprobe-tui sweeps them too)."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("parked", NEWEST), tmp_path)
    trace, pid = _started_program(prog)
    trace.kill()
    trace.wait()
    stat = Path(f"/proc/{pid}/stat").read_text()
    assert stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # it runs on
    trace.stdin.close()  # EOF: the program ends on its own, as it does untraced
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")
    out = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "cleanup"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
async def test_the_tui_runs_the_program_then_runs_it_again_with_the_same_probes(root: str, tmp_path) -> None:
    """goprobe-tui BINARY -- 2: held while Step is attached, R runs it (init's calls seen), the
    header says how it ended; R again: a new pid, the same probes, its calls too."""
    from goprobe_tui.engine.launch import ProgramRuns
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.ui.app import GoprobeApp
    from goprobe_tui.ui.launch import open_controller
    from tests.support.until import until

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = str(private_copy(tc.build("launched", NEWEST), tmp_path))
    log = tmp_path / "program.log"
    runs = ProgramRuns(prog, ["2"], str(log))
    binary = GoBinary.open(prog)
    engine, reason = open_controller(binary, prog, runs.program.pid, launched=True)
    assert engine is not None, reason
    app = GoprobeApp(
        binary,
        engine,
        pid=runs.program.pid,
        runs=runs,
        new_engine=lambda pid: open_controller(binary, prog, pid, launched=True),
    )
    try:
        async with app.run_test(size=(140, 40)) as pilot:

            def steps() -> list:
                return [e for e in app.main._events_view.events() if e.function == "main.Step"]

            await pilot.press("slash", *"main.Step", "enter", "space")
            await until(
                pilot,
                lambda: "main.Step" in app.controller.attached_names(),
                what="the attach",
            )
            first = runs.program.pid
            await pilot.press("R")
            await until(pilot, lambda: runs.program.ended() and len(steps()) == 5, what="run 1")
            await until(pilot, lambda: "exited with status 7" in str(app.query_one("#header").render()))
            await pilot.press("R")
            await until(
                pilot,
                lambda: runs.program.pid != first and runs.program.ended() and len(steps()) == 10,
                what="run 2",
            )
            pids = [e.pid for e in steps()]
            assert pids == [first] * 5 + [runs.program.pid] * 5
            assert [next(iter(e.args.values())) for e in steps()] == [100, 101, 102, 0, 1] * 2
    finally:
        if app.controller is not None:
            app.controller.close()
        runs.close()
        binary.close()
    assert log.read_text().count("stepped 5") == 2
    assert goprobe_leftovers(root) == []


@pytest.mark.kernel
def test_the_processes_a_launched_program_forks_are_traced_as_themselves(root: str, tmp_path) -> None:
    """The program runs itself as a child (os/exec): the child's calls are traced too (its
    events inherited), each event with its own process's id, even once that process is gone."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    prog = private_copy(tc.build("launched", NEWEST), tmp_path)
    out = tmp_path / "events.jsonl"
    trace = _launch("--json", "-o", str(out), str(prog), "main.Step", "--", "2", "child")
    stdout, stderr = trace.communicate(timeout=120)
    assert trace.returncode == 7 and stdout == "stepped 4\nstepped 5\n", (stdout, stderr)
    events, _status = json_lines(out.read_text())
    by_pid: dict[int, list] = {}
    for e in events:
        by_pid.setdefault(e["pid"], []).append(next(iter(e["args"].values())))
    assert sorted(by_pid.values()) == [[100, 101, 102, 0], [100, 101, 102, 0, 1]], by_pid
    assert goprobe_leftovers(root) == []


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_the_programs_log_is_never_written_through_a_symlink_or_a_fifo(tmp_path, kind: str) -> None:
    """The TUI's program log, created as root in the current directory: a symlink planted in
    its place is not followed (the file it names stays untouched), a FIFO is not waited on."""
    from goprobe_tui.engine.launch import ProgramRuns
    from goprobe_tui.errors import BadInput

    log, victim = tmp_path / "program.log", tmp_path / "victim"
    victim.write_text("keep\n")
    if kind == "symlink":
        log.symlink_to(victim)
    else:
        os.mkfifo(log)
    with pytest.raises(BadInput):
        ProgramRuns("/bin/true", [], str(log))
    assert victim.read_text() == "keep\n"
