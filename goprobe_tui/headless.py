"""`goprobe-tui trace`, `stats` and `cleanup`: attach by glob, print events (or statistics at
the end), always detach."""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import re
import select
import signal
import sys
import time

from goprobe_tui.cli import STOP_SIGNALS, allow_signals
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.insight.report import print_stats
from goprobe_tui.tracefs.attach import SHALLOW_NOTE, Attacher, executable_of
from goprobe_tui.tracefs.controller import TraceController
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.fetch_args import explicit_plan
from goprobe_tui.tracefs.fs import find_tracefs
from goprobe_tui.tracefs.guards import RateGuard, hot_warning, over_limit_note
from goprobe_tui.tracefs.naming import process_alive
from goprobe_tui.tracefs.session import ProbeSession
from goprobe_tui.tracefs.stale import sweep_stale
from goprobe_tui.tracefs.value_kinds import FetchPlan

EXIT_BAD_INPUT = 2
NOT_MATCHING = "records of calls not matching --where, dropped by the decoder"


class _Wakeup:
    """Wakes the main loop without a lock: a signal handler that took one (threading.Event)
    could interrupt its own thread inside that lock and deadlock."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._w, b"x")

    def wait(self, timeout: float) -> None:
        if select.select([self._r], [], [], max(0.0, timeout))[0]:
            with contextlib.suppress(BlockingIOError):
                os.read(self._r, 4096)

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


class _Signals:
    """INT, TERM and HUP only set a flag: the main loop notices it and tears down. A handler
    that raised could land anywhere (inside a kernel write, inside teardown) and leak probes;
    more signals during teardown change nothing."""

    def __init__(self, wake: _Wakeup) -> None:
        self.received: str | None = None
        self._wake = wake
        for s in STOP_SIGNALS:
            signal.signal(s, self._handle)
        allow_signals()  # held since start-up: a pending one is handled now

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = self.received or signal.Signals(signum).name
        self._wake.set()

    def __call__(self) -> bool:
        return self.received is not None



def _check_fields(binary: GoBinary, fns: list, exprs: list[str]) -> str | None:
    """Why a --field cannot be read (a name or field that does not exist), or None."""
    for expr in exprs:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", expr):
            return f"--field {expr!r}: expected PARAM.FIELD[.FIELD...], e.g. r.URL.Path"
        applies = False
        for fn in fns:
            try:
                applies |= binary.dwarf.field_path(fn.name, expr) is not None
            except ValueError as exc:
                return str(exc)
        if not applies:
            root = expr.split(".")[0]
            return f"--field {expr}: no traced function has a parameter {root} (or no DWARF)"
    return None


def _check_where(binary: GoBinary, fns: list, args: argparse.Namespace,
                 overrides: dict[str, FetchPlan]) -> str | None:
    """Why --where cannot apply to every traced function, or None: checked before anything
    is attached, so a bad condition changes nothing in the kernel."""
    if args.where is None:
        return None
    if not args.where.strip():
        return "--where: the condition is empty"
    attacher = Attacher(binary, None, binary.path, overrides, tuple(args.field), args.where)
    for fn in fns:
        try:
            cond = attacher.condition(fn, *attacher.plans(fn))
        except ProbeError as exc:
            return str(exc)
        if cond is not None and cond.on_return and not args.ret:
            return f"--where {args.where!r} reads results: add --ret"
    return None


def _matches(name: str, pattern: str) -> bool:
    """A shell glob, but a full name matches itself: `main.Gen[go.shape.int]` would otherwise
    read `[go.shape.int]` as a character class."""
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def _err(msg: str) -> None:
    print(f"goprobe-tui: {msg}", file=sys.stderr, flush=True)


def _overrides(specs: list[str]) -> dict[str, FetchPlan]:
    out = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep:
            raise ValueError(f"--fetch {spec!r}: expected FUNC=NAME=EXPR:TYPE[,...]")
        out[name] = explicit_plan(rest)
    return out


def run_trace(args: argparse.Namespace) -> int:
    binary_arg = args.binary
    patterns = list(args.patterns)
    if args.pid is not None and binary_arg and not os.path.exists(binary_arg):
        patterns.insert(0, binary_arg)  # `trace --pid N 'main.*'`: no binary given
        binary_arg = None
    try:
        path = executable_of(args.pid) if args.pid is not None else binary_arg
    except TracefsError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    if not path or not patterns:
        _err(f"usage: goprobe-tui {args.command} [--pid PID] BINARY PATTERN...")
        return EXIT_BAD_INPUT
    try:
        overrides = _overrides(args.fetch)
        binary = GoBinary.open(path)
        names = binary.functions.names
    except (BinaryError, ValueError) as exc:
        _err(f"{path}: {exc}")
        return EXIT_BAD_INPUT
    chosen = [i for i, n in enumerate(names) if any(_matches(n, p) for p in patterns)]
    if not chosen:
        binary.close()
        _err(f"{path}: no function matches {' '.join(patterns)}")
        return EXIT_BAD_INPUT
    traced = {names[i] for i in chosen}
    stray = [name for name in overrides if name not in traced]
    if stray:
        binary.close()
        _err(f"--fetch {stray[0]}: not among the traced functions (match it with a PATTERN)")
        return EXIT_BAD_INPUT
    problem = (_check_fields(binary, [binary.functions[i] for i in chosen], args.field)
               or _check_where(binary, [binary.functions[i] for i in chosen], args, overrides))
    if problem:
        binary.close()
        _err(problem)
        return EXIT_BAD_INPUT
    if len(chosen) > args.max_probes:
        binary.close()
        _err(f"{len(chosen)} functions match; refusing more than --max-probes {args.max_probes}")
        return EXIT_BAD_INPUT
    wake = _Wakeup()
    signals = _Signals(wake)
    session = None
    status = 0
    try:
        session = ProbeSession(pid_filter=args.pid)
        sys.stdout.flush()
        stats = args.command == "stats"
        controller = TraceController(binary, session, binary.path, pid_filter=args.pid,
                                     overrides=overrides,
                                     print_to=None if stats else
                                     (sys.stdout.fileno(), args.json, args.count),
                                     fields=tuple(args.field), insight=stats, rows=not stats,
                                     where=args.where or "", stacks=args.stack,
                                     pointer_depth=args.depth)
        status = _trace(args, binary, controller, chosen, wake, signals)
        if stats:
            print_stats(controller.insight(), args.json, sys.stdout)
    except (TracefsError, ProbeError) as exc:
        _err(str(exc))
        status = 1
    finally:
        try:
            if session is not None:
                status = _teardown(session, status)
        finally:
            # Torn down: a signal from now on must not kill us half-way through exiting (the
            # interpreter resets Python handlers at exit; SIG_IGN stays).
            for s in STOP_SIGNALS:
                signal.signal(s, signal.SIG_IGN)
            wake.close()
            binary.close()
    return status


def _teardown(session: ProbeSession, status: int) -> int:
    n = session.probe_count()
    if n:
        _err(f"detaching {n} probe{'s' if n != 1 else ''}…")
    try:
        session.close()
    except TracefsError as exc:
        _err(str(exc))
        return status or 1
    return status


def _trace(args: argparse.Namespace, binary: GoBinary, controller: TraceController, chosen: list[int],
           wake: _Wakeup, signals: _Signals) -> int:
    error = controller.stream.wait_ready()
    if error:
        _err(error)
        return 1
    fns = [binary.functions[i] for i in chosen]

    def binary_changed(change) -> None:
        _err(change.message)
        wake.set()
    controller.on_binary_change = binary_changed
    attached, errors = controller.attach_many(fns, returns=args.ret, stop=signals)
    for name, why in errors.items():
        _err(f"{name!r}: {why}")
    for att in attached:
        if att.note:
            _err(f"{att.function.key!r}: {att.note}")
    if controller.attacher.last_shallow:
        _err(SHALLOW_NOTE)
    if signals():
        return 0
    if not attached:
        _err("no probe could be attached")
        return 1
    probes = sum(a.probes for a in attached)
    events = len({id(ev) for a in attached for ev in a.events})
    _err(f"attached {probes} probe{'s' if probes != 1 else ''} ({events} kernel "
         f"event{'s' if events != 1 else ''}) to {len(attached)} function{'s' if len(attached) != 1 else ''}"
         f" in {binary.path}; Ctrl-C to stop")
    stream = controller.stream
    deadline = time.monotonic() + args.duration if args.duration else None
    notices = 0
    guard = RateGuard(args.max_rate)
    next_check = time.monotonic()
    while (not signals() and not stream.done.is_set() and not stream.finished.is_set()
           and not _probes_gone(controller) and controller.attached):
        for note in controller.notices[notices:]:
            _err(note)
            notices += 1
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 1.0
            _guard_rates(controller, guard)
        if args.pid is not None and not process_alive(args.pid):
            _err(f"process {args.pid} exited: stopping")
            break
        timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
        if timeout <= 0:
            break
        wake.wait(timeout)
    # Disable everything and let the decoder print what was recorded before the stop: events
    # that happened are printed, not dropped. More signals meanwhile change nothing.
    n = controller.session.probe_count()
    _err(f"detaching {n} probe{'s' if n != 1 else ''}…")
    controller.close()
    c = controller.counters
    if controller.error:
        _err(controller.error)
    shown = c.decoded if args.count is None else min(c.decoded, args.count)
    extra = "".join(f", {v} {k}" for k, v in (("unattributed", c.unattributed),
                                              ("returns without latency", c.unpaired_returns),
                                              (NOT_MATCHING, c.filtered))
                    if v)
    _err(f"{shown} events, {c.lost} lost, {c.malformed} malformed{extra}")
    return 1 if controller.error or _probes_gone(controller) else 0


def _guard_rates(controller: TraceController, guard: RateGuard) -> None:
    hot, over = guard.check(controller.hits(), time.monotonic())
    for name, rate in hot:
        _err(hot_warning(name, rate))
    for name, rate in over:
        controller.detach(name)
        _err(over_limit_note(name, rate, guard.limit))
    if over and not controller.attached:
        _err("every probe was detached by --max-rate")


def _probes_gone(controller: TraceController) -> bool:
    """The binary was overwritten in place: its probes were detached, nothing more will come."""
    change = controller.binary_change
    return change is not None and change.in_place


def run_cleanup() -> int:
    try:
        root = find_tracefs()
    except TracefsError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    result = sweep_stale(root)
    for item in result.removed:
        print(f"removed {item}")
    for item in result.failed:
        _err(f"could not remove {item}")
    if not result.removed and not result.failed:
        print("nothing to clean up")
    return 1 if result.failed else 0
