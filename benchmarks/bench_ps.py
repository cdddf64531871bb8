"""`goprobe-tui ps` on a busy host: 300 processes started here (100 copies of a waiting Go
program from 5 distinct binaries, and 200 `sleep`s), then the scan timed. Target: under 1 s,
each distinct executable read once. Run: .venv/bin/python -m benchmarks.bench_ps
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time

from goprobe_tui.engine.processes import go_processes
from tests.support import toolchains as tc


def main() -> int:
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        source = tc.build("ticker", tc.NEWEST)
        binaries = []
        for i in range(5):  # five distinct files (inodes) of the same program
            copy = os.path.join(tmp, f"app{i}")
            shutil.copy(source, copy)
            binaries.append(copy)
        try:
            for i in range(100):
                procs.append(
                    subprocess.Popen([binaries[i % 5]], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
                )
            procs += [subprocess.Popen(["sleep", "600"]) for _ in range(200)]
            time.sleep(1.0)  # let them all start
            times, scan = [], None
            for _ in range(5):
                start = time.perf_counter()
                scan = go_processes()
                times.append(time.perf_counter() - start)
            ours = {p.pid for p in procs}
            found = [p for p in scan.processes if p.pid in ours]
            total = sum(1 for n in os.listdir("/proc") if n.isdigit())
            print(
                f"{total} processes on the host ({len(procs)} started here): scan median "
                f"{statistics.median(times) * 1000:.0f} ms (runs "
                f"{', '.join(f'{t * 1000:.0f}' for t in times)}; target < 1000 ms)"
            )
            print(
                f"  Go processes found among ours: {len(found)} of 100; distinct executables "
                f"read: {scan.binaries_read}; unreadable: {scan.unreadable}"
            )
            return 0 if statistics.median(times) < 1.0 and len(found) == 100 else 1
        finally:
            for p in procs:
                p.kill()
                p.wait()


if __name__ == "__main__":
    raise SystemExit(main())
