"""`goprobe-tui ps [--json]`: every Go process on the host, to pick one for `--pid`."""

from __future__ import annotations

import argparse
import json
import sys

from goprobe_tui.engine.processes import format_uptime, go_processes
from goprobe_tui.exit_codes import OK
from goprobe_tui.textsafe import printable

HEADER = ("PID", "NSPID", "USER", "UPTIME", "THREADS", "GO", "MODULE", "CONTAINER", "BINARY")


def run_ps(args: argparse.Namespace) -> int:
    scan = go_processes()
    if args.json:
        json.dump([p.to_json() for p in scan.processes], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        rows = [HEADER] + [
            (
                str(p.pid),
                str(p.nspid or ""),
                p.user,
                format_uptime(p.uptime_s),
                str(p.threads),
                p.goversion,
                printable(p.module),
                printable(p.container),
                printable(p.binary),
            )
            for p in scan.processes
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    # each once, by pid and name, with the reason (pid 1 of a sandbox is hidden from us)
    for u in scan.unreadable[:20]:
        name = f" ({printable(u.comm)})" if u.comm else ""
        print(f"goprobe-tui: pid {u.pid}{name} could not be read: {u.why}", file=sys.stderr)
    if len(scan.unreadable) > 20:
        print(f"goprobe-tui: {len(scan.unreadable) - 20} more processes could not be read", file=sys.stderr)
    return OK
