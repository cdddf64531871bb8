"""Trace overhead: a Go program calls a probed function 200,000 times from 2 goroutines.

Reference in the same run: the same probe, read by `cat trace_pipe > /dev/null`.
Targets: `goprobe-tui trace --json` receives every event (0 lost) and the target's run time is
<= 1.15x the reference's. Run as root: .venv/bin/python -m benchmarks.bench_trace
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.tracefs.attach import Attacher
from goprobe_tui.tracefs.session import ProbeSession
from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

CALLS, GOROUTINES, ROUNDS = 200_000, 2, 3


def timed_run(binary: str) -> float:
    start = time.perf_counter()
    subprocess.run([binary, str(CALLS), str(GOROUTINES)], check=True, capture_output=True)
    return time.perf_counter() - start


def with_cat(binary: str) -> float:
    with GoBinary.open(binary) as b, ProbeSession() as session:
        Attacher(b, session).attach(b.find("main.Work"))
        cat = subprocess.Popen(["cat", session.trace_pipe], stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.2)
            return timed_run(binary)
        finally:
            time.sleep(0.5)
            cat.terminate()
            cat.wait()


def with_goprobe(binary: str, out_path: str) -> tuple[float, int, str]:
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "goprobe_tui", "trace", "--json", "--count",
                                 str(CALLS), binary, "main.Work"], stdout=out, stderr=subprocess.PIPE,
                                text=True)
        while "attached" not in proc.stderr.readline():
            pass
        elapsed = timed_run(binary)
        _, err = proc.communicate(timeout=120)
    with open(out_path) as f:
        events = sum(1 for _ in f)
    return elapsed, events, err.strip().splitlines()[-1]


def main() -> int:
    binary = str(tc.build("hot", "1.27.3"))
    bare = statistics.median(timed_run(binary) for _ in range(ROUNDS))
    cat_times, ours_times, results = [], [], []
    for _ in range(ROUNDS):
        cat_times.append(with_cat(binary))
        t, n, summary = with_goprobe(binary, "/tmp/goprobe-bench-trace.jsonl")
        ours_times.append(t)
        results.append((n, summary))
    assert goprobe_leftovers() == []
    cat_t, ours_t = statistics.median(cat_times), statistics.median(ours_times)
    ratio = ours_t / cat_t
    complete = all(n == CALLS and " 0 lost" in s for n, s in results)
    print(f"target alone: {bare:.2f}s; with probe + cat trace_pipe: {cat_t:.2f}s "
          f"({cat_t / bare:.1f}x: the kernel's uprobe cost); with goprobe-tui trace --json: {ours_t:.2f}s")
    print(f"slowdown vs cat reader: {ratio:.3f}x (target <= 1.15x)")
    for n, s in results:
        print(f"  received {n}/{CALLS} events; {s}")
    return 0 if ratio <= 1.15 and complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
