"""Helpers for tests that attach real uprobes: run `goprobe-tui trace`, check for leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from goprobe_tui.tracefs.fs import find_tracefs, read_text


def tracefs_state(root: str) -> tuple[list[str], list[str]]:
    """(uprobe_events lines, instance names)."""
    lines = read_text(os.path.join(root, "uprobe_events")).splitlines()
    return lines, sorted(os.listdir(os.path.join(root, "instances")))


# Sessions this test run started: its own pid and every `goprobe-tui` it spawned. Other goprobe
# sessions may be alive on the machine; a test judges only its own.
STARTED_PIDS: set[int] = {os.getpid()}


_RUNNING: list[subprocess.Popen] = []


def started(proc: subprocess.Popen) -> subprocess.Popen:
    """Count a `goprobe-tui` this test run spawned as ours (judged, and stopped if left running)."""
    STARTED_PIDS.add(proc.pid)
    _RUNNING.append(proc)
    return proc


def stop_started() -> None:
    """A failing test may leave its `goprobe-tui` running: interrupt it (teardown), then kill."""
    while _RUNNING:
        proc = _RUNNING.pop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _mine(session: str) -> bool:
    from goprobe_tui.tracefs.naming import parse_session_name

    parsed = parse_session_name(session)
    return parsed is not None and parsed[0] in STARTED_PIDS


def probes_of(root: str, pid: int) -> list[str]:
    """The uprobe_events lines of the session owned by process `pid` (nobody else's). The file
    is handed out a page per read: another session's probes added or removed between two
    pages shift it, and a line can be skipped (seen: our one probe missing while two suites
    ran). Read until two readings agree."""
    from goprobe_tui.tracefs.naming import parse_session_name

    def ours() -> list[str]:
        lines, _ = tracefs_state(root)
        out = []
        for ln in lines:
            parsed = parse_session_name(ln.split(" ", 1)[0].partition(":")[2].partition("/")[0])
            if parsed is not None and parsed[0] == pid:
                out.append(ln)
        return out

    last = ours()
    for _ in range(50):
        now = ours()
        if now == last:
            return now
        last = now
    return last


def goprobe_leftovers(root: str | None = None) -> list[str]:
    """Probes and instances left by sessions this test run started."""
    root = root or find_tracefs()
    lines, instances = tracefs_state(root)
    ours = [ln for ln in lines if _mine(ln.split(" ", 1)[0].partition(":")[2].partition("/")[0])]
    return ours + [i for i in instances if _mine(i)]


def json_lines(text: str) -> tuple[list[dict], dict | None]:
    """(the events of a JSON-lines output, its closing status record or None)."""
    rows = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    status = rows.pop() if rows and rows[-1].get("kind") == "status" else None
    assert all(r.get("kind") != "status" for r in rows), "a status record before the end"
    return rows, status


def json_events(text: str) -> list[dict]:
    return json_lines(text)[0]


class TraceRun:
    """`goprobe-tui trace ...` in a subprocess, started and waited for until it has attached."""

    def __init__(self, *args: str, attach_timeout: float = 60, command: str = "trace") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "goprobe_tui", command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started(self.proc)
        self.status: dict | None = None  # the JSON output's closing record, after finish()
        self.stderr_lines: list[str] = []
        deadline = time.monotonic() + attach_timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr_lines.append(line)
            if line.startswith("goprobe-tui: attached "):  # not "no probe could be attached"
                return
        self.proc.kill()
        _out, err = self.proc.communicate()
        raise AssertionError(f"trace did not attach: {''.join(self.stderr_lines)}{err}")

    def finish(self, timeout: float = 60) -> tuple[list[dict], str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            out, err = self.proc.communicate(timeout=30)
        events, self.status = json_lines(out)
        return events, "".join(self.stderr_lines) + err


def run_program(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(path), *args], capture_output=True, text=True, timeout=120)


def private_copy(path: Path, directory: Path) -> Path:
    """The binary at a new inode: the kernel's hit counters (uprobe_profile) count every trap
    of a uprobe at that file and offset, another session's too. A test that judges them probes
    a file nobody else does."""
    import shutil

    copy = Path(directory) / path.name
    shutil.copy(path, copy)
    copy.chmod(0o755)
    return copy
