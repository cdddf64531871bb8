"""Pilot tests of the TUI: search, attach/detach, filter, pause, read-only mode, errors."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.browser.function_list import FunctionList
from goprobe_tui.ui.browser.probe_panel import ProbePanel
from goprobe_tui.ui.dialogs.screens import PromptScreen
from goprobe_tui.ui.events.events_view import EventsView
from goprobe_tui.ui.events.trace_pane import TracePane
from goprobe_tui.ui.messages import ProbeChanged, ProbeFailed
from tests.conftest import need
from tests.fake_engine import FakeController, sample_events
from tests.kernel_helpers import json_events
from tests.support import toolchains as tc
from tests.support.until import until

SIZE = (120, 36)


@pytest.fixture(scope="module")
def binary_path(tmp_path_factory) -> pathlib.Path:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    dst = tmp_path_factory.mktemp("bin") / "large"
    shutil.copy(tc.build("large", "1.27.3"), dst)
    return dst


@pytest.fixture
def binary(binary_path):
    b = GoBinary.open(str(binary_path))
    yield b
    b.close()


async def _settle(app, pilot) -> None:
    while not app.main.catalog_ready:  # read once the list is on screen
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_search_ranks_and_enter_returns_to_list(binary) -> None:
    messages = []
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("slash", *"srvhandleconn")
        await _settle(app, pilot)
        fl = app.query_one(FunctionList)
        assert binary.functions.names[fl.current] == "main.(*Server).handleConn"
        assert app.main.browser.query_text == "srvhandleconn"
        await pilot.press("enter")
        assert app.focused is fl


async def test_keys_behind_enter_act_on_the_answer_to_the_query_typed(binary, monkeypatch) -> None:
    """`/main.Greet`, Enter, Space typed in one burst while the search still runs in the
    background (a loaded machine, the search tables not built yet): Space attaches main.Greet,
    not the first row of the list as it was before the answer came (seen in a tmux test)."""
    from goprobe_tui.ui.browser.browser import Browser

    monkeypatch.setattr(Browser, "_run_search", lambda self, query, scope: None)  # never answers
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app.main.browser.searcher, "ready", lambda query: False)
        first = binary.functions.names[app.query_one(FunctionList).current]
        await pilot.press("slash", *"main.Greet", "enter", "space")
        await until(pilot, lambda: engine.attached, what="an attach")
        assert list(engine.attached) == ["main.Greet"] and first != "main.Greet"


async def test_attach_detach_and_return_probes(binary) -> None:
    messages = []
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        await pilot.press("space")
        await _settle(app, pilot)
        assert "main.Greet" in engine.attached
        assert any(isinstance(m, ProbeChanged) and m.attached for m in messages)
        assert "main.Greet" in app.query_one(ProbePanel).rows
        await pilot.press("r")
        await _settle(app, pilot)
        assert engine.attached["main.Greet"].returns
        await pilot.press("space")
        await _settle(app, pilot)
        assert "main.Greet" not in engine.attached
        assert "main.Greet" not in app.query_one(ProbePanel).rows


async def test_attach_all_asks_above_threshold_and_detach_all(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"strings.", "enter")
        await _settle(app, pilot)
        rows = len(app.query_one(FunctionList).rows)
        assert rows > 50
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("n")  # declined: nothing attached
        await _settle(app, pilot)
        assert engine.attached == {}
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await _settle(app, pilot)
        assert len(engine.attached) == rows
        await pilot.press("d")
        await _settle(app, pilot)
        assert engine.attached == {}


async def test_events_filter_pause_clear_save(binary, tmp_path) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine, save_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        engine.push(sample_events())
        pane = app.query_one(TracePane)
        await until(pilot, lambda: len(pane.view) == 13, what="13 events shown")
        assert "dividend=5" in pane.text(0)
        await pilot.press("f", *"printf", "enter")
        await pilot.pause()
        assert len(pane.view) == 1 and "fmt.Printf" in pane.text(pane.view[0])
        await pilot.press("p")
        engine.push(sample_events(1))
        await pilot.pause(0.2)
        assert len(pane.rows) == 13  # paused: nothing drained…
        assert len(engine.backlog) == 3  # …and nothing lost
        await pilot.press("p")
        await until(pilot, lambda: len(pane.rows) == 16, what="the backlog drained")
        await pilot.press("s")  # a prompt, with a default path in the save directory
        await pilot.pause()
        assert app.screen.query_one("#prompt").value.startswith(str(tmp_path) + "/goprobe-events-")
        await pilot.press("enter")
        await pilot.pause()
        saved = list(tmp_path.glob("goprobe-events-*.jsonl"))
        assert len(saved) == 1 and len(json_events(saved[0].read_text())) == 2  # the filtered view
        assert json.loads(saved[0].read_text().splitlines()[-1])["kind"] == "status"  # then its counts
        assert any(str(saved[0]) in n.message for n in app._notifications)  # the full path
        await pilot.press("s", "ctrl+u", *str(tmp_path / "mine.jsonl"), "enter")
        await pilot.pause()
        assert len(json_events((tmp_path / "mine.jsonl").read_text())) == 2
        await pilot.press("c")
        assert pane.view == [] and pane.rows == []
        await pilot.press("s")  # nothing shown: refused, no prompt
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)


async def test_scope_cycles_own_module_dependencies_everything(binary) -> None:
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)  # the functions that exist only inlined have joined
        fl = app.query_one(FunctionList)
        everything = len(fl.rows)
        assert everything > len(binary.functions)
        tiers = app.main.browser.searcher.tier
        await pilot.press("t")
        await _settle(app, pilot)
        assert 0 < len(fl.rows) < everything and all(tiers[int(i)] == 0 for i in fl.rows)
        await pilot.press("t")
        await _settle(app, pilot)
        assert all(tiers[int(i)] <= 1 for i in fl.rows)
        await pilot.press("t")
        await _settle(app, pilot)
        assert len(fl.rows) == everything


async def test_times_relative_to_the_session_or_wall_clock(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine, clock_start_ns=999_000_000)
    async with app.run_test(size=SIZE) as pilot:
        engine.push(sample_events(1))
        pane = app.query_one(TracePane)
        for _ in range(600):  # drained every 50 ms; a loaded machine takes longer
            await pilot.pause(0.05)
            if len(pane.view):
                break
        assert pane.text(0).endswith(" +0.001000")  # 1 ms after the session started
        await pilot.press("T")
        assert pane.text(0)[-15:-13] != "+0" and pane.text(0)[-7] == "."  # HH:MM:SS.ffffff


async def test_read_only_mode_shows_banner_and_refuses_attach(binary) -> None:
    app = GoprobeApp(binary, None, "tracefs is not writable: run as root (sudo)")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        banner = app.query_one("#banner")
        assert "run as root" in str(banner.render())
        await pilot.press("space")
        await pilot.pause()
        assert any("Read-only" in n.message for n in app._notifications)
        await pilot.press("slash", *"Divide")
        await _settle(app, pilot)
        assert len(app.query_one(FunctionList).rows) >= 1  # browsing still works


async def test_kernel_error_becomes_notification(binary) -> None:
    messages = []
    engine = FakeController(fail={"main.Greet"})
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, message_hook=messages.append, notifications=True) as pilot:
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        await pilot.press("space")
        await _settle(app, pilot)
        assert any(isinstance(m, ProbeFailed) and "Invalid argument" in m.error for m in messages)
        assert any("Invalid argument" in n.message for n in app._notifications)
        assert app.is_running  # still alive


async def test_event_engine_failure_is_notified_once(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        engine.error = "cannot open .../trace_pipe: Permission denied"
        await until(pilot, lambda: any("trace_pipe" in n.message for n in app._notifications))
        await pilot.pause(0.2)  # several drain ticks more: still once
        shown = [n for n in app._notifications if "trace_pipe" in n.message]
        assert len(shown) == 1 and shown[0].severity == "error"
        assert app.is_running


async def test_command_palette_runs_app_commands(binary) -> None:
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"pause")
        await pilot.pause(0.5)  # the palette searches asynchronously
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(EventsView).paused, what="paused from the palette")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Attach/detach (Space)", "Detach all (d)", "Save (s)", "Filter (f)"} <= titles


async def test_quit_detaches_everything(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await _settle(app, pilot)
        assert engine.attached
        await pilot.press("q")
        await _settle(app, pilot)
    assert engine.closed and engine.attached == {}


async def test_attach_all_is_capped_with_an_explicit_override(binary) -> None:
    from goprobe_tui.engine.guards import MAX_FUNCTIONS

    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _settle(app, pilot)
        assert len(app.query_one(FunctionList).rows) > MAX_FUNCTIONS  # empty search: everything
        await pilot.press("a")
        await _settle(app, pilot)
        assert engine.attached == {}
        assert any("above the cap" in n.message for n in app._notifications)
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await _settle(app, pilot)
        assert len(engine.attached) == len(app.main.functions)


def test_rate_guard_warns_once_and_names_what_exceeds_the_limit() -> None:
    from goprobe_tui.engine.guards import RateGuard

    guard = RateGuard(limit=100_000, warn_above=10_000)
    assert guard.check({"a": 0, "b": 0}, 0.0) == ([], [])
    assert guard.check({"a": 20_000, "b": 500_000}, 1.0) == ([("a", 20_000.0)], [("b", 500_000.0)])
    assert guard.check({"a": 40_000, "b": 500_000}, 2.0) == ([], [])  # warned once


async def test_a_hot_probe_is_warned_about_and_max_rate_detaches_it(binary) -> None:
    engine = FakeController(max_rate=1_000_000)
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for name in ("main.Greet", "main.main"):
            engine.attach(binary.find(name), returns=False)
        engine.hit_counts = {"main.Greet": 0, "main.main": 0}
        app.main._guard_rates()
        await _settle(app, pilot)
        engine.now, engine.hit_counts = 1.0, {"main.Greet": 60_000, "main.main": 10_000_000}
        app.main._guard_rates()
        await _settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("main.Greet fires") for m in messages)
        assert any(m.startswith("main.main fired") and "detached" in m for m in messages)
        assert "main.main" not in engine.attached and "main.Greet" in engine.attached


async def test_probe_panel_keeps_the_end_of_names_and_full_hit_counts(binary) -> None:
    from goprobe_tui.ui.browser.probe_panel import fit_left

    assert len(fit_left("github.com/gohugoio/hugo/hugolib.(*pageState).Render", 30)) == 30
    assert fit_left("github.com/gohugoio/hugo/hugolib.(*pageState).Render", 30).endswith(
        "(*pageState).Render"
    )
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=(170, 36)) as pilot:
        panel = app.query_one(ProbePanel)
        name = "github.com/gohugoio/hugo/hugolib.(*pageState).Render"
        panel.upsert(name, True, 3)
        panel.set_hits({name: 10_002})
        await pilot.pause()
        shown = [str(c) for c in panel.get_row(name)]
        assert shown[0].startswith("◆ …") and shown[0].endswith("(*pageState).Render")
        assert shown[1] == "10,002"
        panel.set_hits({name: 1_783_364_001}, {name: 2_500_000})  # wider than its column
        await pilot.pause()
        shown = [str(c) for c in panel.get_row(name)]
        assert shown[1:3] == ["1,783,364,001", "2,500,000"]


async def test_header_names_binary_go_module_target_and_tracing(binary) -> None:
    import subprocess

    from textual.widgets import Static

    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(app.query_one("#header", Static).render())
        assert text.startswith("large · go1.27.3 amd64 · module goprobe.test/large")
        assert "target: every process running it" in text and text.endswith("tracing on")
    sleeper = subprocess.Popen(["sleep", "30"])
    app = GoprobeApp(binary, None, "tracefs is not writable", pid=sleeper.pid)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.query_one("#header", Static)
        assert f"target: pid {sleeper.pid} (sleep)" in str(header.render())
        assert "read-only: tracefs is not writable" in str(header.render())
        sleeper.kill()
        sleeper.wait()
        await pilot.pause(1.5)
        assert f"target: pid {sleeper.pid} — exited" in str(header.render())


async def test_the_pane_follows_the_tail_and_the_badge_counts_what_is_below(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(TracePane)
        for _ in range(5):  # bursts bigger than the pane, arriving back to back
            engine.push(sample_events(20))
            await pilot.pause(0.06)
        await until(pilot, lambda: len(pane.view) == 205, what="205 events")
        await pilot.pause(0.3)
        height = pane.scrollable_content_region.height
        assert len(pane.view) == 205 and pane.below == 0
        assert int(pane.scroll_offset.y) == len(pane.view) - height  # the last line is shown
        app.main._focus(pane)
        await pilot.press("up", "up")  # the user looks back: the view stays
        engine.push(sample_events(5))
        await until(pilot, lambda: len(pane.view) == 216, what="11 more events")
        await pilot.pause(0.1)
        below = len(pane.view) - int(pane.scroll_offset.y) - height
        assert pane.below == below > 0
        assert f"▼ {below:,} below" in str(app.query_one("#trace-status").render())
        app.main._focus(app.query_one(FunctionList))
        await pilot.press("G")  # from anywhere
        await until(pilot, lambda: pane.below == 0 and app.focused is pane, what="back at the tail")
        engine.push(sample_events(3))
        await until(pilot, lambda: len(pane.view) == 223, what="7 more events")
        await pilot.pause(0.1)
        assert pane.below == 0  # following again


async def test_zoom_a_pane_and_calls_per_second(binary) -> None:
    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main.Greet", "enter", "space")
        await _settle(app, pilot)
        panel = app.query_one(ProbePanel)
        panel.set_hits({"main.Greet": 6_000}, {"main.Greet": 2_500})
        row = panel.get_row("main.Greet")
        assert str(row[1]) == "6,000" and str(row[2]) == "2,500"
        await pilot.press("z")
        assert app.screen.maximized is app.query_one(FunctionList)
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_the_mouse_wheel_scrolls_the_events_and_stops_following(binary) -> None:
    from textual import events

    engine = FakeController()
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(TracePane)
        await pilot.pause(0.2)
        engine.push(sample_events(40))
        await pilot.pause(0.3)
        top = int(pane.scroll_offset.y)
        assert top > 0 and pane.following, (top, len(pane.view), pane.size)
        pane.post_message(events.MouseScrollUp(pane, 1, 1, 0, 0, 0, False, False, False))
        await pilot.pause(0.2)
        assert int(pane.scroll_offset.y) < top and not pane.following  # it scrolled, and stays


async def test_events_arriving_at_start_up_are_followed_too(binary) -> None:
    """A first batch drained before the pane's first layout (a busy target at start-up) used
    to leave the view at the top with `▼ 71 below`, while following."""
    engine = FakeController()
    engine.push(sample_events(40))
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(TracePane)
        await until(pilot, lambda: len(pane.view) == 81, what="81 events")
        await until(pilot, lambda: pane.following and pane.below == 0, what="following the tail")


async def test_a_user_keymap_remaps_commands_by_id(binary, tmp_path) -> None:
    keys = tmp_path / "keymap.toml"
    keys.write_text('[keys]\nattach = "x"\npause = "P"\n')
    engine = FakeController()
    app = GoprobeApp(binary, engine, keymap_path=str(keys))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        await pilot.press("x")
        await _settle(app, pilot)
        assert "main.Greet" in engine.attached
        await pilot.press("space")  # no longer bound
        await _settle(app, pilot)
        assert "main.Greet" in engine.attached
        await pilot.press("P")
        assert app.query_one(EventsView).paused


def test_every_binding_has_an_id_a_keymap_file_may_name(tmp_path) -> None:
    """Every Binding written in the UI's source carries an id, and one keymap file takes the
    ids of every screen and widget, the process picker's too."""
    import ast

    from goprobe_tui.ui.binding_ids import every_binding_id
    from goprobe_tui.ui.keymap import load_user_keymap

    ui = pathlib.Path(__file__).resolve().parent.parent / "goprobe_tui" / "ui"
    written = set()
    for path in ui.rglob("*.py"):  # the widgets' folders too
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding":
                given = [k.value for k in node.keywords if k.arg == "id"]
                assert given, f"{path.name}:{node.lineno}: no id"
                if isinstance(given[0], ast.Constant):
                    written.add(given[0].value)
    ids = every_binding_id()
    assert written <= ids, f"ids a keymap file cannot name: {written - ids}"
    assert {"attach", "events.follow", "flame.zoom", "list.details", "picker.refresh", "app.tail"} <= ids
    keys = tmp_path / "keymap.toml"
    keys.write_text('[keys]\n"picker.refresh" = "R"\n"events.follow" = "ctrl+f"\nquit = "ctrl+q"\n')
    assert load_user_keymap(str(keys), ids) == {
        "picker.refresh": "R",
        "events.follow": "ctrl+f",
        "quit": "ctrl+q",
    }


async def test_a_keymap_remaps_a_widget_key_too(binary, tmp_path) -> None:
    """An id of a widget's own binding (the function list's details) is remapped like a
    command's: the new key acts."""
    from goprobe_tui.ui.browser.function_details import FunctionDetails

    keys = tmp_path / "keymap.toml"
    keys.write_text('[keys]\n"list.details" = "i"\n')
    app = GoprobeApp(binary, FakeController(), keymap_path=str(keys))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, FunctionDetails), what="the details on i")


@pytest.mark.parametrize("text", ['[keys]\nnosuch = "x"\n', "[keys\n", "[keys]\nattach = 3\n"])
async def test_a_bad_keymap_is_one_notification_and_the_defaults_stay(binary, tmp_path, text) -> None:
    keys = tmp_path / "keymap.toml"
    keys.write_text(text)
    engine = FakeController()
    app = GoprobeApp(binary, engine, keymap_path=str(keys))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and errors[0].startswith(f"keymap not used: {keys}")
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        await pilot.press("space")
        await _settle(app, pilot)
        assert "main.Greet" in engine.attached


async def test_details_name_where_the_parameters_come_from() -> None:
    """A stripped method's details show the signature its events use (the type metadata)."""
    from goprobe_tui.ui.browser.function_details import FunctionDetails

    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    with GoBinary.open(str(tc.build("values", "1.27.3", "sw"))) as stripped:
        app = GoprobeApp(stripped, FakeController())
        async with app.run_test(size=SIZE) as pilot:
            for name, want in (
                (
                    "main.(*MemStore).Get",
                    "params  (recv *main.MemStore, arg0 string, arg1 int)   (from the runtime type metadata",
                ),
                ("main.Divide", "params  (no DWARF: 2 argument words"),
            ):
                await pilot.press("slash", *name, "enter")
                await _settle(app, pilot)
                await pilot.press("enter")
                await _settle(app, pilot)
                assert isinstance(app.screen, FunctionDetails) and want in app.screen.text, app.screen.text
                await pilot.press("escape")
                await _settle(app, pilot)


async def test_the_list_titles_follow_a_resize_there_and_back(binary) -> None:
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        header = app.query_one("#list-header")
        wide = str(header.render())
        assert "OFFSET" in wide and "HITS" in wide
        await pilot.resize_terminal(40, 12)
        await _settle(app, pilot)
        await pilot.resize_terminal(160, 48)
        await _settle(app, pilot)
        await until(pilot, lambda: str(header.render()) == wide, what="the wide header again")


async def test_list_numbers_are_never_cut_nor_glued(binary) -> None:
    """A 7-digit hit count next to a size of 32 read `321783364`; every number is shown in
    full, a space apart, under its title."""
    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("slash", *"main.Greet", "enter")
        await _settle(app, pilot)
        fl = app.query_one(FunctionList)
        idx = fl.current
        fl.set_hits({idx: 1_783_364})
        await _settle(app, pilot)
        width = fl.scrollable_content_region.width
        row = "".join(seg.text for seg in fl._render_row(idx, False, width))
        size = int(binary.functions.end[idx] - binary.functions.entry[idx])
        inlined = int(fl.inlined[idx])
        want = [str(size), *([f"{inlined:,}"] if inlined else []), "1,783,364"]
        assert row.split()[-len(want) :] == want, row
        assert row.rstrip().endswith(" 1,783,364"), row
        assert f" {int(binary.functions.offset[idx]):#x} " in row
        header = str(app.query_one("#list-header").render())
        assert header.rstrip().endswith("HITS") and len(header.rstrip()) == len(row.rstrip())


def test_details_show_each_lines_source_where_the_file_is_here(tmp_path, monkeypatch) -> None:
    """Like `dlv list`: the text of each line beside FILE:LINE, read only from a regular .go
    file (a -trimpath build names it by module path: its suffixes are tried here)."""
    from goprobe_tui.engine import source_text
    from goprobe_tui.ui.browser.function_details import _prompt

    src = tmp_path / "app" / "main.go"
    src.parent.mkdir()
    src.write_text("package main\n\nfunc main() {\n\ts += i * k // \x1b[31mred\n}\n")
    (tmp_path / "secret.txt").write_text("no\n")
    (tmp_path / "link.go").symlink_to(src)
    monkeypatch.chdir(tmp_path)
    source_text._lines.cache_clear()
    assert source_text.source_line(str(src), 4).strip().startswith("s += i * k")
    assert source_text.source_line("example.com/app/main.go", 3) == "func main() {"
    assert source_text.source_line(str(tmp_path / "secret.txt"), 1) is None
    assert source_text.source_line(str(tmp_path / "link.go"), 1) is None
    assert source_text.source_line("example.com/app/main.go", 99) is None
    prompt = _prompt("example.com/app/main.go", 4)
    assert prompt.startswith("main.go:4") and "s += i * k" in prompt and "\x1b" not in prompt
    assert _prompt("elsewhere/x.go", 7) == "x.go:7"


async def test_tab_moves_between_panes_and_never_into_the_search_box(binary) -> None:
    """After `v` back to Events, Tab went to the search box and the next `g` was typed there
    (the list showed 0 / 99,780 functions). Tab and shift+Tab go round the panes only."""
    from textual.widgets import Input

    app = GoprobeApp(binary, FakeController())
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        seen = set()
        for key in ["tab"] * 6 + ["shift+tab"] * 6:
            await pilot.press(key)
            assert not isinstance(app.focused, Input), (key, app.focused)
            seen.add(app.focused.id if app.focused is not None else None)
        assert {"functions", "probes", "events"} <= seen
        await pilot.press("tab", "g")
        assert app.main.browser.query_text == ""
        await pilot.press("slash")  # `/` still opens it
        assert isinstance(app.focused, Input) and app.focused.id == "search"


async def test_a_long_attach_shows_a_progress_bar_that_esc_cancels(binary) -> None:
    """Attach all of many functions: after half a second a bar with the count; Esc stops the
    attach (what is attached by then stays, and says so); the UI answers meanwhile."""
    from goprobe_tui.ui.dialogs.work_progress import WorkProgressBar

    engine = FakeController()
    engine.attach_delay = 0.05
    app = GoprobeApp(binary, engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("slash", *"strings.", "enter")
        await _settle(app, pilot)
        rows = len(app.query_one(FunctionList).rows)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        bar = app.query_one(WorkProgressBar)
        for _ in range(100):
            await pilot.pause(0.05)
            if bar.has_class("visible"):
                break
        assert bar.has_class("visible")
        assert "attaching" in str(app.query_one("#work-label").render())
        await pilot.press("down")  # the list still moves meanwhile
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert 0 < len(engine.attached) < rows
        assert not bar.has_class("visible")
        assert any("attach cancelled" in n.message for n in app._notifications)


def test_event_batches_waiting_together_are_handled_as_one_in_order() -> None:
    from goprobe_tui.ui.messages import EventsDrained

    older, newer = EventsDrained([1, 2], "old"), EventsDrained([3], "new")
    assert older.can_replace(newer) and (newer.rows, newer.status) == ([1, 2, 3], "new")


def test_a_keymap_that_is_a_fifo_is_refused_not_waited_on(tmp_path) -> None:
    import os

    from goprobe_tui.ui.keymap import KeymapError, load_user_keymap

    fifo = tmp_path / "keymap.toml"
    os.mkfifo(fifo)
    with pytest.raises(KeymapError, match="not a regular file"):
        load_user_keymap(str(fifo), {"quit"})
    assert load_user_keymap(str(tmp_path / "none.toml"), {"quit"}) == {}
