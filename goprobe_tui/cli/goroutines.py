"""`goprobe-tui goroutines --pid PID [--json] [--watch S]`: every goroutine of a running process, grouped
like Go's own dump (`goroutine?debug=1`, panicparse): same state, wait reason and stack in one
group, with its count, its goroutine ids and the longest wait."""

from __future__ import annotations

import argparse
import json
import sys
import time

from goprobe_tui.engine.goroutines import Frame, Goroutine, GoroutineDump, dump_goroutines
from goprobe_tui.engine.target import process_alive, process_start_time, resolve_target
from goprobe_tui.events.text import format_duration
from goprobe_tui.exit_codes import OK, fail, say
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable

SHOWN_IDS = 8  # goroutine ids listed per group before "…"


def run_goroutines(args: argparse.Namespace) -> int:
    path = resolve_target(args.pid, None)
    if path is None:
        return fail(f"no process {args.pid}")
    started = process_start_time(args.pid)
    with GoBinary.open(path) as binary:
        before: dict[tuple, int] | None = None
        while True:
            dump = dump_goroutines(args.pid, binary)
            if args.json:
                # one string, one write: json.dump() writes piece by piece (19 s for 10,000 goroutines)
                sys.stdout.write(json.dumps(as_json(dump)) + "\n")
            else:
                sys.stdout.write(as_text(dump, before))
            sys.stdout.flush()
            if args.watch is None:
                return OK
            before = group_sizes(dump)
            time.sleep(args.watch)
            if not process_alive(args.pid, started):
                say(f"process {args.pid} exited")
                return OK


def _frame(f: Frame | None) -> dict | None:
    return (
        None if f is None else {"function": f.function, "file": f.file, "line": f.line, "inlined": f.inlined}
    )


def as_json(dump: GoroutineDump) -> dict:
    # by hand: dataclasses.asdict deep-copies, 8 s for 10,000 goroutines
    return {
        "pid": dump.pid,
        "goversion": dump.goversion,
        "taken_ns": dump.taken_ns,
        "goroutines": [
            {
                "goid": g.goid,
                "status": g.status,
                "wait_reason": g.wait_reason,
                "wait_ns": g.wait_ns,
                "parent_goid": g.parent_goid,
                "created_by": _frame(g.created_by),
                "start": _frame(g.start),
                "frames": [_frame(f) for f in g.frames],
                "note": g.note,
                "changed": g.changed,
            }
            for g in dump.goroutines
        ],
    }


def _top_frame(g: Goroutine) -> str:
    """Where the group waits: its first frame outside the runtime (Go's own code first)."""
    mine = [f for f in g.frames if not f.function.startswith(("runtime.", "internal/", "sync."))]
    first = mine[0] if mine else g.frames[0] if g.frames else g.start
    return printable(first.function) if first is not None else "?"


def _group_key(g: Goroutine) -> tuple:
    return (
        g.status,
        g.wait_reason,
        g.note,
        tuple((f.function, f.file, f.line) for f in g.frames),
        g.created_by.function if g.created_by else "",
    )


def _groups(dump: GoroutineDump) -> dict[tuple, list[Goroutine]]:
    groups: dict[tuple, list[Goroutine]] = {}
    for g in dump.goroutines:
        groups.setdefault(_group_key(g), []).append(g)
    return groups


def group_sizes(dump: GoroutineDump) -> dict[tuple, int]:
    return {key: len(members) for key, members in _groups(dump).items()}


def as_text(dump: GoroutineDump, before: dict[tuple, int] | None = None) -> str:
    """The groups, largest first; with `before` (--watch), what grew since is said first: a leak
    is a group that only grows."""
    groups = _groups(dump)
    out = [
        f"{len(dump.goroutines):,} goroutines in process {dump.pid} ({dump.goversion}), read in "
        f"{format_duration(dump.taken_ns)}, {len(groups):,} groups\n"
    ]
    if before is not None:
        grew = [(len(m) - before.get(k, 0), k) for k, m in groups.items() if len(m) > before.get(k, 0)]
        for n, key in sorted(grew, reverse=True):
            out.append(
                f"  +{n:,} {key[0]}{f' [{key[1]}]' if key[1] else ''} at {_top_frame(groups[key][0])}\n"
            )
        if not grew:
            out.append("  no group grew\n")
    for members in sorted(groups.values(), key=len, reverse=True):
        first = members[0]
        ids = ", ".join(str(g.goid) for g in members[:SHOWN_IDS]) + (
            ", …" if len(members) > SHOWN_IDS else ""
        )
        waits = [g.wait_ns for g in members if g.wait_ns is not None]
        state = first.status + (f" [{first.wait_reason}]" if first.wait_reason else "")
        longest = f", waiting up to {format_duration(max(waits))}" if waits else ""
        changed = sum(g.changed for g in members)
        moved = f", {changed} moved while read" if changed else ""
        out.append(f"\n{len(members):,} × {state}{longest}{moved}: goroutines {ids}\n")
        if first.note:
            out.append(f"    ({first.note}; started at {first.start.function if first.start else '?'})\n")
        for f in first.frames:
            inl = " (inlined)" if f.inlined else ""
            out.append(f"    {printable(f.function)}{inl}\n        {printable(f.file)}:{f.line}\n")
        by = first.created_by
        if by is not None:
            one = first.parent_goid is not None and len(members) == 1
            parent = f" in goroutine {first.parent_goid}" if one else ""
            out.append(
                f"    created by {printable(by.function)}{parent}\n        {printable(by.file)}:{by.line}\n"
            )
    return "".join(out)
