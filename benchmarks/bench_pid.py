"""--pid costs the neighbours nothing: a sibling copy of the traced binary (same file, same
inode) runs as fast as untraced, while the traced copy receives every call.

Measured in one run, interleaved: the sibling's loop (ticker: N calls of main.Tick, timed from
the line that starts it to its exit) untraced, then while another copy of the same binary is
traced with `trace --pid --ret` (entry and return probes). Target: within 1.15x of untraced.
Then the traced copy runs its calls: received + lost must equal the calls it made, and nothing
is left behind (no probes, no perf descriptors). Run as root:
.venv/bin/python -m benchmarks.bench_pid
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time

from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

SIBLING_CALLS = 30_000_000
TRACED_CALLS = 200_000
RUNS = 7


def _started(binary: str, calls: int) -> subprocess.Popen:
    proc = subprocess.Popen([binary, str(calls)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def sibling_seconds(binary: str) -> float:
    proc = _started(binary, SIBLING_CALLS)
    start = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.wait()
    return time.perf_counter() - start


def _trace(binary: str, more: list[str]) -> subprocess.Popen:
    trace = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            "trace",
            "--ret",
            *more,
            "--format",
            "json",
            binary,
            "main.Tick",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = ""
    while "attached" not in line:
        line = trace.stderr.readline()
        if not line:
            raise SystemExit("trace did not attach")
    return trace


def _finish(target: subprocess.Popen, trace: subprocess.Popen) -> tuple[float, int, int]:
    """Let the target run its calls: (its seconds, events received, lost)."""
    start = time.perf_counter()
    target.stdin.write("go\n")
    target.stdin.flush()
    target.wait()
    seconds = time.perf_counter() - start
    if trace.poll() is None:
        trace.send_signal(signal.SIGINT)  # without --pid it does not stop with the process
    out, err = trace.communicate(timeout=600)
    events = sum(1 for ln in out.splitlines() if ln.startswith("{") and '"kind": "status"' not in ln)
    summary = err.strip().splitlines()[-1]
    lost = int(summary.split(" events, ")[1].split(" lost")[0].replace(",", ""))
    return seconds, events, lost


def main() -> int:
    binary = str(tc.build("ticker", tc.NEWEST))
    untraced = [sibling_seconds(binary) for _ in range(RUNS // 2 + 1)]  # and again after
    target = _started(binary, TRACED_CALLS)
    trace = _trace(binary, ["--pid", str(target.pid)])
    traced_pid = trace.pid
    # the traced copy's probes are on this very file all along: with perf they live in the
    # target's memory only
    beside = [sibling_seconds(binary) for _ in range(RUNS)]
    trace_fds = len(os.listdir(f"/proc/{traced_pid}/fd"))
    perf_s, events, lost = _finish(target, trace)
    untraced += [sibling_seconds(binary) for _ in range(RUNS // 2 + 1)]
    # what the traced copy itself pays, against the same probes enabled through tracefs
    target = _started(binary, TRACED_CALLS)
    trace = _trace(binary, [])
    tracefs_s, tracefs_events, tracefs_lost = _finish(target, trace)
    ratio = statistics.median(beside) / statistics.median(untraced)
    left = goprobe_leftovers()
    print(
        f"sibling ({SIBLING_CALLS:,} calls): untraced median {statistics.median(untraced) * 1000:.1f} ms, "
        f"beside a --pid trace {statistics.median(beside) * 1000:.1f} ms: {ratio:.3f}x (target <= 1.15x)"
    )
    print(
        f"traced copy: {TRACED_CALLS:,} calls, {events:,} events received + {lost:,} lost "
        f"(entry + return: {2 * TRACED_CALLS:,} expected); the tracer held {trace_fds} descriptors"
    )
    print(
        f"the traced copy's {TRACED_CALLS:,} calls took {perf_s * 1000:.0f} ms with --pid (perf, "
        f"stacks sampled), {tracefs_s * 1000:.0f} ms through tracefs ({tracefs_events:,} + "
        f"{tracefs_lost:,} lost): {perf_s / tracefs_s:.2f}x"
    )
    print(f"left behind: {len(left)} probes or instances")
    ok = ratio <= 1.15 and events + lost == 2 * TRACED_CALLS and not left
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
