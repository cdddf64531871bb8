"""`goprobe-tui goroutines --pid PID [--json] [--watch S]`: every goroutine of a running process, grouped
like Go's own dump (`goroutine?debug=1`, panicparse): same state, wait reason and stack in one
group, with its count, its goroutine ids and the longest wait."""

from __future__ import annotations

import argparse
import json
import sys
import time

from goprobe_tui.engine.goroutine_groups import GroupKey, group_goroutines, grown, on_threads, sizes
from goprobe_tui.engine.goroutines import Frame, GoroutineDump, ProcessGone, ProcessGoroutines
from goprobe_tui.engine.target import resolve_target
from goprobe_tui.events.text import format_duration
from goprobe_tui.exit_codes import OK, fail, say
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable

SHOWN_IDS = 8  # goroutine ids listed per group before "…"


def run_goroutines(args: argparse.Namespace) -> int:
    path = resolve_target(args.pid, None)
    if path is None:
        return fail(f"no process {args.pid}")
    with GoBinary.open(path) as binary:
        process = ProcessGoroutines(args.pid, binary)
        before: dict[GroupKey, int] | None = None
        while True:
            try:
                dump = process.dump()
            except ProcessGone as exc:
                if before is None:  # it never was read: the pid named no process to read
                    raise
                say(str(exc))
                return OK
            if args.json:
                # one string, one write: json.dump() writes piece by piece (19 s for 10,000 goroutines)
                sys.stdout.write(json.dumps(as_json(dump)) + "\n")
            else:
                sys.stdout.write(as_text(dump, before))
            sys.stdout.flush()
            if args.watch is None:
                return OK
            before = sizes(group_goroutines(dump))
            time.sleep(args.watch)


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
                "thread": g.thread,
                "m": g.m_id,
            }
            for g in dump.goroutines
        ],
    }


def as_text(dump: GoroutineDump, before: dict[GroupKey, int] | None = None) -> str:
    """The groups, largest first; with `before` (--watch), what grew since is said first: a leak
    is a group that only grows."""
    groups = group_goroutines(dump)
    out = [
        f"{len(dump.goroutines):,} goroutines in process {dump.pid} ({dump.goversion}), read in "
        f"{format_duration(dump.taken_ns)}, {len(groups):,} groups\n"
    ]
    if before is not None:
        more = grown(groups, before)
        for n, grp in more:
            out.append(f"  +{n:,} {grp.state} at {printable(grp.where)}\n")
        if not more:
            out.append("  no group grew\n")
    for grp in groups:
        members, first = grp.members, grp.first
        ids = ", ".join(str(g.goid) for g in members[:SHOWN_IDS]) + (
            ", …" if len(members) > SHOWN_IDS else ""
        )
        longest = grp.longest_wait_ns
        waited = f", waiting up to {format_duration(longest)}" if longest is not None else ""
        moved = f", {grp.changed} moved while read" if grp.changed else ""
        out.append(f"\n{len(members):,} × {grp.state}{waited}{moved}: goroutines {ids}\n")
        if first.note:
            out.append(f"    ({first.note}; started at {first.start.function if first.start else '?'})\n")
        on = on_threads(members)
        if on:
            out.append(f"    {on}\n")
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
