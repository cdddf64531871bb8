"""`trace --format chrome|folded -o FILE` on the real kernel: the 3 goroutines of the insight
program's tree (Outer -> Inner -> Inner -> Inner -> Leaf each) as tracks of nested calls, and as
folded paths; the file appears whole, only at the end."""

from __future__ import annotations

import itertools
import json
import signal

import pytest

from tests.conftest import need
from tests.kernel_helpers import TraceRun, run_program
from tests.support import toolchains as tc

NEWEST = "1.27.3"
TREE = ("main.Outer", "main.Inner", "main.Leaf")


def _traced(tmp_path, fmt: str) -> tuple[object, str]:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST)
    out = tmp_path / f"trace{fmt}"
    run = TraceRun("--ret", "-o", str(out), str(binary), *TREE)
    assert not out.exists()  # nothing until the whole file is written
    assert run_program(binary, "tree").returncode == 0
    run.proc.send_signal(signal.SIGINT)
    _events, err = run.finish()
    assert run.proc.returncode == 0, err
    assert list(tmp_path.iterdir()) == [out], "no temporary file is left"
    return out, err


@pytest.mark.kernel
def test_chrome_tracks_per_goroutine_with_nested_calls(root: str, tmp_path) -> None:
    out, err = _traced(tmp_path, ".trace.json")
    doc = json.loads(out.read_text())
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    tracks: dict[int, list[dict]] = {}
    for e in xs:
        tracks.setdefault(e["tid"], []).append(e)
    assert len(tracks) == 3, err
    for calls in tracks.values():
        calls.sort(key=lambda e: (e["ts"], -e["dur"]))
        assert [e["name"] for e in calls] == [
            "main.Outer",
            "main.Inner",
            "main.Inner",
            "main.Inner",
            "main.Leaf",
        ]
        for outer, inner in itertools.pairwise(calls):  # each inside the one before
            assert outer["ts"] <= inner["ts"] and inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"]
    names = {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e.get("name") == "thread_name"}
    assert all(names[tid] == f"goroutine {tid}" for tid in tracks)
    assert doc["otherData"]["lost_events"] == 0


@pytest.mark.kernel
def test_folded_paths_of_the_tree(root: str, tmp_path) -> None:
    out, err = _traced(tmp_path, ".folded")
    rows = [line.rsplit(" ", 1) for line in out.read_text().splitlines()]
    paths = {p for p, _ns in rows}
    assert paths == {
        "main.Outer",
        "main.Outer;main.Inner",
        "main.Outer;main.Inner;main.Inner",
        "main.Outer;main.Inner;main.Inner;main.Inner",
        "main.Outer;main.Inner;main.Inner;main.Inner;main.Leaf",
    }, err
    # main.Leaf is one RET: its entry and return probes are one address, its time 0
    assert all(int(ns) > 0 for p, ns in rows if not p.endswith("main.Leaf"))


@pytest.mark.kernel
def test_chrome_has_one_flow_per_goroutine_creation(root: str, tmp_path) -> None:
    import subprocess

    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("spawn", NEWEST)
    target = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = tmp_path / "spawn.trace.json"
    try:
        assert target.stdout.readline().strip() == "ready"
        run = TraceRun(
            "--goroutines",
            "--ret",
            "--pid",
            str(target.pid),
            "-o",
            str(out),
            str(binary),
            "main.worker",
            "main.leaf",
        )
        target.communicate("go\n", timeout=60)
    finally:
        target.kill()
        target.wait()
    _events, err = run.finish()
    doc = json.loads(out.read_text())
    gos = [
        e
        for e in doc["traceEvents"]
        if e["ph"] == "i" and e["cat"] == "spawn" and e["args"]["function"] in ("main.main", "main.worker")
    ]
    assert len(gos) == 9, err
    starts = {e["id"]: e for e in doc["traceEvents"] if e["ph"] == "s"}
    ends = {e["id"]: e for e in doc["traceEvents"] if e["ph"] == "f"}
    assert starts.keys() == ends.keys() and len(starts) >= 9
    for go in gos:  # the flow from the go statement ends on the new goroutine's own track
        (flow,) = [i for i, s in starts.items() if s["tid"] == go["tid"] and s["ts"] == go["ts"]]
        assert ends[flow]["tid"] == go["args"]["child_goid"]
    workers = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["name"] == "main.worker"]
    assert len(workers) == 3 and {e["tid"] for e in workers} == {
        g["args"]["child_goid"] for g in gos if g["args"]["function"] == "main.main"
    }
