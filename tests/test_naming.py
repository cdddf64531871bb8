"""Only [A-Za-z0-9_] reaches tracefs names; paths tracefs can't express are rejected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from goprobe_tui.errors import BadInput
from goprobe_tui.tracefs.naming import (
    check_probe_path,
    event_name,
    parse_session_name,
    pid_namespace,
    session_name,
)
from goprobe_tui.tracefs.stale import session_is_dead


@pytest.mark.parametrize(
    "name",
    [
        "main.Divide",
        "ma\n-:* #Div",
        "net/http.(*Server).Serve",
        "x" * 300,
        "日本.関数",
        "type:.eq.[2]interface {}",
    ],
)
def test_event_names_are_safe(name: str) -> None:
    ev = event_name(12345, 7, name, "ret")
    assert len(ev) <= 63
    assert ev.replace("_", "").isalnum() and ev.isascii()
    assert ev.startswith("gp12345_7_") and ev.endswith("_ret")


def test_session_names() -> None:
    name = session_name()
    pid, _start, namespace = parse_session_name(name)
    assert (pid, namespace) == (os.getpid(), pid_namespace())
    assert not session_is_dead(name)
    assert session_is_dead("goprobe_999999999_1")
    assert session_is_dead(f"goprobe_999999999_1_n{pid_namespace()}")
    assert not session_is_dead("othertool_1_1")  # never ours
    # another PID namespace's pid means nothing in ours: never judged dead from here
    assert not session_is_dead(f"goprobe_999999999_1_n{pid_namespace() + 1}")


def test_zombie_owner_counts_as_dead() -> None:
    """Right after SIGKILL the owner lingers as a zombie (or exiting): it will never tear down."""
    import subprocess

    from goprobe_tui.tracefs.naming import process_start_time

    child = subprocess.Popen(["sleep", "30"])
    name = f"goprobe_{child.pid}_{process_start_time(child.pid)}_n{pid_namespace()}"
    assert not session_is_dead(name)
    child.kill()
    import time

    for _ in range(100):  # not reaped: a zombie until we wait for it
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    assert session_is_dead(name)
    child.wait()


def test_paths(tmp_path: Path) -> None:
    ok = tmp_path / "bin"
    ok.write_bytes(b"x")
    assert check_probe_path(str(ok)) == str(ok.resolve())
    for bad in ["has space", "hash#mark", "new\nline"]:
        p = tmp_path / bad
        p.write_bytes(b"x")
        with pytest.raises(BadInput):
            check_probe_path(str(p))
    with pytest.raises(BadInput):
        check_probe_path(str(tmp_path))
