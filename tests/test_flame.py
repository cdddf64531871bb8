"""The Flame view's data and widget: call paths with their time (traced frames and --stack
frames that were not traced), zoom, selection and the time/calls switch, at 80x24."""

from __future__ import annotations

import pytest

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.insight.flame import FlameTree
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.flame.flame_view import FlameView
from tests.conftest import need
from tests.fake_engine import FakeController
from tests.support import toolchains as tc


@pytest.fixture
def binary():
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    with GoBinary.open(str(tc.build("large", "1.27.3"))) as b:
        yield b


def _ev(ts: int, kind: str, fn: str, goid: int, latency: int | None = None, **more) -> TraceEvent:
    return TraceEvent(ts, 0, 100, 100, "app", fn, kind, "e", latency_ns=latency, goid=goid, **more)


def _tree() -> FlameTree:
    stack = (("main.handler", False, "h.go", 3), ("main.main", False, "m.go", 9))
    tree = FlameTree()
    tree.add(
        [
            _ev(0, "entry", "main.Job", 1, stack=stack),
            _ev(10, "entry", "main.leaf", 1),
            _ev(40, "return", "main.leaf", 1, 30),
            _ev(50, "entry", "main.leaf", 1),
            _ev(60, "return", "main.leaf", 1, 10),
            _ev(100, "return", "main.Job", 1, 100),
            _ev(200, "entry", "main.other", 2),
            _ev(500, "return", "main.other", 2, 300),
        ]
    )
    return tree


def test_paths_carry_their_time_and_calls() -> None:
    rows = {r.path: r for r in _tree().snapshot()}
    job = rows[("main.main", "main.handler", "main.Job")]
    assert (job.calls, job.total_ns, job.self_ns, job.width_ns, job.width_calls) == (1, 100, 60, 100, 3)
    leaf = rows[("main.main", "main.handler", "main.Job", "main.leaf")]
    assert (leaf.calls, leaf.total_ns, leaf.p50_ns, leaf.width_calls) == (2, 40, 10, 2)
    for frame in (("main.main",), ("main.main", "main.handler")):  # --stack frames, not traced:
        r = rows[frame]  # as wide as what is below them
        assert (r.calls, r.width_ns, r.width_calls) == (0, 100, 3)
    assert rows[("main.other",)].width_ns == 300


async def test_the_view_draws_selects_zooms_and_switches_metric(binary) -> None:
    engine = FakeController()
    engine.flame_rows = _tree().snapshot()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v", "v", "v")
        await pilot.pause(0.8)
        view = app.query_one(FlameView)
        assert app.main.trace_area.current == "flame-view" and view.rows
        text = view.render().plain
        assert "main.other" in text and "main.main" in text and "main.le" in text  # cut to fit
        assert view.selected == ("main.other",)  # the widest first
        assert "main.other: 1 calls, total 300ns" in text
        await pilot.press("right")
        assert view.selected == ("main.main",)
        await pilot.press("down", "down", "down")
        assert view.selected == ("main.main", "main.handler", "main.Job", "main.leaf")
        await pilot.press("up", "enter")
        assert view.zoom == ("main.main", "main.handler", "main.Job")
        assert "zoomed into main.Job" in view.render().plain
        await pilot.press("m")
        assert view.by_calls and "width = calls" in view.render().plain
        await pilot.press("backspace")
        assert view.zoom == ("main.main", "main.handler")
