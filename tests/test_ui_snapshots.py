"""Snapshot tests of the main screens (pytest-textual-snapshot). Update: pytest --snapshot-update."""

from __future__ import annotations

import shutil

import pytest

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.events.trace_pane import TracePane
from tests.conftest import need
from tests.fake_engine import FakeController, sample_events
from tests.support import toolchains as tc

SIZE = (120, 36)


class QuietEngine(FakeController):
    def hits(self) -> dict[str, int]:
        return {}  # the 1 s hit poll would make snapshots timing-dependent


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    dst = tmp_path_factory.mktemp("snap") / "large"
    shutil.copy(tc.build("large", "1.27.3"), dst)
    b = GoBinary.open(str(dst))
    yield b
    b.close()


def _app(binary, engine) -> GoprobeApp:
    return GoprobeApp(binary, engine, clock_start_ns=0)  # times shown relative to 0: fixed


async def _settle(pilot) -> None:
    while not pilot.app.main.catalog_ready:  # read once the list is on screen
        await pilot.pause(0.05)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


def test_browser_with_search(binary, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        await pilot.press("slash", *"handle", "enter")
        await _settle(pilot)

    assert snap_compare(_app(binary, QuietEngine()), terminal_size=SIZE, run_before=run_before)


def test_probes_attached_with_events(binary, snap_compare) -> None:
    engine = QuietEngine()

    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        await pilot.press("slash", *"main.Greet", "enter", "r")
        await _settle(pilot)
        engine.push(sample_events())
        await _settle(pilot)

    assert snap_compare(_app(binary, engine), terminal_size=SIZE, run_before=run_before)


def test_filtered_trace_pane(binary, snap_compare) -> None:
    engine = QuietEngine()

    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        engine.push(sample_events())
        await _settle(pilot)
        await pilot.press("f", *"printf", "enter")
        await _settle(pilot)

    assert snap_compare(_app(binary, engine), terminal_size=SIZE, run_before=run_before)


def test_read_only_banner(binary, snap_compare) -> None:
    app = GoprobeApp(binary, None, "tracefs is not writable: run as root (sudo)")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_help_screen(binary, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        await pilot.press("question_mark")
        await _settle(pilot)

    assert snap_compare(_app(binary, QuietEngine()), terminal_size=SIZE, run_before=run_before)


def test_stats_view(binary, snap_compare) -> None:
    from tests.test_ui_insight import stat

    engine = QuietEngine()
    engine.snapshot = [stat("main.Greet", 300, 1, errors=4), stat("main.(*Server).handleConn", 50, 90)]

    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        await pilot.press("v")
        await pilot.pause(0.8)

    assert snap_compare(_app(binary, engine), terminal_size=SIZE, run_before=run_before)


def test_calls_view(binary, snap_compare) -> None:
    from tests.test_ui_insight import call_events

    engine = QuietEngine()

    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        engine.push(call_events())
        await _settle(pilot)
        pilot.app.main._focus(pilot.app.query_one(TracePane))
        await pilot.press("up", "up", "up", "g")
        await _settle(pilot)

    assert snap_compare(_app(binary, engine), terminal_size=SIZE, run_before=run_before)


async def _every_view_with_data(pilot, engine, view: str) -> None:
    from tests.test_ui_insight import call_events, stat

    engine.snapshot = [stat("main.Greet", 300, 1, errors=4), stat("main.(*Server).handleConn", 50, 90)]
    for name in ("main.Greet", "handleconn"):
        await pilot.press("slash", *name, "enter", "r")
        await _settle(pilot)
    engine.push(sample_events() * 3 + call_events())
    await _settle(pilot)
    app = pilot.app
    if view == "stats":
        await pilot.press("v")
        await pilot.pause(0.8)
    elif view == "calls":
        app.main._focus(app.query_one(TracePane))
        await pilot.press("up", "up", "up", "g")
        await _settle(pilot)
    elif view == "zoomed":
        app.main._focus(app.query_one("#probes"))
        await pilot.press("z")
        await _settle(pilot)


@pytest.mark.parametrize("view", ["events", "stats", "calls", "zoomed"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_every_view_with_data_at_80x24_and_160x48(binary, snap_compare, size, view) -> None:
    """Each view usable with data: counts never cut, the header says whether tracing works, a
    zoomed pane fills the screen, the footer's keys fit (more in ?)."""
    engine = QuietEngine()

    async def run_before(pilot) -> None:
        await _settle(pilot)  # the functions that exist only inlined have joined the list
        await _every_view_with_data(pilot, engine, view)

    assert snap_compare(_app(binary, engine), terminal_size=size, run_before=run_before)
