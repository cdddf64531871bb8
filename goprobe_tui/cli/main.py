"""`goprobe-tui`: parse the command line, run one command, return its exit status."""

from __future__ import annotations

import argparse
import sys

from goprobe_tui.cli.parser import parse
from goprobe_tui.errors import GoprobeError
from goprobe_tui.exit_codes import INTERRUPTED, OK, fail
from goprobe_tui.signals import hold_signals, ignore_signals, interrupt_raises, release_signals


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None
    if as_program:
        hold_signals()  # the trace command releases them once its handlers are in place
        interrupt_raises()  # until then, caught below
    try:
        return _run(parse(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        return OK
    except GoprobeError as exc:  # one line naming the cause, never a traceback
        return fail(str(exc), exc.exit_code)
    finally:
        if as_program:
            ignore_signals()
            release_signals()


def _run(args: argparse.Namespace) -> int:
    if args.command not in ("trace", "stats"):
        release_signals()
        if args.launch is not None and args.command != "ui":
            return fail(
                f"`-- ARG...` starts a program under `trace`, `stats` or the TUI, not `{args.command}`"
            )
    if args.command == "list":
        from goprobe_tui.cli.listing import run_list

        return run_list(args)
    if args.command in ("trace", "stats"):
        from goprobe_tui.cli.headless import run_trace

        return run_trace(args)
    if args.command == "ps":
        from goprobe_tui.cli.processes import run_ps

        return run_ps(args)
    if args.command == "goroutines":
        from goprobe_tui.cli.goroutines import run_goroutines

        return run_goroutines(args)
    if args.command == "replay":
        from goprobe_tui.cli.replay import run_replay

        return run_replay(args)
    if args.command == "cleanup":
        from goprobe_tui.cli.headless import run_cleanup

        return run_cleanup()
    from goprobe_tui.ui.launch import run_ui

    return run_ui(args)
