"""`goprobe-tui goroutines --pid PID [--json]`: every goroutine of a running process, grouped
like Go's own dump (`goroutine?debug=1`, panicparse): same state, wait reason and stack in one
group, with its count, its goroutine ids and the longest wait."""

from __future__ import annotations

import argparse
import json
import sys

from goprobe_tui.engine.goroutines import Frame, Goroutine, GoroutineDump, dump_goroutines
from goprobe_tui.engine.target import resolve_target
from goprobe_tui.events.text import format_duration
from goprobe_tui.exit_codes import OK, fail
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable

SHOWN_IDS = 8  # goroutine ids listed per group before "…"


def run_goroutines(args: argparse.Namespace) -> int:
    path = resolve_target(args.pid, None)
    if path is None:
        return fail(f"no process {args.pid}")
    with GoBinary.open(path) as binary:
        dump = dump_goroutines(args.pid, binary)
    if args.json:
        # one string, one write: json.dump() writes piece by piece (19 s for 10,000 goroutines)
        sys.stdout.write(json.dumps(as_json(dump)) + "\n")
    else:
        sys.stdout.write(as_text(dump))
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


def _group_key(g: Goroutine) -> tuple:
    return (
        g.status,
        g.wait_reason,
        g.note,
        tuple((f.function, f.file, f.line) for f in g.frames),
        g.created_by.function if g.created_by else "",
    )


def as_text(dump: GoroutineDump) -> str:
    groups: dict[tuple, list[Goroutine]] = {}
    for g in dump.goroutines:
        groups.setdefault(_group_key(g), []).append(g)
    out = [
        f"{len(dump.goroutines):,} goroutines in process {dump.pid} ({dump.goversion}), read in "
        f"{format_duration(dump.taken_ns)}, {len(groups):,} groups\n"
    ]
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
