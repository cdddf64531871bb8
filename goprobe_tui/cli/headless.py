"""`goprobe-tui trace`, `stats` and `cleanup`: attach by glob, write events (or statistics at
the end) in an output format, always detach."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time

from goprobe_tui.cli.outcome import chosen_format, summary
from goprobe_tui.cli.output_file import AtomicOutput
from goprobe_tui.cli.progress import ProgressLine
from goprobe_tui.engine import EngineOptions, Output, TraceController, cleanup_stale, open_engine
from goprobe_tui.engine.binary_watch import Change
from goprobe_tui.engine.launch import LaunchedProgram
from goprobe_tui.engine.patterns import planned_probes
from goprobe_tui.engine.request import check_request, fetch_overrides, select
from goprobe_tui.engine.target import process_alive, process_start_time, resolve_target
from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.events.formats import get_format
from goprobe_tui.exit_codes import BAD_INPUT, FAILED, INTERRUPTED, OK, fail, say
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.signals import SignalPipe, ignore_signals


def _options(args: argparse.Namespace, out_fd: int) -> EngineOptions:
    stats = args.command == "stats"
    return EngineOptions(
        pid=args.pid,
        launched=args.program is not None,
        overrides=fetch_overrides(args.fetch),
        # --by on a field: read it at the entry like --field
        fields=tuple(args.field) + ((args.by,) if "." in (getattr(args, "by", None) or "") else ()),
        where=tuple(args.where),
        stacks=args.stack or bool(args.stack_depth),
        stack_depth=args.stack_depth,
        depth=args.depth,
        max_rate=args.max_rate,
        statistics=stats,
        rows=False,
        by=getattr(args, "by", None),
        otlp=args.otlp,
        slower_than_ns=getattr(args, "slower_than", None),
        output=None if stats else Output(out_fd, args.format, args.count),
    )


def _check_otlp(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"--otlp {url}: an http(s) URL, e.g. http://localhost:4318/v1/traces")
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
    except ImportError:
        raise BadInput("--otlp needs the OpenTelemetry packages: pip install 'goprobe-tui[otlp]'") from None


def run_trace(args: argparse.Namespace) -> int:
    binary_arg = args.binary
    patterns = list(args.patterns)
    if args.pid is not None and binary_arg and not os.path.exists(binary_arg):
        patterns.insert(0, binary_arg)  # `trace --pid N 'main.*'`: no binary given
        binary_arg = None
    if args.launch is not None and args.pid is not None:
        return fail("`-- ARG...` starts BINARY under trace: give it, or --pid of a running process, not both")
    path = resolve_target(args.pid, binary_arg)
    if not path or not (patterns or args.goroutines):
        return fail(f"usage: goprobe-tui {args.command} [--pid PID] BINARY PATTERN... [-- ARG...]")
    args.format = chosen_format(args.format, args.output)
    fmt = get_format(args.format)  # BadInput before anything else
    if fmt.binary and not args.output and sys.stdout.isatty():
        return fail(f"--format {fmt.name} writes a binary file: give -o FILE{fmt.suffix}, or redirect stdout")
    if args.otlp:
        _check_otlp(args.otlp)
    try:
        binary = GoBinary.open(path)
        _ = binary.functions
    except GoprobeError as exc:
        return fail(f"{path}: {exc}")
    output = None
    args.program = None
    try:
        output = AtomicOutput(args.output) if args.output else None
        out_fd = output.fd if output else sys.stdout.fileno()
        if args.launch is not None:
            # held before its first instruction until its probes are in place; its stdout is
            # its own: events go to -o FILE, else to stderr
            args.program = LaunchedProgram(path, args.launch)
            args.pid = args.program.pid
            out_fd = output.fd if output else sys.stderr.fileno()
        options = _options(args, out_fd)
        fns = select(binary, patterns) if patterns else []
        check_request(binary, fns, options, args.ret)
        entries, inlined, lines = planned_probes(binary, fns)
        if entries + inlined + lines > args.max_probes:
            return fail(
                f"{len(fns):,} functions match: {entries + inlined + lines:,} probes "
                f"({entries:,} entries, {inlined:,} inlined calls, {lines:,} at lines); "
                f"refusing more than --max-probes {args.max_probes:,}"
            )
        if args.command == "trace" and args.emit_script:
            return _emit(args, binary, fns, options)
        elif args.target_path:
            return fail("--target-path goes with --emit-script")
        status = _run(args, binary, fns, options, output)
        if output is not None:
            if status in (OK, INTERRUPTED):
                output.commit()
                say(f"written to {args.output}")
            else:
                output.abandon()
        if args.program is not None and status in (OK, INTERRUPTED):
            return args.program.wait()  # goprobe-tui exits as the program did
        return status
    except BadInput as exc:
        return fail(str(exc))
    finally:
        if args.program is not None:
            args.program.wait()  # never started (an error first): it runs nothing and exits
        if output is not None:
            output.abandon()
        binary.close()


def _emit(args: argparse.Namespace, binary: GoBinary, fns: list[Function], options: EngineOptions) -> int:
    """--emit-script: the probes written down for another machine; nothing attached here."""
    from goprobe_tui.engine.probe_script import build_probe_script, write_probe_script

    live = [
        opt
        for opt, on in (
            ("--count", args.count),
            ("--duration", args.duration),
            ("-o", args.output),
            ("--otlp", args.otlp),
        )
        if on
    ]
    if live:
        return fail(
            f"--emit-script writes a script: {', '.join(live)} belong to a live trace "
            "(give them to replay, or to the program)"
        )
    result = build_probe_script(binary, fns, args.ret, options, args.target_path, args.goroutines)
    for name, why in result.errors.items():
        say(f"{name!r}: {why}")
    for att in result.attached:
        if att.note:
            say(f"{att.function.key!r}: {att.note}")
    try:
        write_probe_script(args.emit_script, result)
    except OSError as exc:
        return fail(f"--emit-script {args.emit_script}: {exc.strerror}")
    probes = sum(len(ev.sites) for ev in result.plan.events)
    say(
        f"wrote {os.path.join(args.emit_script, 'probes.sh')}: {_plural(probes, 'probe')} "
        f"({_plural(len(result.plan.events), 'kernel event')}) for {result.plan.target_path}; "
        f"run it as root there (sh probes.sh PROGRAM [ARG...]), then: goprobe-tui replay "
        f"{args.emit_script} RECORDS_DIR"
    )
    return OK


def _run(
    args: argparse.Namespace,
    binary: GoBinary,
    fns: list[Function],
    options: EngineOptions,
    output: AtomicOutput | None,
) -> int:
    signals = SignalPipe()
    engine = None
    status = OK
    try:
        sys.stdout.flush()
        engine = open_engine(binary, binary.path, options)
        status = _trace(args, binary, engine, fns, signals)
        if options.statistics:
            if output is None:
                get_format(args.format).write_stats(engine.insight(), sys.stdout, engine.status())
            else:
                with os.fdopen(os.dup(output.fd), "w", encoding="utf-8") as f:
                    get_format(args.format).write_stats(engine.insight(), f, engine.status())
    except GoprobeError as exc:
        say(str(exc))
        status = exc.exit_code if isinstance(exc, BadInput) else FAILED
    finally:
        try:
            if engine is not None:
                status = _teardown(engine, status)
        finally:
            ignore_signals()
            signals.close()
    return status


def _teardown(engine: TraceController, status: int) -> int:
    n = engine.status().probes
    if n:
        say(f"detaching {n} probe{'s' if n != 1 else ''}…")
    try:
        engine.close()
    except GoprobeError as exc:
        say(str(exc))
        return status or FAILED
    return status


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


SUMMARY_ABOVE = 3  # functions with untraced inlined calls: more get one summary line
_UNTRACED = re.compile(r"[\d,]+ of its [\d,]+ [a-z ]+? not traced \([^)]*\)")  # InlinedPlan.note


def _say_notes(attached: list, path: str) -> None:
    """What each function's attach should tell; inlined calls left without a probe in one
    summary line when many functions have some (38 lines for strings.* on hugo)."""
    partial = [a for a in attached if a.inlined_missed]
    summary = len(partial) > SUMMARY_ABOVE
    by_note: dict[str, list[str]] = {}
    for att in attached:
        note = _UNTRACED.sub("", att.note).strip("; ") if summary else att.note
        if note:
            by_note.setdefault(note, []).append(att.function.key)
    for note, names in by_note.items():
        if len(names) > SUMMARY_ABOVE:  # one line, not one per function (25 on hugolib)
            shown = ", ".join(repr(n) for n in names[:3])
            say(f"{len(names):,} functions ({shown}, …): {note}")
        else:
            for name in names:
                say(f"{name!r}: {note}")
    if summary:
        missed = sum(a.inlined_missed for a in partial)
        total = missed + sum(a.inlined_calls for a in partial)
        say(
            f"{missed:,} of {total:,} inlined calls of {len(partial)} functions have no place that "
            f"runs once per call: their counts are partial (+); `goprobe-tui list {path} "
            "PATTERN` says which"
        )


def _close_with_progress(engine: TraceController) -> None:
    """engine.close(), with a progress line while the kernel events are disabled (each waits
    for its probes: ~50 ms), read from the status the session keeps."""
    progress = ProgressLine()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            where = engine.status().detaching
            if where is not None:
                progress("disabling kernel events", *where)

    watcher = threading.Thread(target=watch, name="goprobe-detach-progress", daemon=True)
    watcher.start()
    try:
        engine.close()
    finally:
        done.set()
        watcher.join()
        progress.close()


def _trace(
    args: argparse.Namespace,
    binary: GoBinary,
    engine: TraceController,
    fns: list[Function],
    signals: SignalPipe,
) -> int:
    def binary_changed(change: Change) -> None:
        say(change.message)
        signals.wake()

    engine.on_binary_change = binary_changed
    progress = ProgressLine()
    try:
        attached, errors = (
            engine.attach_many(fns, returns=args.ret, stop=signals, progress=progress) if fns else ([], {})
        )
    finally:
        progress.close()
    for name, why in errors.items():
        say(f"{name!r}: {why}")
    if args.goroutines and not signals():
        try:
            engine.trace_goroutines(True)
        except GoprobeError as exc:
            say(str(exc))
            return FAILED
        say(
            "attached goroutine lineage: every goroutine created is recorded (probes at the "
            "returns of runtime.newproc1)"
        )
    _say_notes(attached, binary.path)
    # The decoder started with the engine and got ready while the probes were planned; what
    # fired meanwhile waits in the kernel's buffers.
    error = engine.wait_ready(stop=signals)
    if error:
        say(error)
        return FAILED
    if signals():
        return OK
    if not attached and not args.goroutines:
        say("no probe could be attached")
        return FAILED
    if attached:
        probes = sum(a.probes for a in attached)
        events = len({id(ev) for a in attached for ev in a.events})
        inlined = sum(a.inlined_calls for a in attached)
        also = f" (their {_plural(inlined, 'inlined call site')} too)" if inlined else ""
        lines = sum(1 for a in attached if a.function.source_line)
        what = " and ".join(
            filter(
                None,
                (
                    _plural(len(attached) - lines, "function") if len(attached) > lines else "",
                    _plural(lines, "line") if lines else "",
                ),
            )
        )
        say(
            f"attached {_plural(probes, 'probe')} ({_plural(events, 'kernel event')}) to "
            f"{what}{also} in {binary.path}; Ctrl-C to stop"
        )
    program: LaunchedProgram | None = args.program
    if program is not None:
        program.start()  # every probe in place: its first instruction may run
        say(f"started {binary.path} as pid {program.pid}")
    target_start = process_start_time(args.pid) if args.pid is not None else None
    deadline = time.monotonic() + args.duration if args.duration else None
    notices = 0
    next_check = time.monotonic()
    stop = _LaunchSignals(program, signals) if program is not None else signals
    while (
        not stop()
        and not engine.ended
        and not _probes_gone(engine)
        and (engine.attached_names() or engine.goroutines)
    ):
        said = engine.status().notices
        for note in said[notices:]:
            say(note)
        notices = len(said)
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 1.0
            for warning in engine.check_rates().warnings:
                say(warning)
        if program is not None and program.ended():
            say(f"the program exited with status {program.status}: stopping")
            break
        if program is None and args.pid is not None and not process_alive(args.pid, target_start):
            say(f"process {args.pid} exited: stopping")
            break
        timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
        if timeout <= 0:
            break
        stop.wait(timeout)
    # Disable everything and let the decoder write what was recorded before the stop: events
    # that happened are written, not dropped. More signals meanwhile change nothing.
    say(f"detaching {_plural(engine.status().probes, 'probe')}…")
    _close_with_progress(engine)
    s = engine.status()
    if s.error:
        say(s.error)
    say(summary(s.decoded if args.count is None else min(s.decoded, args.count), s))
    if args.otlp:
        say(f"{s.otlp_sent:,} spans sent to {args.otlp}, {s.otlp_dropped:,} dropped")
    return FAILED if s.error or _probes_gone(engine) else OK


class _LaunchSignals:
    """Stop signals while a program started under trace runs: the first SIGINT or SIGTERM goes
    to the program (a Ctrl-C on the terminal reached it already), and tracing goes on until it
    exits; a second one, or SIGHUP, stops tracing (the program runs on)."""

    def __init__(self, program: LaunchedProgram, signals: SignalPipe) -> None:
        self.program, self.signals = program, signals
        self.forwarded = False
        self.stop = False

    def __call__(self) -> bool:
        return self.stop

    def wait(self, timeout: float) -> None:
        for code in self.signals.wait(timeout):
            if code in (signal.SIGINT, signal.SIGTERM) and not self.forwarded:
                self.forwarded = True
                if not (code == signal.SIGINT and self.program.shares_terminal_signals()):
                    self.program.forward(code)
                say(f"{signal.Signals(code).name} passed to the program; again to stop tracing")
            elif code:
                self.stop = True


def _probes_gone(engine: TraceController) -> bool:
    """The binary was overwritten in place: its probes were detached, nothing more will come."""
    change = engine.status().binary_change
    return change is not None and change.in_place


def run_cleanup() -> int:
    try:
        result = cleanup_stale()
    except GoprobeError as exc:
        return fail(str(exc), BAD_INPUT)
    for item in result.removed:
        print(f"removed {item}")
    for item in result.failed:
        say(f"could not remove {item}")
    if not result.removed and not result.failed:
        print("nothing to clean up")
    return FAILED if result.failed else OK
