"""Helpers for tests that attach real uprobes: run `goprobe-tui trace`, check for leftovers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from goprobe_tui.tracefs.fs import find_tracefs, read_text


def tracefs_state(root: str) -> tuple[list[str], list[str]]:
    """(uprobe_events lines, instance names)."""
    lines = read_text(os.path.join(root, "uprobe_events")).splitlines()
    return lines, sorted(os.listdir(os.path.join(root, "instances")))


def goprobe_leftovers(root: str | None = None) -> list[str]:
    root = root or find_tracefs()
    lines, instances = tracefs_state(root)
    ours = [ln for ln in lines if ln.split(" ", 1)[0].partition(":")[2].startswith("goprobe_")]
    return ours + [i for i in instances if i.startswith("goprobe_")]


class TraceRun:
    """`goprobe-tui trace ...` in a subprocess, started and waited for until it has attached."""

    def __init__(self, *args: str, attach_timeout: float = 60) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "goprobe_tui", "trace", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_lines: list[str] = []
        deadline = time.monotonic() + attach_timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr_lines.append(line)
            if "attached" in line:
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
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return events, "".join(self.stderr_lines) + err


def run_program(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(path), *args], capture_output=True, text=True, timeout=120)
