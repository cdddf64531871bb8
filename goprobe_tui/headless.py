"""`goprobe-tui trace` and `goprobe-tui cleanup`: attach by glob, print events, always detach."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import signal
import sys
import threading
import time

from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan, explicit_plan
from goprobe_tui.tracefs.attach import executable_of
from goprobe_tui.tracefs.controller import TraceController
from goprobe_tui.tracefs.decode import TraceEvent
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.fs import find_tracefs
from goprobe_tui.tracefs.session import ProbeSession, sweep_stale

EXIT_BAD_INPUT = 2
DRAIN_MAX = 20_000


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP, so `finally` tears down."""


def _on_signal(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


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


def format_event(ev: TraceEvent) -> str:
    arrow = "->" if ev.kind == "entry" else "<-"
    return f"{ev.clock_text()} {ev.who_text()} {arrow} {ev.call_text()}"


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
        _err("usage: goprobe-tui trace [--pid PID] BINARY PATTERN...")
        return EXIT_BAD_INPUT
    try:
        overrides = _overrides(args.fetch)
        binary = GoBinary.open(path)
        names = binary.functions.names
    except (BinaryError, ValueError) as exc:
        _err(f"{path}: {exc}")
        return EXIT_BAD_INPUT
    chosen = [i for i, n in enumerate(names) if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if not chosen:
        _err(f"{path}: no function matches {' '.join(patterns)}")
        return EXIT_BAD_INPUT
    if len(chosen) > args.max_probes:
        _err(f"{len(chosen)} functions match; refusing more than --max-probes {args.max_probes}")
        return EXIT_BAD_INPUT
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    session = None
    try:
        session = ProbeSession(pid_filter=args.pid)
        return _trace(args, binary, session, chosen, overrides)
    except (TracefsError, ProbeError) as exc:
        _err(str(exc))
        return 1
    except _Stop:
        return 0
    finally:
        try:
            if session is not None:
                session.close()
        except TracefsError as exc:
            _err(str(exc))
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            binary.close()


def _trace(args: argparse.Namespace, binary: GoBinary, session: ProbeSession, chosen: list[int],
           overrides: dict[str, FetchPlan]) -> int:
    wake = threading.Event()
    controller = TraceController(binary, session, binary.path, pid_filter=args.pid,
                                 overrides=overrides, on_wake=wake.set, isolate=False)
    error = controller.stream.wait_ready()
    if error:
        _err(error)
        return 1
    failed = 0
    for i in chosen:
        fn = binary.functions[i]
        try:
            controller.attach(fn, returns=args.ret)
        except (ProbeError, BinaryError) as exc:
            failed += 1
            _err(f"{fn.name!r}: {exc}")
    if failed == len(chosen):
        _err("no probe could be attached")
        return 1
    _err(f"attached {len(session.probes)} probes to {len(chosen) - failed} functions in "
         f"{binary.path}; Ctrl-C to stop")
    out = sys.stdout
    seen = 0
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while args.count is None or seen < args.count:
            timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if timeout <= 0:
                break
            wake.wait(timeout)
            wake.clear()  # before draining: a batch landing now is drained now or wakes us again
            rows = controller.drain(DRAIN_MAX)
            if args.count is not None:
                rows = rows[: args.count - seen]
            if rows:
                events = map(TraceEvent.from_row, rows)
                fmt = (lambda e: json.dumps(e.to_json_dict())) if args.json else format_event
                out.write("\n".join(map(fmt, events)) + "\n")
                out.flush()
                seen += len(rows)
    finally:
        c = controller.counters
        c.overrun = session.overruns()  # the reader samples it twice a second; take the final value
        if controller.error:
            _err(controller.error)
        _err(f"{seen} events, {c.lost} lost, {c.malformed} malformed lines")
    return 0


def run_cleanup() -> int:
    try:
        root = find_tracefs()
    except TracefsError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    removed = sweep_stale(root)
    for item in removed:
        print(f"removed {item}")
    if not removed:
        print("nothing to clean up")
    return 0
