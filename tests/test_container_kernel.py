"""A process in a container (its own mount and PID namespaces) traced with --pid: the probes
must name the container's file, never the host's file at the same path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.kernel_helpers import goprobe_leftovers, json_events, started
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
CALLS = 200


def _child_of(pid: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        time.sleep(0.01)
    raise AssertionError("the container's process did not start")


def _read_line(stream, want: str, timeout: float = 60) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if want in line:
            return seen
    raise AssertionError(f"no {want!r} in {''.join(seen)}")


def test_a_process_in_a_container_is_traced_and_the_host_file_at_its_path_is_not(root, tmp_path) -> None:
    need(shutil.which("unshare") is not None, "unshare missing (util-linux)")
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    ticker, checksum = tc.build("ticker", "1.27.3"), tc.build("checksum", "1.27.3")
    ctr = tmp_path / "ctr"
    ctr.mkdir()
    host_app = ctr / "app"  # the host's file at the container's path: another Go program
    shutil.copy(checksum, host_app)
    untraced = subprocess.run([str(host_app)], capture_output=True, text=True, timeout=60).stdout
    # the container: a tmpfs over the same directory, seen only inside its mount namespace
    outer = started(
        subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"mount -t tmpfs none {ctr} && cp {ticker} {ctr}/app && exec {ctr}/app {CALLS}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    )
    try:
        _read_line(outer.stdout, "ready")
        app = _child_of(outer.pid)
        with open(f"/proc/{app}/status") as f:
            nspid = next(ln.split()[-1] for ln in f if ln.startswith("NSpid:"))
        trace = started(
            subprocess.Popen(
                [sys.executable, "-m", "goprobe_tui", "trace", "--json", "--pid", str(app), "main.Tick"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        err = _read_line(trace.stderr, "attached")
        traced = subprocess.run([str(host_app)], capture_output=True, text=True, timeout=60).stdout
        assert traced == untraced, "the host's program was probed"
        outer.stdin.write("go\n")
        outer.stdin.flush()
        want = sum(i * 7 + len("tick") for i in range(CALLS))
        assert _read_line(outer.stdout, "sum")[-1].split() == ["sum", str(want)]
        assert outer.wait(30) == 0
        out, rest = trace.communicate(timeout=60)
    finally:
        if outer.poll() is None:
            outer.kill()
    events = json_events(out)
    assert [e["args"] for e in events] == [{"i": i, "label": "tick"} for i in range(CALLS)], (
        "".join(err) + rest
    )
    assert {(e["pid"], e["nspid"], e["comm"]) for e in events} == {(app, int(nspid), "app")}
    assert all(e["goid"] == 1 for e in events)
    assert goprobe_leftovers(root) == []


def test_pid_and_binary_must_agree(tmp_path: Path) -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    other = tc.build("checksum", "1.27.3")
    proc = subprocess.Popen(["sleep", "30"])
    try:
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "trace", "--pid", str(proc.pid), str(other), "main.*"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        proc.kill()
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert f"process {proc.pid} runs" in out.stderr and str(other) in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "trace", "--pid", "999999", "main.*"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.strip() == "goprobe-tui: no process 999999"
