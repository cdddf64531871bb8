"""`goroutines --pid` on a process with 10,000 parked goroutines (and the parked program's
dozen): the whole command, read from outside while the process runs, against the runtime's
own dump of the same process (SIGQUIT with GOTRACEBACK=all, which stops the world and ends
it) as the reference. Target (issue 29): at most 2 s; memory bounded.
Run as root: .venv/bin/python -m benchmarks.bench_goroutines
"""

from __future__ import annotations

import json
import re
import resource
import signal
import subprocess
import sys
import time

from tests.support import toolchains as tc
from tests.support.programs import start_parked

EXTRA = 10_000


def main() -> int:
    ok = True
    for variant in ("default", "strip"):
        path = str(tc.build("parked", tc.NEWEST, variant))
        proc = start_parked(path, str(EXTRA))
        try:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "goprobe_tui", "goroutines", "--pid", str(proc.pid), "--json"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                times.append(time.perf_counter() - start)
                assert done.returncode == 0, done.stderr
                dump = json.loads(done.stdout)
            count = len(dump["goroutines"])
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            start = time.perf_counter()
            proc.send_signal(signal.SIGQUIT)
            err = proc.stderr.read()
            reference = time.perf_counter() - start
        finally:
            proc.kill()
            proc.wait()
        # "goroutine 0" is a thread's system stack (g0) the signal landed on: not a goroutine
        theirs_ids = {int(g) for g in re.findall(r"^goroutine (\d+) ", err, re.M)} - {0}
        theirs = len(theirs_ids)
        same = theirs_ids == {g["goid"] for g in dump["goroutines"]}
        best = min(times)
        print(
            f"{variant}: {count:,} goroutines (the runtime's dump: {theirs:,}) in {best:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in times)}; reading alone {dump['taken_ns'] / 1e9:.2f} s), "
            f"peak RSS {peak_mb:.0f} MB; the runtime's own SIGQUIT dump {reference:.2f} s; "
            f"the same goids: {same}"
        )
        ok = ok and best <= 2.0 and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
