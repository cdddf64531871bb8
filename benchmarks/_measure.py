"""Run a command several times; report best/median wall time and peak RSS (via wait4)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time


def measure(cmd: list[str], runs: int = 5, env: dict[str, str] | None = None) -> dict[str, float]:
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)  # KiB -> MiB
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.read().decode()[:500]}")
        proc.stderr.close()
    return {"best_s": min(times), "median_s": statistics.median(times), "peak_mb": max(peaks)}
