"""Start the UI: open the binary (bad input: one line, exit 2), then tracing or read-only mode."""

from __future__ import annotations

import argparse
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
        return TraceController(binary, session, path, pid_filter=pid), ""
    except Exception:
        session.close()
        raise


def _after_hangup(controller: TraceController | None) -> None:
    """The terminal is gone: detach everything and leave without Textual's orderly shutdown,
    which would block for ever writing the terminal-restore sequences to a dead tty."""
    def finish() -> None:
        try:
            if controller is not None:
                controller.close()
        finally:
            os._exit(128 + signal.SIGHUP)

    threading.Thread(target=finish, name="goprobe-hangup", daemon=True).start()


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
    app = GoprobeApp(binary, controller, reason, freeze_startup_heap=True)
    # SIGTERM ends the app the normal way, so probes are detached on the way out.
    signal.signal(signal.SIGTERM, lambda *_: app.call_later(app.action_quit_app))
    signal.signal(signal.SIGHUP, lambda *_: _after_hangup(controller))
    try:
        app.run()
    finally:
        if controller is not None:
            try:
                controller.close()
            except TracefsError as exc:
                print(f"goprobe-tui: {exc}", file=sys.stderr)
        binary.close()
    return 0
