"""The TUI on the arm64 VM (run there by tests/support/arm64_vm.py's init, as
`python3.11 -m arm64_tui BINARY`): the real app on the real engine, as `goprobe-tui BINARY`
opens them, driven by Textual's pilot (the VM has no terminal to spare).

It searches main.Divide, attaches it with its returns (r), turns stacks on (b), runs the
program, turns them off, runs it again, quits (q: everything detached), and prints one JSON
line per event the trace pane holds, then one with what it said. It runs the program itself:
the init's own run of it comes after this exits, with nothing attached.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from goprobe_tui.events.formats.jsonl import event_json
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.app import GoprobeApp
from goprobe_tui.ui.launch import open_controller

SIZE = (140, 40)
PATIENCE = 600.0  # s: an emulated CPU is slow, and nothing here is timed


async def _until(pilot, ready, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"arm64_tui: gave up waiting for {what}")
        await pilot.pause(0.2)


async def _drive(app: GoprobeApp, controller, path: str) -> tuple[list[str], list[dict]]:
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main.Divide", "enter")
        await _until(
            pilot,
            lambda: (
                app.main.browser.current is not None
                and app.main.functions.names[app.main.browser.current] == "main.Divide"
            ),
            "the search",
        )
        await pilot.press("r")
        await _until(pilot, lambda: "main.Divide" in controller.attached, "the attach")

        def events() -> list:
            return list(app.main._events_view.events())

        for _turn in ("on", "off"):
            await pilot.press("b")
            await pilot.pause()
            said.append(f"stacks {'on' if app.main._status.stacks else 'off'}")
            before = len(events())
            out = subprocess.run([path], capture_output=True, text=True, timeout=PATIENCE).stdout
            said.append(out.strip())
            await _until(pilot, lambda n=before: len(events()) >= n + 2, "the events")
        shown = [event_json(event) for event in events()]
        await pilot.press("q")
        await pilot.pause()
    return said, shown


def main() -> int:
    path = sys.argv[1]
    with GoBinary.open(path) as binary:
        controller, reason = open_controller(binary, path, None)
        if controller is None:
            raise SystemExit(f"arm64_tui: {reason}")
        app = GoprobeApp(binary, controller)
        try:
            said, shown = asyncio.run(_drive(app, controller, path))
        finally:
            controller.close()
    for event in shown:
        print(json.dumps(event))
    print(json.dumps({"said": said}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
