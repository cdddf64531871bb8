"""The TUI on the real kernel: a detach from the keyboard mid-flood loses nothing, and quit with
about a thousand probes leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from goprobe_tui.engine import EngineOptions, TraceController, open_engine
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.browser.probe_panel import ProbePanel
from goprobe_tui.ui.events.trace_pane import TracePane
from tests.conftest import need
from tests.kernel_helpers import goprobe_leftovers, private_copy, tracefs_state
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
FLOOD = 400_000
SIZE = (140, 40)


def _newest() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")


async def _select(app: GoprobeApp, pilot, name: str) -> None:
    """Search for `name`, Enter, and wait until the list's cursor is on it."""
    await pilot.press("slash", *name, "enter")
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        idx = app.main.browser.current
        if idx is not None and app.main.functions.names[idx] == name:
            return
    raise AssertionError(f"{name} never highlighted")


async def _until(pilot, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


@contextlib.contextmanager
def _app(program: str) -> Iterator[tuple[Path, GoprobeApp, TraceController]]:
    """The real app on a real session; everything detached on the way out, even on failure."""
    _newest()
    path = tc.build(program, "1.27.3")
    with GoBinary.open(str(path)) as binary:
        controller = open_engine(binary, str(path), EngineOptions(statistics=True))  # as launch.py
        try:
            yield path, GoprobeApp(binary, controller), controller
        finally:
            controller.close()


async def test_tui_detach_mid_flood_loses_nothing(root: str) -> None:
    with _app("hot") as (path, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            assert controller.stream.wait_ready() is None
            assert controller.on_binary_change is not None  # the app hears of an overwrite
            for name in ("main.Work", "main.main"):
                await _select(app, pilot, name)
                await pilot.press("space")
                await _until(pilot, lambda n=name: n in controller.attached, 10)
            proc = subprocess.Popen([str(path), str(FLOOD), "2"], stdout=subprocess.DEVNULL)
            await pilot.pause(0.3)  # mid-flood
            assert proc.poll() is None, "the flood ended before the detach"
            await pilot.press("space")  # the cursor is still on main.main
            await _until(pilot, lambda: "main.main" not in controller.attached, 10)
            assert any("main_main" in ln for ln in tracefs_state(root)[0])  # disabled only
            await asyncio.to_thread(proc.wait, 60)
            pane = app.query_one(TracePane)
            # conditions, not times: a loaded machine (three test workers on two CPUs) took
            # longer than 30 s to show the flood
            await _until(pilot, lambda: len(pane.rows) + pane.dropped >= FLOOD + 1, 180)
            await pilot.pause(0.3)
            s = controller.status()
            assert (s.received, s.lost) == (FLOOD + 1, 0)  # the flood and main.main's entry
            assert len(pane.rows) + pane.dropped == FLOOD + 1
            await pilot.press("q")
            await _until(pilot, lambda: not app.is_running, 120)
    assert goprobe_leftovers(root) == []


async def test_tui_quit_with_a_thousand_probes_leaves_nothing(root: str) -> None:
    with _app("large") as (_path, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            fns = [
                i
                for i, n in enumerate(app.main.functions.names)
                if n.startswith(("fmt.", "encoding/json.", "regexp.", "text/template.", "net/http."))
            ]
            app.main._attach_functions(fns, returns=True)
            await app.workers.wait_for_complete()
            assert controller.session.probe_count() >= 1000
            # a mass attach reads registers only: few distinct fetch-arg sets, so few events
            # (one ~70 ms kernel wait each at detach; read behind pointers they were 317)
            assert controller.attacher.last_shallow and len(controller.session.events) <= 40
            await pilot.press("q")
            await _until(pilot, lambda: not app.is_running, 60)
        assert goprobe_leftovers(root) == []


def _all_disabled(controller: TraceController) -> bool:
    instance = controller.session.instance
    if not os.path.isdir(instance):
        return True
    try:
        return all(p.read_text().strip() != "1" for p in Path(instance).glob("events/*/*/enable"))
    except FileNotFoundError:  # removed while read: gone is disabled
        return True


async def test_tui_quit_during_a_flood_stops_the_target_paying_at_once(root: str) -> None:
    """q while events flood in: every probe is disabled within a second, however busy the UI
    loop is (teardown progress never waits for it)."""
    with _app("hot") as (path, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            await _select(app, pilot, "main.Work")
            await pilot.press("r")
            await _until(pilot, lambda: controller.returns_of("main.Work"), 10)
            flood = subprocess.Popen([str(path), "2000000", "2"], stdout=subprocess.DEVNULL)
            try:
                # the flood is on: the kernel counts the traps (the decoder, at nice 19, may lag
                # behind on a busy machine; that is not what this test judges)
                await _until(pilot, lambda: controller.hits().get("main.Work", 0) > 20_000, 30)
                disabled_at: list[float] = []

                def watch() -> None:  # outside the UI loop: it is the one that is busy
                    while not _all_disabled(controller):
                        time.sleep(0.002)
                    disabled_at.append(time.monotonic())

                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                # the clock starts when quit runs: the key itself may wait for the loop
                quit_at: list[float] = []
                quit_app = app.quit_detaching

                def timed_quit() -> None:
                    quit_at.append(time.monotonic())
                    quit_app()

                app.quit_detaching = timed_quit  # what q on the main screen calls
                # a loop saturated for good: anything teardown waited for would hold it back
                app.set_interval(0.01, lambda: time.sleep(1.5))
                await pilot.press("q")
                await asyncio.to_thread(watcher.join, 30)
                assert quit_at and disabled_at and disabled_at[0] - quit_at[0] < 1.0, (quit_at, disabled_at)
                await _until(pilot, lambda: not app.is_running, 60)
            finally:
                flood.kill()
                flood.wait()
    assert goprobe_leftovers(root) == []


async def test_tui_fields_per_probe(root: str) -> None:
    """`e` on a function: its own --field selectors, applied by attaching it again; a bad one
    is a notification and the previous fields stay."""
    with _app("values") as (path, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            await _select(app, pilot, "main.Handle")
            await pilot.press("space")
            await _until(pilot, lambda: "main.Handle" in controller.attached, 10)
            await pilot.press("e", *"r.URL.Path", "enter")  # typed right after the key
            await app.workers.wait_for_complete()
            await _until(
                pilot,
                lambda: controller.fields_of(app.main.functions[app.main.browser.current]) == ("r.URL.Path",),
                10,
            )
            assert "main.Handle" in controller.attached
            await pilot.press("e", "ctrl+u", *"r.Nope", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert any("r.Nope" in n.message and "has no field Nope" in n.message for n in app._notifications)
            assert controller.fields_of(app.main.functions[app.main.browser.current]) == ("r.URL.Path",)
            await asyncio.to_thread(subprocess.run, [str(path)], stdout=subprocess.DEVNULL, timeout=60)
            pane = app.query_one(TracePane)
            await _until(pilot, lambda: len(pane.rows) >= 2, 10)
            texts = [pane.text(i) for i in range(len(pane.rows))]
            assert any('r.URL.Path="/healthz"' in t for t in texts), texts
            assert any("r.URL.Path=<nil pointer on the way>" in t for t in texts), texts
            await pilot.press("q")
            await _until(pilot, lambda: not app.is_running, 30)
    assert goprobe_leftovers(root) == []


def _instance_filters(controller: TraceController) -> list[str]:
    base = Path(controller.session.instance) / "events" / controller.session.group
    return sorted(t for t in (p.read_text().strip() for p in base.glob("*/filter")) if t != "none")


def _cell(panel: ProbePanel, row: str, column: str) -> str:
    return str(panel.get_cell(row, column)).strip()


async def test_tui_condition_and_follow_goroutine_on_the_kernel(root: str) -> None:
    """`w` compiles a condition into the kernel filter (10 of 1,000 calls recorded); `F` on an
    event adds `goid == N` to every event's filter, and F again takes it away."""
    with _app("insight") as (path, app, controller):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await _select(app, pilot, "main.Check")
            await pilot.press("r")
            await _until(pilot, lambda: controller.returns_of("main.Check"), 10)
            await pilot.press("w", *"i >= 990", "enter")
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: _instance_filters(controller) == ["c0 >= 990"], 10)
            # a condition nested too deep: one notification, and the one in force stays
            await pilot.press("w", "ctrl+u", *("(" * 40 + "i > 1" + ")" * 40), "enter")
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: any("nested deeper" in n.message for n in app._notifications), 10)
            assert controller.condition_of(app.main.functions[app.main.browser.current]) == "i >= 990"
            assert _instance_filters(controller) == ["c0 >= 990"]
            await asyncio.to_thread(
                subprocess.run, [str(path), "check"], stdout=subprocess.DEVNULL, timeout=60
            )
            pane = app.query_one(TracePane)
            await _until(pilot, lambda: len(pane.rows) >= 20, 10)
            await pilot.pause(0.3)
            entries = [pane.event(i) for i in range(len(pane.rows)) if pane.event(i).kind == "entry"]
            assert sorted(e.args["i"] for e in entries) == list(range(990, 1000))
            # hits count what was asked for, as Stats does: the 10 matching calls of 1,000
            panel = app.query_one(ProbePanel)
            await _until(pilot, lambda: _cell(panel, "main.Check", "hits") == "10", 10)
            assert {s.function: s.calls for s in controller.insight()}["main.Check"] == 10
            assert "where i >= 990" in _cell(panel, "main.Check", "status")
            app.main._focus(pane)
            await pilot.press("F")
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: controller.status().following == 1, 10)
            assert _instance_filters(controller) == ["(c0 >= 990) && goid == 1", "goid == 1"]
            await _until(pilot, lambda: "following g1" in str(app.query_one("#trace-status").render()), 10)
            await pilot.press("F")
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: controller.status().following is None, 10)
            assert _instance_filters(controller) == ["c0 >= 990"]
            await pilot.press("q")
            await _until(pilot, lambda: not app.is_running, 30)
    assert goprobe_leftovers(root) == []


async def test_tui_inlined_calls_count_and_a_line_probe_from_the_details(root: str) -> None:
    """Space on main.Square attaches its inlined copies too: its hits are every call. Enter
    shows main.Sums's details; Enter on its `hist[i&7]++` line probes it: 50 runs, each with
    i. Space in the probe panel detaches the line."""
    with _app("inline") as (path, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            assert controller.stream.wait_ready() is None
            await _select(app, pilot, "main.Square")
            await pilot.press("space")
            await _until(pilot, lambda: "main.Square" in controller.attached, 10)
            await _select(app, pilot, "main.Sums")
            await pilot.press("enter")
            await pilot.pause()
            lines = app.screen.query_one("#details-lines")
            source = (tc.GO_SOURCES / "inline" / "main.go").read_text().splitlines()
            want = next(n for n, text in enumerate(source, 1) if text.strip() == "hist[i&7]++")
            lines.highlighted = next(
                i for i, opt in enumerate(lines.options) if opt.id.endswith(f"main.go:{want}")
            )
            # the details say which locals a probe on the highlighted line shows
            shown = app.screen.query_one("#details-locals")
            await _until(
                pilot,
                lambda: f"main.go:{want}: reads" in str(shown.render()) and " i" in str(shown.render()),
                20,
            )
            await pilot.press("enter")
            key = f"main.go:{want}"
            await _until(pilot, lambda: key in controller.attached, 10)
            out = subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout
            ran = int(out.split("Square=")[1].split()[0])
            panel = app.query_one(ProbePanel)
            await _until(
                pilot,
                lambda: (
                    panel.model.get("main.Square") is not None
                    and panel.model["main.Square"].hits == ran
                    and panel.model.get(key) is not None
                    and panel.model[key].hits == 50
                ),
                20,
            )
            events = [e for e in app.main._events_view.events() if e.kind == "line"]
            assert [e.args["i"] for e in events] == list(range(50))
            app.main._focus(panel)
            panel.move_cursor(row=list(panel.model).index(key))
            await pilot.press("space")
            await _until(pilot, lambda: key not in controller.attached, 10)
    assert goprobe_leftovers(root) == []


def _waiting(path: Path, *args: str) -> subprocess.Popen:
    """A test program started and waiting for its line on stdin."""
    proc = subprocess.Popen([str(path), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@contextlib.contextmanager
def _pid_app(
    program: str, *args: str
) -> Iterator[tuple[Path, subprocess.Popen, GoprobeApp, TraceController]]:
    """The real app on `goprobe-tui --pid` of a waiting program (a private copy: the kernel's hit
    counters are then ours alone); all of it ended on the way out."""
    _newest()
    tmp = tempfile.mkdtemp()
    path = private_copy(tc.build(program, "1.27.3"), Path(tmp))
    target = _waiting(path, *args)
    try:
        with GoBinary.open(str(path)) as binary:
            controller = open_engine(
                binary, f"/proc/{target.pid}/exe", EngineOptions(pid=target.pid, statistics=True)
            )
            try:
                yield path, target, GoprobeApp(binary, controller, pid=target.pid), controller
            finally:
                controller.close()
    finally:
        target.kill()
        target.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    assert not goprobe_leftovers()


async def test_tui_pid_traces_the_target_and_never_its_sibling(root: str) -> None:
    """`goprobe-tui --pid`: the panel's hits are the target's calls, the events its own, and a
    copy of the same binary running beside it is never trapped (perf's per-process filter)."""
    with _pid_app("ticker", "200") as (path, target, app, controller):
        assert controller.session.perf is not None
        async with app.run_test(size=SIZE) as pilot:
            await _select(app, pilot, "main.Tick")
            await pilot.press("space")
            await _until(pilot, lambda: "main.Tick" in controller.attached, 30)
            _waiting(path, "3000").communicate("go\n", timeout=60)  # the sibling
            target.communicate("go\n", timeout=60)
            pane = app.query_one(TracePane)
            await _until(pilot, lambda: len(pane.rows) >= 200, 30)
            panel = app.query_one(ProbePanel)
            await _until(pilot, lambda: panel.model["main.Tick"].hits == 200, 30)
            assert {pane.event(i).pid for i in range(len(pane.rows))} == {target.pid}
            assert len(pane.rows) == 200
            assert sum(controller.session.hits().values()) == 200  # the sibling's 3,000: no trap


async def test_tui_lineage_names_each_goroutines_creator_and_goes_to_the_parent(root: str) -> None:
    """`n` records goroutine creations: the details of an event of main.leaf say which worker
    created its goroutine, as the program's own stack does, and `u` in the Calls view goes to
    that worker's calls."""
    with _pid_app("spawn") as (_path, target, app, controller):
        async with app.run_test(size=SIZE) as pilot:
            await _select(app, pilot, "main.leaf")
            await pilot.press("r")
            await _until(pilot, lambda: "main.leaf" in controller.attached, 120)
            await pilot.press("n")
            await _until(pilot, lambda: controller.goroutines, 120)
            out, _ = target.communicate("go\n", timeout=60)
            await _until(pilot, lambda: len(app.main.lineage) >= 9, 120)
            seen = {}
            for line in out.splitlines():
                _role, goid, _c, _b, creator, _in, _g, parent = line.split()
                seen[int(goid)] = (creator, int(parent))
            pane = app.query_one(TracePane)
            await _until(pilot, lambda: sum(1 for r in pane.rows if r[5] == "main.leaf") >= 12, 120)
            leaf = next(
                pane.event(i)
                for i in range(len(pane.rows))
                if pane.rows[i][5] == "main.leaf" and pane.rows[i][6] == "entry"
            )
            creator, parent = seen[leaf.goid]
            assert app.main.created_by(leaf.pid, leaf.goid).startswith(
                f"goroutine {leaf.goid}, created by {creator} at main.go:"
            )
            assert app.main.created_by(leaf.pid, leaf.goid).endswith(f"in goroutine {parent}")
            app.main._show_calls(leaf)
            await pilot.pause()
            await pilot.press("u")
            await pilot.pause()
            assert app.main.calls_of == (leaf.pid, parent)
