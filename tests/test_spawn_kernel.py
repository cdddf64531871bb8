"""Goroutine lineage (`trace --goroutines`): main starts 3 workers, each starts 2 leaves; the
9 creations recorded equal what the program itself sees in its stacks ("created by F in
goroutine N"), with DWARF and stripped, on Go 1.19 (parent read through g0.m.curg) and 1.27
(newg.parentGoid)."""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.gobinary.goroutine import VERIFIED_SPAWN_LAYOUTS, spawn_layout
from tests.conftest import need
from tests.kernel_helpers import TraceRun
from tests.support import toolchains as tc


def test_spawn_layouts_of_the_table_match_dwarf() -> None:
    for version in tc.goroots():
        for variant in ("default", "arm64"):  # 64-bit targets share the runtime's layout
            with GoBinary.open(str(tc.build("spawn", version, variant))) as b:
                assert spawn_layout(b) == VERIFIED_SPAWN_LAYOUTS[b.buildinfo.version_tuple()], (
                    version,
                    variant,
                )


@pytest.mark.kernel
@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
@pytest.mark.parametrize("variant", ["default", "strip"])
def test_nine_creations_equal_what_the_program_sees(root: str, version: str, variant: str) -> None:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    binary = tc.build("spawn", version, variant)
    target = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline().strip() == "ready"
        run = TraceRun("--json", "--goroutines", "--pid", str(target.pid), str(binary))
        out, _ = target.communicate("go\n", timeout=60)
    finally:
        target.kill()
        target.wait()
    events, err = run.finish()
    seen = {}  # child goid -> (creator, parent goid or None) as the program printed them
    for line in out.splitlines():
        m = re.fullmatch(r"(worker|leaf) (\d+) created by (\S+)(?: in goroutine (\d+))?", line)
        assert m, line
        seen[int(m.group(2))] = (m.group(3), int(m.group(4)) if m.group(4) else None)
    assert len(seen) == 9
    spawns = [e for e in events if e["kind"] == "spawn" and e["child_goid"] in seen]
    assert len(spawns) == 9, err
    for e in spawns:
        creator, parent = seen[e["child_goid"]]
        assert e["function"] == creator and e["file"].endswith("main.go") and e["line"] > 0
        if parent is not None:  # Go 1.21+ prints the parent
            assert e["goid"] == parent
    workers = {g for g, (creator, _p) in seen.items() if creator == "main.main"}
    leaves = [e for e in spawns if e["function"] == "main.worker"]
    assert sorted(e["goid"] for e in leaves) == sorted(list(workers) * 2)  # each worker: 2 leaves
    assert all(e["goid"] == 1 for e in spawns if e["function"] == "main.main")


@pytest.mark.kernel
@pytest.mark.parametrize("index", range(3), ids=["go1.17.1", "go1.18", "go1.20"])
def test_stripped_lineage_of_real_releases_without_a_toolchain(root: str, tmp_path, index: int) -> None:
    """Go 1.17, 1.18 and 1.20 have no test toolchain: their offsets come from the stores
    runtime.newproc1 itself makes in these real stripped esbuild releases (goid at +0x98, gopc
    at +0x128, startpc at +0x138, as in 1.19), and hold here by behaviour: every goroutine of
    a bundling run is recorded once, each parent is one already known (0, the bootstrap, for
    runtime.main), and every `go` statement and start function is a real function."""
    from tests.support import npm_fixtures

    pkg = npm_fixtures.LINEAGE_BINARIES[index]
    binary = npm_fixtures.fetch(pkg)
    with GoBinary.open(str(binary)) as b:
        assert b.goversion.startswith(pkg.goversion) and not b.dwarf.available
    (tmp_path / "a.js").write_text("export const a = 1\n")
    (tmp_path / "in.js").write_text('import {a} from "./a.js"; console.log(a)\n')
    run = TraceRun("--json", "--goroutines", str(binary))
    pids = []
    for _ in range(2):
        proc = subprocess.Popen(
            [str(binary), "--bundle", "in.js"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pids.append(proc.pid)
        assert proc.wait(timeout=60) == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    for pid in pids:
        spawns = sorted(
            (e for e in events if e["kind"] == "spawn" and e["pid"] == pid), key=lambda e: e["ts"]
        )
        assert len(spawns) >= 5, err
        first = spawns[0]
        assert (first["goid"], first["child_goid"], first["start"]) == (0, 1, "runtime.main")
        known = {0}
        for e in spawns:
            assert e["goid"] in known, (e, sorted(known))  # a parent seen before its child
            assert e["child_goid"] not in known  # each goroutine created once
            known.add(e["child_goid"])
            assert e["function"] and e["function"] != "?" and e["line"] > 0
            assert e["start"] and e["start"] != "?"
        assert any(e["start"].startswith("github.com/evanw/esbuild/") for e in spawns)


def test_lineage_is_refused_clearly_where_it_cannot_work() -> None:
    import sys

    from tests.support import npm_fixtures

    for pkg, why in (
        (npm_fixtures.OLD_BINARIES[4], "needs Go 1.17 or newer on amd64 (this binary: go1.16"),
        (npm_fixtures.OLD_BINARIES[3], "needs Go 1.18 or newer on arm64 (this binary: go1.15"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "trace", "--goroutines", str(npm_fixtures.fetch(pkg))],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0 and why in done.stderr, done.stderr


def test_an_unknown_runtime_layout_is_refused_not_guessed(monkeypatch) -> None:
    from goprobe_tui.engine import attach
    from goprobe_tui.gobinary import goroutine
    from goprobe_tui.tracefs.errors import ProbeError

    monkeypatch.setattr(goroutine, "VERIFIED_SPAWN_LAYOUTS", {})
    monkeypatch.setattr(attach, "VERIFIED_SPAWN_LAYOUTS", {})
    with (
        GoBinary.open(str(tc.build("spawn", "1.27.3", "sw"))) as b,
        pytest.raises(ProbeError, match=re.escape("the runtime's layout of go1.27.3 is unknown")),
    ):
        attach.Attacher(b, None).spawn_plan()
