"""The command line: `goprobe-tui BINARY` (the TUI), `list`, `trace`, `stats`, `cleanup`.

`trace` and `stats` share their options through one parent parser; bad input is one line and
exit 2 (never a usage block or a traceback)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

from goprobe_tui import __version__
from goprobe_tui.engine.guards import MAX_FUNCTIONS, WARN_RATE
from goprobe_tui.errors import BadInput
from goprobe_tui.exit_codes import BAD_INPUT

WHERE_HELP = (
    "record only calls that match, filtered in the kernel: e.g. 'i >= 990', "
    "'path ~ \"/api/*\"', 'err != nil' (needs --ret); names, argN or retN. Repeatable; "
    "'main.F: i > 3' applies to the functions a pattern names only"
)
SUBCOMMANDS = ("list", "trace", "stats", "cleanup", "ui", "ps", "replay", "goroutines")


def format_help(default: str) -> str:
    """--format's help, from the registry (the one list of formats)."""
    from goprobe_tui.events.formats import FORMATS

    return f"output format: {', '.join(FORMATS)} ({default})"


def suffix_help() -> str:
    from goprobe_tui.events.formats import FORMATS

    return ", ".join(f.suffix for f in FORMATS.values())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block: bad input is exit 2
        self.exit(BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


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


def _seconds(text: str) -> float:
    """Plain seconds (2.5) or a Go duration (1m30s, 500ms)."""
    from goprobe_tui.durations import parse_go_duration

    try:
        return (
            float(text)
            if re.fullmatch(r"[0-9.eE+-]+|inf|nan", text.strip())
            else parse_go_duration(text) / 1e9
        )
    except (ValueError, BadInput):
        raise argparse.ArgumentTypeError(f"not seconds or a Go duration (1m30s, 500ms): {text!r}") from None


def _duration_ns(text: str) -> int:
    """A positive Go duration (50ms, 1m30s), in nanoseconds."""
    from goprobe_tui.durations import parse_go_duration

    try:
        ns = parse_go_duration(text)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if ns <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0: {text!r}")
    return ns


positive_int = _positive(int, "a whole number")
positive_float = _positive(float, "a number")
positive_seconds = _positive(_seconds, "seconds or a Go duration (1m30s, 500ms)")


def _depth(text: str) -> int:
    if text not in ("0", "1", "2", "3"):
        raise argparse.ArgumentTypeError(f"must be 0, 1, 2 or 3: {text!r}")
    return int(text)


def _stack_depth(text: str) -> int:
    if not text.isdigit() or not 2 <= int(text) <= 32:
        raise argparse.ArgumentTypeError(f"must be 2 to 32: {text!r}")
    return int(text)


def _tracing_options() -> argparse.ArgumentParser:
    """Options `trace` and `stats` share."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("binary", nargs="?", help="Go binary (omit with --pid)")
    common.add_argument(
        "patterns", nargs="*", metavar="PATTERN", help="shell glob on full Go names, e.g. 'main.*'"
    )
    common.add_argument(
        "--pid",
        type=int,
        help="trace this running process only (its probes "
        "trap in it alone: other copies of the binary run untouched)",
    )
    common.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="TIME",
        help="stop after TIME: seconds (2.5) or a Go duration (1m30s, 500ms)",
    )
    common.add_argument("--where", action="append", default=[], metavar="[PATTERN:] COND", help=WHERE_HELP)
    common.add_argument(
        "--slower-than",
        type=_duration_ns,
        metavar="DURATION",
        help="trace: print only calls slower than a Go duration (50ms, 1.5s), each once at "
        "its return with its arguments, results and latency, the faster ones counted "
        "(implies --ret); stats: count each function's calls slower than it",
    )
    common.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE (atomically: complete or not at all); the format "
        f"follows its suffix unless --format says ({suffix_help()})",
    )
    # Checked against the registry when used (one line, exit 2); its help lists the registry's.
    common.add_argument(
        "--format",
        default=None,
        metavar="NAME",
        help=format_help("text by default, or as -o's suffix says"),
    )
    common.add_argument(
        "--json", dest="format", action="store_const", const="json", help="the same as --format json"
    )
    common.add_argument(
        "--otlp",
        metavar="URL",
        help="also send each paired call as a span over OTLP/HTTP, e.g. "
        "http://localhost:4318/v1/traces (OpenTelemetry Collector, Jaeger, "
        "Tempo); a slow or down collector drops spans, counted, never tracing",
    )
    common.add_argument(
        "--max-probes",
        type=positive_int,
        default=MAX_FUNCTIONS,
        help=f"refuse to place more probes than this at entries and inlined calls (default {MAX_FUNCTIONS})",
    )
    common.add_argument(
        "--max-rate",
        type=positive_float,
        metavar="CALLS_PER_S",
        help="detach a function's probes when it fires faster than this "
        f"(without it: a warning above {WARN_RATE:,} calls/s)",
    )
    return common


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="goprobe-tui", description="Trace Go functions with kernel uprobes.")
    p.add_argument("--version", action="version", version=f"goprobe-tui {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    ui = sub.add_parser("ui", help="the terminal UI (default when a binary is given)")
    ui.add_argument("binary", nargs="?")
    ui.add_argument("--pid", type=int, help="attach to a running process's executable")
    ui.add_argument(
        "--max-rate",
        type=positive_float,
        metavar="CALLS_PER_S",
        help="detach a function's probes when it fires faster than this",
    )

    ls = sub.add_parser("list", help="list the functions of a Go binary")
    ls.add_argument("binary")
    ls.add_argument(
        "patterns",
        nargs="*",
        metavar="PATTERN",
        help="only the functions a shell glob names, e.g. 'net/http.*'",
    )
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")

    common = _tracing_options()
    tr = sub.add_parser("trace", parents=[common], help="attach uprobes and print events")
    tr.add_argument("--ret", action="store_true", help="also probe returns (RET sweep)")
    tr.add_argument("--count", type=positive_int, help="stop after N events")
    tr.add_argument(
        "--fetch",
        action="append",
        default=[],
        metavar="FUNC=SPEC",
        help="explicit fetch args for a function, e.g. 'main.F=a=%%ax:s64'",
    )
    tr.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="EXPR",
        help="also show a field reached through a pointer parameter, e.g. "
        "'r.URL.Path'; without DWARF a method's typed parameters, or name the "
        "type: 'arg1.(*net/http.Request).URL.Path' (repeatable)",
    )
    tr.add_argument(
        "--depth",
        type=_depth,
        default=1,
        metavar="N",
        help="levels of pointers to structs followed and shown (0-3; default 1)",
    )
    tr.add_argument(
        "--goroutines",
        action="store_true",
        help="also record every goroutine created: its id, its parent's, the go "
        'statement and the function started (JSON kind "spawn")',
    )
    tr.add_argument(
        "--stack-depth",
        type=_stack_depth,
        metavar="N",
        help="call stacks of up to N frames (2-32): up to 13 walked by the probe "
        "itself, deeper through perf's callchains; implies --stack",
    )
    tr.add_argument(
        "--stack",
        action="store_true",
        help="each event with its call stack, direct caller first (inlined calls too)",
    )
    tr.add_argument(
        "--emit-script",
        metavar="DIR",
        help="attach nothing here: write the probes as a shell script for another "
        "machine (busybox sh is enough: an arm64 board, a container without "
        "Python) and the plan to decode its records with `replay`",
    )
    tr.add_argument(
        "--target-path",
        metavar="PATH",
        help="with --emit-script: where the binary is on that machine (default: the path given here)",
    )

    st = sub.add_parser(
        "stats",
        parents=[common],
        help="attach entry and return probes; on exit print per-function "
        "calls, errors, latency percentiles and histograms",
    )
    st.add_argument(
        "--by",
        metavar="EXPR",
        help="a row per value of a parameter or field read at each call's entry "
        "(arg0, path, r.URL.Path): calls, errors and latency per URL path, say; "
        "the 64 with the most calls, the rest merged under (other)",
    )
    st.set_defaults(
        ret=True,
        count=None,
        fetch=[],
        field=[],
        stack=False,
        depth=1,
        goroutines=False,
        stack_depth=None,
        emit_script=None,
        target_path=None,
    )

    rp = sub.add_parser(
        "replay", help="decode the records a probe script (trace --emit-script) saved on its target"
    )
    rp.add_argument("plan", metavar="SCRIPT_DIR", help="the folder trace --emit-script wrote")
    rp.add_argument(
        "records", metavar="RECORDS_DIR", help="the folder the script saved ($GOPROBE_OUT on the target)"
    )
    rp.add_argument("--binary", help="the traced binary, if it is no longer where the plan says")
    rp.add_argument(
        "--format",
        default=None,
        metavar="NAME",
        help=format_help("text by default"),
    )
    rp.add_argument(
        "--json", dest="format", action="store_const", const="json", help="the same as --format json"
    )
    rp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically)")
    sub.add_parser("cleanup", help="remove probes and instances left by dead goprobe sessions")
    ps = sub.add_parser(
        "ps", help="list every Go process on the host (pid, Go version, module, container, ...)"
    )
    ps.add_argument("--json", action="store_true", help="a JSON list of objects on stdout")
    gs = sub.add_parser(
        "goroutines",
        help="every goroutine of a running process, read from outside (no stop, no probe)",
    )
    gs.add_argument("--pid", type=positive_int, required=True, help="the Go process")
    gs.add_argument("--json", action="store_true", help="one JSON object on stdout (a line per dump)")
    gs.add_argument(
        "--watch",
        type=positive_seconds,
        metavar="TIME",
        help="a dump every TIME (seconds or a Go duration), with the groups that grew since",
    )
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line, with options anywhere among the positionals (`trace BIN --ret PAT`),
    as in every CLI people know. argparse mixes them only within one parser, so the command's
    own parser reads what follows the command's name."""
    argv = normalise(argv)
    top = parser()
    if argv[0] not in SUBCOMMANDS:
        return top.parse_args(argv)  # --version, --help, or one line naming the mistake
    # `trace BIN PATTERN -- ARG...`: what follows `--` is the program's, untouched
    launch = None
    if "--" in argv[1:]:
        cut = argv.index("--", 1)
        argv, launch = argv[:cut], argv[cut + 1 :]
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    args = commands.choices[argv[0]].parse_intermixed_args(argv[1:])
    args.command = argv[0]
    args.launch = launch
    if getattr(args, "slower_than", None) is not None:
        args.ret = True  # a call's latency is measured at its return
    return args


def normalise(argv: list[str]) -> list[str]:
    """`goprobe-tui BINARY`, `goprobe-tui --pid N` and a bare `goprobe-tui` (which starts on
    the process picker) mean the UI."""
    if not argv:
        return ["ui"]
    if argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
        return ["ui", *argv]
    if argv and argv[0] == "--pid":
        return ["ui", *argv]
    return argv
