"""Probe scripts (`trace --emit-script`) and `replay`, on this machine's kernel: the script sets
up exactly what a live attach would, runs the program under /bin/sh, saves the records, and
removes everything on every ending; replay decodes them like a live trace."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goprobe_tui.errors import BadInput
from goprobe_tui.tracefs.naming import sanitise
from tests.kernel_helpers import json_events, tracefs_state
from tests.support import toolchains as tc

NEWEST = "1.27.3"


def _goprobe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goprobe_tui", *args], capture_output=True, text=True, timeout=300
    )


def _emit(tmp_path: Path, program: str, *trace_args: str) -> tuple[Path, Path]:
    binary = tc.build(program, NEWEST)
    folder = tmp_path / "script"
    done = _goprobe("trace", str(binary), *trace_args, "--emit-script", str(folder))
    assert done.returncode == 0, done.stderr
    return binary, folder


def _group(script: str) -> str:
    return re.search(r"p:(goprobe_script_[0-9a-f]+)/", script).group(1)


def test_the_script_only_appends_to_uprobe_events_and_names_are_safe(tmp_path: Path) -> None:
    _binary, folder = _emit(tmp_path, "values", "main.*", "--ret")
    script = (folder / "probes.sh").read_text()
    touching = [ln for ln in script.splitlines() if "uprobe_events" in ln and ln.lstrip().startswith("echo")]
    assert touching and all(' >> "$T/uprobe_events"' in ln for ln in touching)
    assert not re.search(r'[^>]> "\$T/uprobe_events"', script)  # never a truncating write
    for name in re.findall(r"[p-]:goprobe_script_[0-9a-f]+/(\S+)", script):
        assert sanitise(name) == name and len(name) < 64
    assert "set_event_pid" not in script  # every process of the binary, as documented


def test_replay_refuses_what_is_not_a_plan(tmp_path: Path) -> None:
    _binary, folder = _emit(tmp_path, "divide", "main.Divide")
    records = tmp_path / "records"
    (records / "per_cpu").mkdir(parents=True)
    # a plan that would run code when unpickled: refused, one line, exit 2
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "plan.json").write_bytes(pickle.dumps(os.system))
    done = _goprobe("replay", str(evil), str(records))
    assert done.returncode == 2 and "not a plan" in done.stderr and "Traceback" not in done.stderr
    done = _goprobe("replay", str(tmp_path / "nothing"), str(records))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    done = _goprobe("replay", str(folder), str(tmp_path))
    assert done.returncode == 2 and "per_cpu" in done.stderr
    done = _goprobe(
        "trace",
        str(tc.build("divide", NEWEST)),
        "main.Divide",
        "--emit-script",
        str(tmp_path / "x"),
        "--count",
        "3",
    )
    assert done.returncode == 2 and "--count" in done.stderr
    done = _goprobe(
        "trace",
        str(tc.build("divide", NEWEST)),
        "main.Divide",
        "--emit-script",
        str(tmp_path / "x"),
        "--target-path",
        "relative/app",
    )
    assert done.returncode == 2 and "must be absolute" in done.stderr
    done = _goprobe(
        "trace",
        str(tc.build("divide", NEWEST)),
        "main.Divide",
        "--emit-script",
        str(tmp_path / "x"),
        "--stack-depth",
        "20",
    )
    assert done.returncode == 2 and "at most 13 frames" in done.stderr


def _attackers_blob(marker: Path) -> bytes:
    """A protocol-4 pickle calling subprocess.Popen(["sh", "-c", "touch MARKER"]), reached
    through a module of ours (the name a plan's old unpickler let through)."""

    def text(s: str) -> bytes:
        return b"\x8c" + bytes([len(s.encode())]) + s.encode()

    return (
        b"\x80\x04"
        + text("goprobe_tui.tracefs.fs")
        + text("subprocess.Popen")
        + b"\x93"
        + b"(("
        + text("sh")
        + text("-c")
        + text(f"touch {marker}")
        + b"ltR."
    )


def test_the_attackers_plan_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    blob = _attackers_blob(marker)
    records = tmp_path / "records"
    (records / "per_cpu").mkdir(parents=True)
    evil = tmp_path / "evil"
    evil.mkdir()
    for name in ("plan.json", "plan.goprobe"):  # today's name and the old one
        (evil / name).write_bytes(blob)
    done = _goprobe("replay", str(evil), str(records))
    assert done.returncode == 2 and "not a plan" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert not marker.exists()
    # a plan that is JSON but not of the schema: one line, exit 2
    for bad in (
        '{"format": "goprobe-plan", "plan": {"version": "2"}}',
        "[1, 2]",
        '{"format": "goprobe-plan", "plan": ' + "[" * 100000 + "]" * 100000 + "}",
    ):
        (evil / "plan.json").write_text(bad)
        done = _goprobe("replay", str(evil), str(records))
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    # a FIFO where the plan should be: refused at once, never waited on
    (evil / "plan.json").unlink()
    os.mkfifo(evil / "plan.json")
    done = _goprobe("replay", str(evil), str(records))
    assert done.returncode == 2 and "not a regular file" in done.stderr, done.stderr


def test_a_plan_goes_through_json_whole(tmp_path: Path) -> None:
    """Every field of every probe of a real plan (values, inlined calls, conditions) comes
    back as it was written."""
    from goprobe_tui.engine.options import EngineOptions
    from goprobe_tui.engine.plan_file import dump_plan, read_plan_file
    from goprobe_tui.engine.probe_script import Plan, build_probe_script
    from goprobe_tui.gobinary import GoBinary

    binary = GoBinary.open(str(tc.build("inline", NEWEST)))
    fns = [f for f in binary.functions if f.name.startswith("main.")]
    options = EngineOptions(where=("main.Square: x > 3 && !(x == 7 || x <= 2)",))
    result = build_probe_script(binary, fns, True, options)
    path = tmp_path / "plan.json"
    path.write_text(dump_plan(result.plan))
    again = read_plan_file(str(path), Plan)
    assert again == result.plan and any(s.inlined for ev in again.events for s in ev.sites)
    assert any(s.condition or any(s.call_conditions) for ev in again.events for s in ev.sites)
    # an event kind is one of its words, nothing else
    doc = json.loads(path.read_text())
    doc["plan"]["events"][0]["kind"] = "exec"
    path.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"kind: not one of entry, return, line, spawn"):
        read_plan_file(str(path), Plan)


def _run_script(folder: Path, binary: Path, out: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "GOPROBE_OUT": str(out)}
    return subprocess.Popen(
        ["sh", str(folder / "probes.sh"), str(binary), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ours(root: str, group: str) -> list[str]:
    lines, instances = tracefs_state(root)
    return [ln for ln in lines if group in ln] + [i for i in instances if i == group]


@pytest.mark.kernel
def test_a_script_run_here_traces_like_a_live_attach_and_leaves_nothing(root: str, tmp_path: Path) -> None:
    binary, folder = _emit(tmp_path, "divide", "main.Divide", "--ret", "--stack")
    group = _group((folder / "probes.sh").read_text())
    proc = _run_script(folder, binary, tmp_path / "records")
    stdout, stderr = proc.communicate("", timeout=120)
    assert proc.returncode == 0, stderr
    assert "dividend=5 divisor=3" in stdout
    assert _ours(root, group) == []
    done = _goprobe("replay", str(folder), str(tmp_path / "records"), "--json")
    assert done.returncode == 0, done.stderr
    events = json_events(done.stdout)
    entry, ret = [e for e in events if e["function"] == "main.Divide"]
    assert entry["args"] == {"dividend": 5, "divisor": 3}
    assert ret["returns"] == {"quotient": 1, "remainder": 2} and ret["latency_ns"] > 0
    assert entry["stack"][0]["function"] == "main.main"
    # the target's clock: today's date, not 1970 and not this process's guess
    assert (
        abs(time.time() - time.mktime(time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S")) + time.timezone)
        < 600
    )
    assert "2 events, 0 lost" in done.stderr


def _ticker_under_script(root: str, tmp_path: Path) -> tuple[subprocess.Popen, Path, str]:
    """The ticker run by its probe script, once it runs (its probes are in place by then)."""
    binary, folder = _emit(tmp_path, "ticker", "main.*")
    group = _group((folder / "probes.sh").read_text())
    proc = _run_script(folder, binary, tmp_path / "records")
    assert proc.stdout.readline().strip() == "ready"
    assert _ours(root, group)
    return proc, folder, group


@pytest.mark.kernel
def test_a_script_stopped_by_a_signal_saves_and_removes_everything(root: str, tmp_path: Path) -> None:
    proc, folder, group = _ticker_under_script(root, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert _ours(root, group) == [], err
    done = _goprobe("replay", str(folder), str(tmp_path / "records"), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the events before the signal are kept"


@pytest.mark.kernel
def test_cleanup_after_a_sigkill(root: str, tmp_path: Path) -> None:
    proc, folder, group = _ticker_under_script(root, tmp_path)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    proc.kill()  # the shell dies at once, and its program lives on: ended here by its pid
    proc.communicate(timeout=30)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    assert _ours(root, group)  # what a SIGKILL leaves
    done = subprocess.run(
        ["sh", str(folder / "probes.sh"), "--cleanup"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _ours(root, group) == []


_PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print('peak', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(done.returncode)"
)


def _replay_measured(folder: Path, records: Path) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak memory in KiB) of a replay, bounded to 120 s."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK,
            sys.executable,
            "-m",
            "goprobe_tui",
            "replay",
            str(folder),
            str(records),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    *lines, peak = done.stderr.splitlines()
    return done.returncode, done.stdout, "\n".join(lines), int(peak.split()[1])


@pytest.mark.kernel
def test_damaged_records_are_read_safely_and_said(root: str, tmp_path: Path) -> None:
    binary, folder = _emit(tmp_path, "divide", "main.Divide", "--ret")
    good = tmp_path / "records"
    proc = _run_script(folder, binary, good)
    _out, err = proc.communicate("", timeout=120)
    assert proc.returncode == 0, err
    code, out, err, _peak = _replay_measured(folder, good)
    assert code == 0 and len(json_events(out)) == 2, err

    def damaged(name: str, damage) -> Path:
        copy = tmp_path / name
        subprocess.run(["cp", "-a", str(good), str(copy)], check=True)
        extra = copy / "per_cpu" / "cpu4093"
        extra.mkdir(exist_ok=True)
        damage(copy, extra / "trace_pipe_raw")
        return copy

    def symlink(_copy: Path, raw: Path) -> None:
        raw.symlink_to("/dev/zero")

    def fifo(_copy: Path, raw: Path) -> None:
        os.mkfifo(raw)

    def sparse(_copy: Path, raw: Path) -> None:
        with open(raw, "wb") as f:
            f.truncate(2 << 30)
            f.seek((1 << 30) + 5)
            f.write(b"\xff" * 5000)  # one page of data amid the holes: a malformed page

    for name, damage, said in (
        ("link", symlink, "symbolic link"),
        ("fifo", fifo, "not a regular file"),
        ("sparse", sparse, None),
    ):
        copy = damaged(name, damage)
        code, out, err, peak = _replay_measured(folder, copy)
        assert code == 0, err
        assert len(json_events(out)) == 2, (name, err)  # the good CPUs' events all decode
        assert said is None or said in err, (name, err)
        assert peak < 400 * 1024, (name, peak)  # KiB: the files are streamed, never held whole
    # a sub-buffer size the kernel cannot have: one line naming it, exit 2
    for value in ("0", "99999999", "-4", "x"):
        copy = tmp_path / f"subbuf{value}"
        if not copy.exists():
            subprocess.run(["cp", "-a", str(good), str(copy)], check=True)
        (copy / "buffer_subbuf_size_kb").write_text(value + "\n")
        code, _out, err, _peak = _replay_measured(folder, copy)
        assert code == 2 and "buffer_subbuf_size_kb" in err and len(err.splitlines()) == 1, err
