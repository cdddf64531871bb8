"""Command line: `goprobe-tui BINARY` (the TUI), `list`, `trace`, `stats`, `cleanup`."""

from __future__ import annotations

import argparse
import math
import signal
import sys
from collections.abc import Callable

from goprobe_tui import __version__
from goprobe_tui.tracefs.guards import MAX_FUNCTIONS, WARN_RATE

EXIT_BAD_INPUT = 2
WHERE_HELP = ("record only calls that match, filtered in the kernel: e.g. 'i >= 990', "
              "'path ~ \"/api/*\"', 'err != nil' (needs --ret); names, argN or retN")
SUBCOMMANDS = ("list", "trace", "stats", "cleanup", "ui")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block: bad input is exit 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="goprobe-tui",
                                description="Trace Go functions with kernel uprobes.")
    p.add_argument("--version", action="version", version=f"goprobe-tui {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    ui = sub.add_parser("ui", help="the terminal UI (default when a binary is given)")
    ui.add_argument("binary", nargs="?")
    ui.add_argument("--pid", type=int, help="attach to a running process's executable")
    ui.add_argument("--max-rate", type=_positive_float, metavar="CALLS_PER_S",
                    help="detach a function's probes when it fires faster than this")

    ls = sub.add_parser("list", help="list the functions of a Go binary")
    ls.add_argument("binary")
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")

    tr = sub.add_parser("trace", help="attach uprobes and print events")
    tr.add_argument("binary", nargs="?", help="Go binary (omit with --pid)")
    tr.add_argument("patterns", nargs="*", metavar="PATTERN",
                    help="shell glob on full Go names, e.g. 'main.*'")
    tr.add_argument("--json", action="store_true", help="one JSON object per event")
    tr.add_argument("--ret", action="store_true", help="also probe returns (RET sweep)")
    tr.add_argument("--pid", type=int, help="trace this running process only")
    tr.add_argument("--count", type=_positive_int, help="stop after N events")
    tr.add_argument("--duration", type=_positive_float, help="stop after S seconds")
    tr.add_argument("--fetch", action="append", default=[], metavar="FUNC=SPEC",
                    help="explicit fetch args for a function, e.g. 'main.F=a=%%ax:s64'")
    tr.add_argument("--field", action="append", default=[], metavar="EXPR",
                    help="also show a field reached through a pointer parameter, e.g. "
                         "'r.URL.Path' (repeatable; DWARF needed)")
    tr.add_argument("--where", metavar="COND", help=WHERE_HELP)
    tr.add_argument("--depth", type=_depth, default=1, metavar="N",
                    help="levels of pointers to structs followed and shown (0-3; default 1)")
    tr.add_argument("--stack", action="store_true",
                    help="each event with its call stack, direct caller first (inlined calls too)")
    tr.add_argument("--max-probes", type=_positive_int, default=MAX_FUNCTIONS,
                    help=f"refuse to attach more functions than this (default {MAX_FUNCTIONS})")
    tr.add_argument("--max-rate", type=_positive_float, metavar="CALLS_PER_S",
                    help="detach a function's probes when it fires faster than this "
                         f"(without it: a warning above {WARN_RATE:,} calls/s)")

    st = sub.add_parser("stats", help="attach entry and return probes; on exit print per-function "
                                      "calls, errors, latency percentiles and histograms")
    st.add_argument("binary", nargs="?", help="Go binary (omit with --pid)")
    st.add_argument("patterns", nargs="*", metavar="PATTERN",
                    help="shell glob on full Go names, e.g. 'main.*'")
    st.add_argument("--json", action="store_true", help="one JSON object per function")
    st.add_argument("--pid", type=int, help="count this running process only")
    st.add_argument("--duration", type=_positive_float, help="stop after S seconds")
    st.add_argument("--where", metavar="COND", help=WHERE_HELP)
    st.add_argument("--max-probes", type=_positive_int, default=MAX_FUNCTIONS,
                    help=f"refuse to attach more functions than this (default {MAX_FUNCTIONS})")
    st.add_argument("--max-rate", type=_positive_float, metavar="CALLS_PER_S",
                    help="detach a function's probes when it fires faster than this")
    st.set_defaults(ret=True, count=None, fetch=[], field=[], stack=False, depth=1)

    sub.add_parser("cleanup", help="remove probes and instances left by dead goprobe sessions")
    return p


def _positive(convert: Callable[[str], float], what: str) -> Callable[[str], float]:
    """An argparse type: a finite number above 0 (0, negatives, nan and inf are bad input)."""
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a finite number above 0: {text!r}")
        return value
    return parse


_positive_int = _positive(int, "a whole number")


def _depth(text: str) -> int:
    if text not in ("0", "1", "2", "3"):
        raise argparse.ArgumentTypeError(f"must be 0, 1, 2 or 3: {text!r}")
    return int(text)
_positive_float = _positive(float, "a number")


def _normalise(argv: list[str]) -> list[str]:
    if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
        return ["ui", *argv]
    if argv and argv[0] == "--pid":
        return ["ui", *argv]
    return argv


def fail(message: str) -> int:
    print(f"goprobe-tui: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def defer_signals() -> None:
    """Hold INT/TERM/HUP pending (not lost) while nothing is ready to handle them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def allow_signals() -> None:
    """Deliver what was held, now that handlers are in place."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None
    if as_program:
        defer_signals()  # the trace command allows them once its handlers are in place
        # Until then an interrupt is a KeyboardInterrupt (below).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(_parser().parse_args(_normalise(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if as_program:
            # Done (and torn down): a late signal must not turn the exit status into a kill.
            for s in STOP_SIGNALS:
                signal.signal(s, signal.SIG_IGN)
            allow_signals()


def _run(args: argparse.Namespace) -> int:
    if args.command not in ("trace", "stats"):
        allow_signals()
    if args.command == "list":
        return _cmd_list(args)
    if args.command in ("trace", "stats"):
        from goprobe_tui.headless import run_trace

        return run_trace(args)
    if args.command == "cleanup":
        from goprobe_tui.headless import run_cleanup

        return run_cleanup()
    from goprobe_tui.ui.launch import run_ui

    return run_ui(args)


def _cmd_list(args: argparse.Namespace) -> int:
    from goprobe_tui.gobinary import BinaryError, GoBinary
    from goprobe_tui.listing import write_json, write_table

    try:
        with GoBinary.open(args.binary) as binary:
            _ = binary.functions  # decode fully before printing anything
            (write_json if args.json else write_table)(binary, sys.stdout)
    except BinaryError as exc:
        return fail(f"{args.binary}: {exc}")
    return 0
