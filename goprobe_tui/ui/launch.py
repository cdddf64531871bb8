"""Start the UI: open the binary (bad input: one line, exit 2), then tracing or read-only mode."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.tracefs.attach import executable_of
from goprobe_tui.tracefs.controller import TraceController
from goprobe_tui.tracefs.errors import TracefsError
from goprobe_tui.tracefs.session import ProbeSession


def open_controller(binary: GoBinary, path: str, pid: int | None) -> tuple[TraceController | None, str]:
    """A live controller, or None and the reason tracing is unavailable (read-only mode)."""
    try:
        session = ProbeSession(pid_filter=pid)
    except (TracefsError, OSError) as exc:
        return None, f"{exc} — browsing only; run as root to attach probes"
    try:
        return TraceController(binary, session, path, pid_filter=pid, insight=True), ""
    except Exception:
        session.close()
        raise


class _SignalWatcher:
    """TERM ends the app the normal way (probes detached on the way out); HUP means the
    terminal is gone: detach everything and leave without Textual's orderly shutdown, which
    would block for ever writing the terminal-restore sequences to a dead tty.

    The handlers only write a byte to a pipe (no lock: a handler that took one could
    interrupt its own thread inside it); a thread does the work."""

    def __init__(self, app, controller: TraceController | None) -> None:
        self.app, self.controller = app, controller
        self._r, self._w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self._w, False)
        threading.Thread(target=self._run, name="goprobe-signals", daemon=True).start()
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._w, bytes([signum]))

    def _run(self) -> None:
        quitting = False
        while True:
            signum = os.read(self._r, 1)[0]
            if signum == signal.SIGHUP:
                try:
                    if self.controller is not None:
                        self.controller.close()
                finally:
                    os._exit(128 + signal.SIGHUP)
            elif not quitting:
                quitting = True
                self.app.call_from_thread(self.app.action_quit_app)


def run_ui(args: argparse.Namespace) -> int:
    try:
        path = executable_of(args.pid) if args.pid is not None else args.binary
    except TracefsError as exc:
        print(f"goprobe-tui: {exc}", file=sys.stderr)
        return 2
    if not path:
        print("goprobe-tui: usage: goprobe-tui BINARY | --pid PID", file=sys.stderr)
        return 2
    try:
        binary = GoBinary.open(path)
        _ = binary.functions
    except BinaryError as exc:
        print(f"goprobe-tui: {path}: {exc}", file=sys.stderr)
        return 2
    from goprobe_tui.ui.app import GoprobeApp

    controller, reason = open_controller(binary, path, args.pid)
    app = GoprobeApp(binary, controller, reason, freeze_startup_heap=True, max_rate=args.max_rate,
                     pid=args.pid)
    _SignalWatcher(app, controller)
    status = 1  # unless the app ends normally: a crash must not look like success
    try:
        app.run()
        status = app.return_code or 0
    finally:
        if controller is not None:
            try:
                controller.close()
            except TracefsError as exc:
                print(f"goprobe-tui: {exc}", file=sys.stderr)
                status = status or 1  # teardown incomplete
        binary.close()
    return status
