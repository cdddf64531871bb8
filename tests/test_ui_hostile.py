"""Names and values from the binary and the target never drive the terminal nor Rich markup."""

from __future__ import annotations

import pathlib

import pytest

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.browser.probe_panel import ProbePanel
from goprobe_tui.ui.events.trace_pane import TracePane
from tests.conftest import need
from tests.fake_engine import FakeController
from tests.support import toolchains as tc

HOSTILE = "m[/b]\x1b]0;P\x07"  # as long as "main.Divide": a markup closer, an OSC title sequence


@pytest.fixture
def hostile_binary(tmp_path: pathlib.Path):
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    data = bytearray(tc.build("divide", "1.27.3").read_bytes())
    pos = data.find(b"main.Divide\x00")
    data[pos : pos + 11] = HOSTILE.encode()
    path = tmp_path / "hostile\x1b[2J"
    path.write_bytes(bytes(data))
    path.chmod(0o755)
    with GoBinary.open(str(path)) as b:
        yield b


def _event(comm: str, value: str) -> TraceEvent:
    return TraceEvent(10**9, 0, 42, 42, comm, HOSTILE, "entry", "gp_x", args={"s": value})


async def test_hostile_names_and_values_are_shown_escaped(hostile_binary) -> None:
    engine = FakeController(fail={HOSTILE})
    app = GoprobeApp(hostile_binary, engine)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("slash", *"m[/b]", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("space")  # refused: the error names it, in a notification
        await app.workers.wait_for_complete()
        await pilot.pause()
        engine.fail.clear()
        await pilot.press("space")
        await app.workers.wait_for_complete()
        engine.push([_event("a\nb\x1b[31m", "<\x1b]0;PWN\x07")])
        await pilot.pause(0.3)
        assert app.is_running
        assert HOSTILE in app.query_one(ProbePanel).rows
        pane = app.query_one(TracePane)
        assert "\\x1b" in pane.text(0) and "\x1b" not in pane.text(0) and "\n" not in pane.text(0)
        assert all("\x1b" not in n.message and "\x07" not in n.message for n in app._notifications)
        assert any("m[/b]\\x1b" in n.message for n in app._notifications)
        screen = app.export_screenshot()
        assert "\x1b" not in screen and "\x07" not in screen
