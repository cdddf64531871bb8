"""Start the UI: open the binary (bad input: one line, exit 2), then tracing or read-only mode."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from goprobe_tui.engine import EngineOptions, TraceController, open_engine
from goprobe_tui.engine.launch import ProgramRuns
from goprobe_tui.engine.target import resolve_target
from goprobe_tui.errors import GoprobeError
from goprobe_tui.exit_codes import FAILED, fail, say
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.signals import SignalPipe, hangup_status


def open_controller(
    binary: GoBinary, path: str, pid: int | None, max_rate: float | None = None, launched: bool = False
) -> tuple[TraceController | None, str]:
    """A live engine, or None and the reason tracing is unavailable (read-only mode)."""
    try:
        options = EngineOptions(
            pid=pid, launched=launched, max_rate=max_rate, statistics=True, stack_toggle=True
        )
        return open_engine(binary, path, options), ""
    except (GoprobeError, OSError) as exc:
        return None, f"{exc} — browsing only; run as root to attach probes"


def _watch_signals(app) -> None:
    """TERM ends the app the normal way (probes detached on the way out); HUP means the
    terminal is gone: detach everything and leave without Textual's orderly shutdown, which
    would block for ever writing the terminal-restore sequences to a dead tty."""
    pipe = SignalPipe((signal.SIGTERM, signal.SIGHUP))

    def run() -> None:
        quitting = False
        while True:
            for signum in pipe.wait(None):
                if signum == signal.SIGHUP:
                    try:
                        if app.controller is not None:  # the latest (R swaps it)
                            app.controller.close()
                    finally:
                        os._exit(hangup_status())
                elif not quitting:
                    quitting = True
                    app.call_from_thread(app.action_quit_app)

    threading.Thread(target=run, name="goprobe-signals", daemon=True).start()


def run_ui(args: argparse.Namespace) -> int:
    if args.binary is None and args.pid is None:
        from goprobe_tui.ui.picker.process_picker import ProcessPicker

        chosen = ProcessPicker().run()
        if chosen is None:
            return 0
        args.pid = chosen
    path = resolve_target(args.pid, args.binary)
    if not path:
        return fail("usage: goprobe-tui BINARY | --pid PID")
    try:
        binary = GoBinary.open(path)
        _ = binary.functions
    except BinaryError as exc:
        return fail(f"{path}: {exc}")
    from goprobe_tui.ui.app import GoprobeApp

    runs = None
    launch = getattr(args, "launch", None)
    if launch is not None:
        if args.pid is not None:
            binary.close()
            return fail("`-- ARG...` starts BINARY: give it, or --pid of a running process, not both")
        # held before its first instruction; R runs it (its output to a log: the screen is ours)
        log = os.path.abspath(f"goprobe-program-{time.strftime('%Y%m%d-%H%M%S')}.log")
        try:
            runs = ProgramRuns(path, launch, log)
        except (GoprobeError, OSError) as exc:
            binary.close()
            return fail(f"cannot start {path}: {exc}")
        args.pid = runs.program.pid
    engine, reason = open_controller(binary, path, args.pid, args.max_rate, runs is not None)
    if runs is not None and engine is None:
        runs.close()
        binary.close()
        return fail(f"cannot trace the program: {reason}")
    app = GoprobeApp(
        binary,
        engine,
        reason,
        freeze_startup_heap=True,
        pid=args.pid,
        runs=runs,
        new_engine=(lambda pid: open_controller(binary, path, pid, args.max_rate, launched=True)),
    )
    _watch_signals(app)
    status = FAILED  # unless the app ends normally: a crash must not look like success
    try:
        app.run()
        status = app.return_code or 0
    finally:
        if app.controller is not None:  # the latest engine (R swaps it)
            try:
                app.controller.close()
            except GoprobeError as exc:
                say(str(exc))
                status = status or FAILED  # teardown incomplete
        if runs is not None:
            runs.close()
        binary.close()
    return status
