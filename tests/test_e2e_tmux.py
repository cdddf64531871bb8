"""End to end in a real terminal (tmux): search, attach, run the program, see its arguments, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import need
from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-t", session, "-p")
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on screen:\n{screen}")


def test_divide_in_tmux() -> None:
    need(os.geteuid() == 0, "kernel tests need root")
    need(shutil.which("tmux") is not None, "tmux missing: run .ci/run")
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    binary = tc.build("divide", "1.27.3")
    session = f"goprobe-e2e-{os.getpid()}"
    cmd = f"{sys.executable} -m goprobe_tui {binary}; sleep 5"
    _tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "40", cmd)
    try:
        _tmux("resize-window", "-t", session, "-x", "140", "-y", "40")
        _wait_for(session, "functions")
        # Keys typed while the app still negotiates with the terminal can be dropped: retry.
        for attempt in range(4):
            time.sleep(1.0)
            _tmux("send-keys", "-t", session, "/")
            _tmux("send-keys", "-t", session, "C-u")
            _tmux("send-keys", "-t", session, "-l", "Divide")
            try:
                _wait_for(session, "main.Divide", timeout=5)
                break
            except AssertionError:
                if attempt == 3:
                    raise
        time.sleep(0.5)
        _tmux("send-keys", "-t", session, "Enter")
        _tmux("send-keys", "-t", session, "Space")
        _wait_for(session, "● main.Divide")
        out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=30).stdout
        assert "quotient=1" in out
        screen = _wait_for(session, "dividend=5")
        assert "main.Divide(dividend=5, divisor=3)" in screen
        _tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 30
        while goprobe_leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert goprobe_leftovers() == []
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
