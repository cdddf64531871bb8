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
        rows = [HEADER] + [(str(p.pid), str(p.nspid or ""), p.user, format_uptime(p.uptime_s),
                            str(p.threads), p.goversion, printable(p.module), printable(p.container),
                            printable(p.binary)) for p in scan.processes]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    if scan.unreadable:
        what = "process" if scan.unreadable == 1 else "processes"
        print(f"goprobe-tui: {scan.unreadable} {what} could not be read (not permitted, or gone)",
              file=sys.stderr)
    return OK
