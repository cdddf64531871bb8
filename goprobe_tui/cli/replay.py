"""`goprobe-tui replay SCRIPT_DIR RECORDS_DIR`: the events a probe script recorded on its
target, decoded here and written in any output format, with the target kernel's loss."""

from __future__ import annotations

import argparse
import os
import sys

from goprobe_tui.cli.output_file import AtomicOutput
from goprobe_tui.engine.replay import replay
from goprobe_tui.events.formats import format_for_path, get_format
from goprobe_tui.exit_codes import OK, say


def run_replay(args: argparse.Namespace) -> int:
    if args.format is None:
        args.format = format_for_path(args.output, "json").name if args.output else "text"
    fmt = get_format(args.format)
    result = replay(args.plan, args.records, args.binary)
    for name in result.missing:
        say(f"event {name}: no format among the records (the script stopped before making it)")
    for why in result.skipped:
        say(f"records: {why}")
    output = AtomicOutput(args.output) if args.output else None
    try:
        out = os.fdopen(os.dup(output.fd), "w", encoding="utf-8") if output else sys.stdout
        writer = fmt.writer(out)
        n = 0
        for events in result.events:  # in batches: memory stays bounded
            writer.write(events)
            n += len(events)
        status = result.status()
        writer.close(status)
        if output is not None:
            out.close()
            output.commit()
            say(f"written to {args.output}")
    finally:
        if output is not None:
            output.abandon()
    extra = "".join(
        f", {v} {k}"
        for k, v in (
            ("unattributed", status.unattributed),
            ("returns without latency", status.unpaired_returns),
            ("not matching --where", status.filtered),
        )
        if v
    )
    say(
        f"{n} events, {status.lost} lost, {status.malformed} malformed{extra} "
        f"({result.plan.target_path}, {result.plan.arch})"
    )
    return OK
