"""The TUI's Goroutines view on a real running program (tests/go/parked): its goroutines grouped
as the headless dump groups them, a group that grows shown growing (its count, Δ and ↑), Enter on
a group its stack and goroutines, `g` a goroutine's calls; without any probe attached too."""

from __future__ import annotations

import pytest

from goprobe_tui.engine.goroutine_groups import group_goroutines
from goprobe_tui.engine.goroutines import dump_goroutines
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.calls.call_tree_view import CallTreeView
from goprobe_tui.ui.goroutines.goroutines_view import GoroutinesView
from goprobe_tui.ui.goroutines.group_screen import GroupScreen
from tests.conftest import need
from tests.fake_engine import FakeController
from tests.support import toolchains as tc
from tests.support.programs import start_parked
from tests.support.until import until

SIZE = (140, 40)
VERSION = "1.27.3"


@pytest.fixture
def parked():
    need(VERSION in tc.goroots(), f"Go {VERSION} toolchain missing: run .ci/run")
    path = tc.build("parked", VERSION)
    proc = start_parked(path)
    binary = GoBinary.open(str(path))
    yield proc, binary
    binary.close()
    proc.kill()
    proc.wait()


async def _goroutines_shown(app, pilot) -> GoroutinesView:
    while app.main.trace_area.current != "goroutines-view":
        await pilot.press("v")
    view = app.query_one(GoroutinesView)
    await until(pilot, lambda: view.dump is not None)
    return view


def _receivers(view: GoroutinesView):
    return next(g for g in view.groups if g.where == "main.receiver")


class _None:
    members: list = []


def _leak(view: GoroutinesView, initial):
    """The receivers started from stdin's "+N" (another go statement: another group)."""
    return next((g for g in view.groups if g.where == "main.receiver" and g.key != initial), _None)


async def test_the_view_groups_a_running_programs_goroutines_without_any_probe(parked) -> None:
    proc, binary = parked
    app = GoprobeApp(binary, None, "no tracing in this test", pid=proc.pid)
    async with app.run_test(size=SIZE) as pilot:
        view = await _goroutines_shown(app, pilot)
        assert view.dump.pid == proc.pid
        ours = {(g.state, g.where, len(g.members)) for g in view.groups}
        headless = {
            (g.state, g.where, len(g.members)) for g in group_goroutines(dump_goroutines(proc.pid, binary))
        }
        # the same grouping as `goroutines --pid`, for the goroutines that stay put (the
        # spinner is running or runnable from one moment to the next)
        parked = {w for w in ours if w[0].startswith("waiting")}
        assert parked == {w for w in headless if w[0].startswith("waiting")}
        assert "main.spinner" in {w[1] for w in ours - parked}
        assert ("waiting [chan receive]", "main.receiver", 3) in ours
        assert {"waiting [select]", "waiting [sleep]"} <= {s for s, _w, _n in ours}
        assert proc.poll() is None  # read from outside: it keeps running

        # a leak: 5 more receivers from another go statement, then 4 more; that group grows
        # and says so
        initial = _receivers(view).key
        for total in (5, 9):
            proc.stdin.write(f"+{total - 5 if total == 9 else 5}\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ready"
            await until(pilot, lambda total=total: len(_leak(view, initial).members) == total)
        grp = _leak(view, initial)
        assert view.history.only_grew(grp.key) and not view.history.only_grew(initial)
        row = view.groups.index(grp)
        table = view.query_one("#goroutine-table")
        assert str(table.get_row_at(row)[1]) == "+9↑"  # Δ since the first dump, and only grew
        assert "█" in table.get_row_at(row)[2]  # its trend

        # Enter: the group's stack and its goroutines
        table.move_cursor(row=row)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GroupScreen))
        screen = app.screen
        assert {g.goid for g in screen.group.members} == {g.goid for g in grp.members}
        assert screen.query_one("#group-members").row_count == 9
        # g on one: no probe is attached, so it says why there are no calls
        await pilot.press("g")
        await until(pilot, lambda: not isinstance(app.screen, GroupScreen))
        assert any("no probe is attached" in n.message for n in app._notifications)


async def test_g_on_a_goroutine_opens_its_calls(parked) -> None:
    proc, binary = parked
    engine = FakeController()
    app = GoprobeApp(binary, engine, pid=proc.pid)
    async with app.run_test(size=SIZE) as pilot:
        view = await _goroutines_shown(app, pilot)
        sleeper = next(g for g in view.groups if g.where == "main.sleeper")
        goid = sleeper.first.goid
        engine.attach(binary.find("main.sleeper"), False)
        engine.push(
            [
                TraceEvent(1_000, 0, proc.pid, proc.pid, "parked", "main.sleeper", "entry", "e", goid=goid),
                TraceEvent(2_000, 0, proc.pid, proc.pid, "parked", "main.other", "entry", "e", goid=goid + 1),
            ]
        )
        await until(pilot, lambda: len(list(app.main._events_view.events())) == 2)
        await pilot.press("v", "v", "v", "v", "v")  # round to the Goroutines view again
        assert app.main.trace_area.current == "goroutines-view"
        view.query_one("#goroutine-table").move_cursor(row=view.groups.index(sleeper))
        await pilot.press("g")  # a group of one: its calls at once
        await until(pilot, lambda: app.main.trace_area.current == "calls-view")
        assert app.main.calls_of == (proc.pid, goid)
        tree = app.query_one(CallTreeView)
        assert f"goroutine {goid}" in str(tree.root.label) and "1 events" in str(tree.root.label)


async def test_without_a_process_the_view_says_how_to_get_one(parked) -> None:
    _proc, binary = parked
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE) as pilot:
        while app.main.trace_area.current != "goroutines-view":
            await pilot.press("v")
        status = str(app.query_one("#goroutines-status").render())
        assert "--pid" in status and app.query_one(GoroutinesView).dump is None


async def test_the_view_says_when_the_process_ends(parked) -> None:
    proc, binary = parked
    app = GoprobeApp(binary, None, "no tracing in this test", pid=proc.pid)
    async with app.run_test(size=SIZE) as pilot:
        view = await _goroutines_shown(app, pilot)
        proc.kill()
        proc.wait()
        await until(pilot, lambda: view.stopped != "")
        assert f"process {proc.pid} exited" in str(app.query_one("#goroutines-status").render())
        assert view.groups  # the last dump stays on screen, said to be the last


async def test_the_trends_go_on_while_another_view_is_shown(parked) -> None:
    """Once shown, a cheap dump (a process of few goroutines) goes on every 2 s behind the other
    views, so a group's trend has no hole when one comes back to it."""
    proc, binary = parked
    app = GoprobeApp(binary, None, "no tracing in this test", pid=proc.pid)
    async with app.run_test(size=SIZE) as pilot:
        view = await _goroutines_shown(app, pilot)
        await pilot.press("v")
        assert app.main.trace_area.current != "goroutines-view" and not view.display
        dumps = view.history.dumps
        await until(pilot, lambda: view.history.dumps >= dumps + 2)
