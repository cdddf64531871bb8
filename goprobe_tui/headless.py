"""`goprobe-tui trace` and `goprobe-tui cleanup`: attach by glob, print events, always detach."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import queue
import signal
import sys
import time

from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan, explicit_plan
from goprobe_tui.tracefs.attach import Attacher, executable_of
from goprobe_tui.tracefs.decode import EventDecoder, TraceEvent, format_value
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.fs import find_tracefs
from goprobe_tui.tracefs.reader import PipeReader
from goprobe_tui.tracefs.session import ProbeSession, sweep_stale

EXIT_BAD_INPUT = 2


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
    clock = f"{ev.ts_us // 1_000_000}.{ev.ts_us % 1_000_000:06d}"
    who = f"{ev.comm}[{ev.pid}/{ev.tid}]"
    if ev.kind == "entry":
        return f"{clock} cpu{ev.cpu} {who} -> {ev.function}({ev.values_text()})"
    lat = "" if ev.latency_ns is None else f" {ev.latency_ns / 1000:.0f}us"
    vals = ", ".join(f"{k}={format_value(v)}" for k, v in ev.returns.items())
    return f"{clock} cpu{ev.cpu} {who} <- {ev.function} ({vals}){lat}"


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
        _overrides(args.fetch)
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
        return _trace(args, binary, session, chosen)
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


def _trace(args: argparse.Namespace, binary: GoBinary, session: ProbeSession, chosen: list[int]) -> int:
    attacher = Attacher(binary, session, binary.path)
    failed = 0
    for i in chosen:
        fn = binary.functions[i]
        try:
            attacher.attach(fn, returns=args.ret)
        except (ProbeError, BinaryError) as exc:
            failed += 1
            _err(f"{fn.name!r}: {exc}")
    if failed == len(chosen):
        _err("no probe could be attached")
        return 1
    batches: queue.SimpleQueue = queue.SimpleQueue()
    reader = PipeReader(session.trace_pipe, lambda evs, _st: batches.put(evs) if evs else None,
                        session.overruns)
    session.attach_reader(reader)
    reader.start()
    if reader.error:
        _err(reader.error)
        return 1
    _err(f"attached {len(session.probes)} probes to {len(chosen) - failed} functions in "
         f"{binary.path}; Ctrl-C to stop")
    decoder = EventDecoder(session.probes)
    out = sys.stdout
    seen = 0
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while args.count is None or seen < args.count:
            timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                batch = batches.get(timeout=timeout)
            except queue.Empty:
                continue
            lines = []
            for raw in batch:
                ev = decoder.decode(raw)
                if ev is None:
                    continue
                if args.pid is not None and ev.pid != args.pid:
                    continue
                lines.append(json.dumps(ev.to_json_dict()) if args.json else format_event(ev))
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()
    finally:
        reader.stop()
        st = reader.stats
        lost = st.lost + session.overruns()
        _err(f"{seen} events, {lost} lost, {st.malformed} malformed lines")
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
