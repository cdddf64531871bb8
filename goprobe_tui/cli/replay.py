"""`goprobe-tui replay SCRIPT_DIR RECORDS_DIR`: the events a probe script recorded on its
target, decoded here and written in any output format, with the target kernel's loss."""

from __future__ import annotations

import argparse
import os
import sys

from goprobe_tui.cli.outcome import chosen_format, summary
from goprobe_tui.cli.output_file import AtomicOutput
from goprobe_tui.engine.replay import replay
from goprobe_tui.events.formats import get_format
from goprobe_tui.exit_codes import OK, say


def run_replay(args: argparse.Namespace) -> int:
    fmt = get_format(chosen_format(args.format, args.output))
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
        out.write(fmt.trailer(status))
        out.flush()
        if output is not None:
            out.close()
            output.commit()
            say(f"written to {args.output}")
    finally:
        if output is not None:
            output.abandon()
    say(f"{summary(n, status)} ({result.plan.target_path}, {result.plan.arch})")
    return OK
