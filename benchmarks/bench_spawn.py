"""The cost of goroutine lineage: a program starts 100,000 goroutines, untraced and while
`trace --goroutines` records every creation (one trap at each return of runtime.newproc1).
Reported: the program's time both ways (interleaved medians) and the cost per creation; every
creation must be recorded (received + lost = 100,000). Run as root:
.venv/bin/python -m benchmarks.bench_spawn
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time

from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

GOROUTINES = 100_000
RUNS = 5


def _run(binary: str) -> float:
    start = time.perf_counter()
    subprocess.run([binary, str(GOROUTINES)], check=True)
    return time.perf_counter() - start


def _traced(binary: str) -> tuple[float, int, str]:
    out = "/tmp/goprobe-bench-spawn.jsonl"
    with open(out, "w") as f:
        trace = subprocess.Popen(
            [sys.executable, "-m", "goprobe_tui", "trace", "--json", "--goroutines", binary],
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
        )
        while "attached" not in trace.stderr.readline():
            pass
        seconds = _run(binary)
        trace.send_signal(signal.SIGINT)
        _, err = trace.communicate(timeout=300)
    with open(out) as f:
        spawns = sum(1 for line in f if '"kind": "spawn"' in line)
    return seconds, spawns, err.strip().splitlines()[-1]


def main() -> int:
    binary = str(tc.build("spawn", tc.NEWEST))
    plain, traced, results = [], [], []
    for _ in range(RUNS):
        plain.append(_run(binary))
        t, spawns, summary = _traced(binary)
        traced.append(t)
        results.append((spawns, summary))
    base, ours = statistics.median(plain), statistics.median(traced)
    print(
        f"{GOROUTINES:,} goroutines: untraced {base * 1000:.0f} ms, with --goroutines {ours * 1000:.0f} ms "
        f"({ours / base:.2f}x): {(ours - base) / GOROUTINES * 1e6:.2f} µs per creation"
    )
    ok = True
    for spawns, summary in results:
        lost = int(summary.split(" events, ")[1].split(" lost")[0].replace(",", ""))
        print(f"  recorded {spawns:,} creations of this program (+ lost {lost:,}); {summary}")
        ok = ok and spawns + lost >= GOROUTINES
    ok = ok and not goprobe_leftovers()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
