"""`ps` and the TUI's start screen: every Go process this test starts (one in a PID and mount
namespace too) is listed with its Go version and module, and no non-Go process is."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from goprobe_tui.engine.processes import go_processes
from tests.conftest import need
from tests.support import toolchains as tc

NEWEST = "1.27.3"


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


@pytest.fixture
def started(root: str):
    """A ticker on the host, one inside `unshare --mount --pid --fork`, and `sleep` (not Go):
    (host ticker pid, namespaced ticker's host pid, sleep pid)."""
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = str(tc.build("ticker", NEWEST))
    host = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    inside = subprocess.Popen(
        ["unshare", "--mount", "--pid", "--fork", binary],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    other = subprocess.Popen(["sleep", "300"])
    procs = [host, inside, other]
    try:
        assert host.stdout.readline().strip() == "ready"
        assert inside.stdout.readline().strip() == "ready"
        (inner,) = _children(inside.pid)
        yield host.pid, inner, other.pid
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_ps_lists_every_go_process_and_no_other(started) -> None:
    host, inner, other = started
    scan = go_processes()
    by_pid = {p.pid: p for p in scan.processes}
    assert host in by_pid and inner in by_pid and other not in by_pid
    assert by_pid[host].goversion == f"go{NEWEST}" and by_pid[host].module == "goprobe.test/ticker"
    assert by_pid[host].nspid is None and by_pid[inner].nspid == 1
    assert by_pid[inner].container.startswith("mount namespace")
    assert by_pid[host].threads >= 1 and by_pid[host].user == "root"
    assert all(p.goversion.startswith("go") for p in scan.processes)


def test_ps_json_has_the_documented_keys(started) -> None:
    host, inner, _other = started
    out = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "ps", "--json"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    rows = {r["pid"]: r for r in json.loads(out.stdout)}
    for key in ("pid", "nspid", "binary", "goversion", "module", "container"):
        assert key in rows[host] and key in rows[inner]
    assert rows[inner]["nspid"] == 1 and rows[host]["binary"].endswith(
        "ticker-go1.27.3-default-" + rows[host]["binary"][-16:]
    )
    text = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "ps"], capture_output=True, text=True, timeout=60
    ).stdout
    assert any(line.startswith(f"{inner} ") and "go1.27.3" in line for line in text.splitlines())


async def _pick(pid: int) -> int | None:
    from goprobe_tui.ui.picker.process_picker import ProcessPicker

    app = ProcessPicker()
    async with app.run_test(size=(160, 30)) as pilot:
        while app.scan is None:
            await pilot.pause(0.05)
        await pilot.press("slash", *str(pid), "enter", "enter")
        await pilot.pause()
    return app.return_value


def test_the_start_screen_opens_the_process_chosen(started) -> None:
    import asyncio

    _host, inner, _other = started
    assert asyncio.run(_pick(inner)) == inner


def test_a_record_older_than_the_thread_with_its_id_is_not_given_to_that_thread(tmp_path) -> None:
    """Thread ids are reused. A record written before the thread that now has its id started
    is an earlier thread's: it is named from the kernel's saved_tgids, never after the newcomer."""
    import os
    import time

    from goprobe_tui.pipeline.process_info import ProcessInfo

    me = os.getpid()
    (tmp_path / "saved_tgids").write_text(f"{me} 4242\n")
    (tmp_path / "saved_cmdlines").write_text(f"{me} earlier\n")
    info = ProcessInfo(str(tmp_path))
    assert info.thread(me, time.monotonic_ns())[:2] == (me, info.thread(me)[1])  # now: this process
    assert info.thread(me, 1_000)[:2] == (4242, "earlier")  # just after boot: not this process


def test_records_of_another_machine_are_never_named_from_this_machines_proc(tmp_path) -> None:
    """replay: a thread id of the target may be a live process here; only the target's saved
    files may name it."""
    import os
    import time

    from goprobe_tui.pipeline.process_info import ProcessInfo

    me = os.getpid()
    (tmp_path / "saved_tgids").write_text(f"{me} 4242\n")
    (tmp_path / "saved_cmdlines").write_text(f"{me} target\n")
    info = ProcessInfo(str(tmp_path), live=False)
    assert info.thread(me, time.monotonic_ns())[:2] == (4242, "target")
    assert info.file_offset(me, "/proc/self/exe", 0x1000) is None


def test_a_process_that_cannot_be_read_is_named_with_why_once(monkeypatch, capsys) -> None:
    """`ps` said "1 process could not be read" on every run (pid 1 of a sandbox): now each such
    process is named, by pid and name, with the kernel's reason, once."""
    import argparse
    import os

    from goprobe_tui.cli import processes as cli
    from goprobe_tui.engine import processes as engine

    me = engine._unreadable(os.getpid(), PermissionError(13, "Permission denied"))
    assert me.pid == os.getpid() and me.comm and "not permitted" in me.why
    monkeypatch.setattr(cli, "go_processes", lambda: engine.Scan([], [me], 0))
    cli.run_ps(argparse.Namespace(json=False))
    err = capsys.readouterr().err.splitlines()
    assert err == [f"goprobe-tui: pid {me.pid} ({me.comm}) could not be read: {me.why}"]


def test_the_picker_names_each_binary_first() -> None:
    """At 80 columns BINARY was cut: `svc` and `svc-stripped` in one folder looked the same."""
    from goprobe_tui.engine.processes import GoProcess
    from goprobe_tui.ui.picker.process_picker import COLUMNS, _row

    fields = {f: "" for f in GoProcess.__dataclass_fields__}
    p = GoProcess(
        **{
            **fields,
            "pid": 42,
            "nspid": None,
            "uptime_s": 5.0,
            "threads": 3,
            "binary": "/srv/very/long/path/to/the/services/svc-stripped",
        }
    )
    row = dict(zip(COLUMNS, _row(p), strict=True))
    assert COLUMNS[:2] == ("PID", "NAME") and row["NAME"] == "svc-stripped"


def test_a_pid_given_to_another_process_is_not_the_one_traced() -> None:
    """`trace --pid` stops when its process exits; pids wrap at pid_max (threads take them too),
    and a new process with the same pid kept a trace waiting for ever."""
    import os

    from goprobe_tui.engine.target import process_alive, process_start_time

    start = process_start_time(os.getpid())
    assert start is not None and process_alive(os.getpid(), start)
    assert not process_alive(os.getpid(), start + 1)  # same pid, started at another time
    assert process_alive(os.getpid())
