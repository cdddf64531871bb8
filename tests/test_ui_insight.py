"""Pilot tests of the insight views: statistics (sorting, histogram), a goroutine's call tree,
following a goroutine, an event in full, and a condition typed in the TUI."""

from __future__ import annotations

import shutil

import pytest

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.calls.call_tree_view import CallTreeView
from goprobe_tui.ui.dialogs.screens import DetailScreen
from goprobe_tui.ui.events.trace_pane import TracePane
from goprobe_tui.ui.stats.stats_pane import StatsPane
from tests.conftest import need
from tests.fake_engine import FakeController
from tests.support import toolchains as tc
from tests.support.until import until

SIZE = (120, 36)
MS = 1_000_000


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    dst = tmp_path_factory.mktemp("insight") / "large"
    shutil.copy(tc.build("large", "1.27.3"), dst)
    b = GoBinary.open(str(dst))
    yield b
    b.close()


def stat(function: str, calls: int, p99_ms: int, errors: int | None = None, **more) -> StatsRow:
    return StatsRow(
        **{
            "function": function,
            "calls": calls,
            "calls_per_s": calls // 10,
            "rate": [1, 3, 0, 5] * 8,
            "errors": errors,
            "returns": calls,
            "unpaired_returns": 0,
            "p50_ns": p99_ms * MS // 2,
            "p90_ns": p99_ms * MS,
            "p99_ns": p99_ms * MS,
            "max_ns": p99_ms * MS,
            "min_ns": MS,
            "mean_ns": p99_ms * MS // 2,
            "histogram": [[1 << 20, 1 << 21, calls - 1], [1 << 25, 1 << 26, 1]],
            "slowest": {
                "latency_ns": p99_ms * MS,
                "ts": 1.0,
                "pid": 7,
                "tid": 7,
                "goid": 3,
                "args": {"n": 5},
                "args_text": "n=5",
                "returns": {},
            },
        },
        **more,
    )


def call_events() -> list[TraceEvent]:
    """Goroutine 7: Outer -> Inner -> Leaf; goroutine 9: one Leaf."""
    out, ts = [], 1_000_000_000
    for goid, calls in ((7, ["main.Outer", "main.Inner", "main.Leaf"]), (9, ["main.Leaf"])):
        for fn in calls:
            ts += 1000
            out.append(TraceEvent(ts, 0, 42, 42, "prog", fn, "entry", "e", args={"n": 1}, goid=goid))
        for fn in reversed(calls):
            ts += 1000
            out.append(
                TraceEvent(
                    ts, 0, 42, 42, "prog", fn, "return", "r", returns={"~r0": 2}, latency_ns=5000, goid=goid
                )
            )
    return out


async def _settle(app, pilot) -> None:
    while not app.main.catalog_ready:  # read once the list is on screen
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def test_stats_view_sorts_and_shows_the_histogram(binary) -> None:
    engine = FakeController()
    engine.snapshot = [stat("main.A", 10, 5), stat("main.B", 300, 1, errors=4), stat("main.C", 50, 90)]
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await pilot.pause(0.7)
        pane = app.query_one(StatsPane)
        assert pane._rows == ["main.B", "main.C", "main.A"]  # calls, most first
        detail = str(app.query_one("#stats-detail").render())
        assert "█" in detail and "slowest: 1.0ms main.B(n=5)" in detail
        for _ in range(6):  # inlined, calls/s, errors, p50, p90, p99
            await pilot.press("o")
        assert pane.sort_key == "p99" and pane._rows == ["main.C", "main.A", "main.B"]
        await pilot.press("down")
        assert "main.A: 10 calls" in str(app.query_one("#stats-detail").render())


async def _events_focused(app, engine, pilot) -> None:
    """call_events() in the trace pane, which has the focus."""
    engine.push(call_events())
    await pilot.pause(0.2)
    app.main._focus(app.query_one(TracePane))


async def test_call_tree_of_the_goroutine_under_the_cursor(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await _events_focused(app, engine, pilot)
        for _ in range(3):  # from the last event (goroutine 9's return) up into goroutine 7
            await pilot.press("up")
        await pilot.press("g")
        await pilot.pause(0.1)
        tree = app.query_one(CallTreeView)
        assert "goroutine 7" in str(tree.root.label)
        outer = tree.root.children[0]
        assert len(tree.root.children) == 1 and "main.Outer(n=1)" in str(outer.label)
        inner = outer.children[0]
        assert "main.Inner" in str(inner.label) and "main.Leaf" in str(inner.children[0].label)
        assert "5.0µs" in str(inner.label)


async def test_follow_a_goroutine_and_open_an_event(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await _events_focused(app, engine, pilot)
        await pilot.press("F")  # on the last event: goroutine 9
        await _settle(app, pilot)
        assert engine.following == 9
        await pilot.pause(0.1)
        await pilot.press("F")  # again: every goroutine
        await _settle(app, pilot)
        assert engine.following is None
        await pilot.press("up", "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, DetailScreen) and "goroutine 9" in app.screen.text


async def test_condition_typed_in_the_tui(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main.Greet", "enter", "space")
        await _settle(app, pilot)
        await pilot.press("w", *"i >= 3", "enter")
        await _settle(app, pilot)
        assert engine.conditions == {"main.Greet": "i >= 3"}
        await pilot.press("w", "ctrl+u", *"i >> 3", "enter")
        await _settle(app, pilot)
        assert engine.conditions == {"main.Greet": "i >= 3"}  # the previous one stays
        assert any("cannot read it" in n.message for n in app._notifications)


async def test_follow_takes_in_descendants_when_creations_are_recorded(binary) -> None:
    """With n on, F on goroutine 9 follows it and every goroutine it created, directly or
    not, those created afterwards too."""
    from goprobe_tui.events.model import TraceEvent

    def spawn(parent: int, child: int) -> TraceEvent:
        return TraceEvent(
            10,
            0,
            42,
            42,
            "prog",
            "main.serve",
            "spawn",
            "e",
            {"child_goid": child, "start": "main.worker"},
            goid=parent,
            source=("main.go", 88),
        )

    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await _settle(app, pilot)
        assert engine.goroutines
        engine.push([spawn(9, 20), spawn(20, 21), spawn(3, 30)])
        await _events_focused(app, engine, pilot)
        await pilot.press("F")  # on the last event: goroutine 9
        await _settle(app, pilot)
        assert engine.following == 9 and engine.followed_descendants == (20, 21)
        engine.push([spawn(21, 22), spawn(30, 31)])  # a grandchild of 21 joins; 31 does not
        await pilot.pause(0.3)
        await _settle(app, pilot)
        assert engine.followed_descendants == (20, 21, 22)
        assert (
            app.main.created_by(42, 22) == "goroutine 22, created by main.serve at main.go:88 in goroutine 21"
        )


async def test_K_keys_the_statistics_by_a_parameter(binary) -> None:
    engine = FakeController()
    engine.snapshot = [
        stat("main.Check", 10, 5, key="/a", key_text='"/a"'),
        stat("main.Check", 30, 7, key="/b", key_text='"/b"'),
    ]
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("K", *"path", "enter")
        await _settle(app, pilot)
        assert engine.by == "path" and app.main.trace_area.current == "stats-view"
        await pilot.pause(0.8)
        table = app.query_one("#stats-table")
        assert [str(r.value) for r in table.rows] == ['main.Check ["/b"]', 'main.Check ["/a"]']


def test_a_go_statement_in_the_calls_view_names_the_child() -> None:
    """A spawn event was taken for a return: `main.handleFanout (entered earlier) =
    (child_goid=143…)`. It is a leaf under the call that ran the `go` statement."""
    from goprobe_tui.insight.call_tree import build_tree
    from goprobe_tui.ui.calls.call_tree_view import node_label

    def event(kind: str, args: dict, latency: int | None = None) -> TraceEvent:
        return TraceEvent(
            10, 0, 42, 42, "prog", "main.handleFanout", kind, "e", args, goid=9, latency_ns=latency
        )

    roots = build_tree(
        [
            event("entry", {"n": 2}),
            event("spawn", {"child_goid": 143, "start": "main.handleFanout.func1"}),
            event("return", {}, latency=5000),
        ]
    )
    assert len(roots) == 1 and roots[0].entered and roots[0].latency_ns == 5000
    (child,) = roots[0].children
    assert str(node_label(child)).strip() == "— go main.handleFanout.func1 → goroutine 143"


async def test_the_stats_detail_at_120x40_shows_callers_and_the_slowest_call(binary) -> None:
    """A long histogram pushed the callers and the slowest call out of the detail panel."""
    engine = FakeController()
    row = stat("main.A", 1000, 5)
    row.histogram = [[1 << k, 1 << (k + 1), 10 + k] for k in range(10, 34)]
    row.callers = [["main.main", 600], ["main.serve", 400]]
    engine.snapshot = [row]
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await pilot.pause(0.7)
        shown = app.query_one("#stats-detail")
        lines = [str(strip.text) for strip in shown.render_lines(shown.region.reset_offset)]
        text = "\n".join(lines)
        assert "callers: main.main (600), main.serve (400)" in text and "slowest: " in text, text


async def test_g_on_a_zoomed_event_pane_zooms_its_calls_view(binary) -> None:
    """With the events zoomed (z), g opened the Calls view behind the zoom: nothing showed."""
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await _events_focused(app, engine, pilot)
        await pilot.press("z")
        await pilot.pause(0.1)
        assert app.screen.maximized is not None and app.screen.maximized.id == "events"
        for _ in range(3):
            await pilot.press("up")
        await pilot.press("g")
        await pilot.pause(0.1)
        assert app.main.trace_area.current == "calls-view"
        tree = app.query_one(CallTreeView)
        assert app.screen.maximized in (tree, app.query_one("#calls-view"))
        assert tree.region.height > 0 and "goroutine 7" in str(tree.root.label)


async def test_the_event_filter_takes_a_duration_for_the_slow_calls(binary) -> None:
    """`f` then `>30ms`: only returns slower than 30 ms are shown (as trace --slower-than), and
    the status line says how many it hides; a duration that is not one is said, not applied."""

    def call(ts: int, ms: int) -> list[TraceEvent]:
        entry = TraceEvent(ts, 0, 42, 42, "prog", "main.Step", "entry", "e", args={"ms": ms}, goid=1)
        ret = TraceEvent(
            ts + ms * MS,
            0,
            42,
            42,
            "prog",
            "main.Step",
            "return",
            "r",
            returns={"~r0": ms},
            latency_ns=ms * MS,
            goid=1,
        )
        return [entry, ret]

    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        engine.push([e for i, ms in enumerate([10, 50, 10, 31, 30]) for e in call(i * 10**9, ms)])
        pane = app.query_one(TracePane)
        await until(pilot, lambda: len(pane.rows) == 10)
        await pilot.press("f", *">30ms", "enter")
        await until(pilot, lambda: len(pane.view) == 2)
        assert [pane.event(i).latency_ns for i in pane.view] == [50 * MS, 31 * MS]
        assert "8 faster or untimed hidden" in str(app.query_one("#trace-status").render())
        await pilot.press("f", "ctrl+u", *">5 parsecs", "enter")
        await until(pilot, lambda: any("not a Go duration" in n.message for n in app._notifications))
        assert len(pane.view) == 2  # the filter before stays
