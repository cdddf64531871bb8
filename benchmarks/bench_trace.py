"""Trace overhead: a Go program calls a probed function 200,000 times from 2 goroutines.

Reference in the same run: the same probes enabled in a tracing instance that nobody reads
(the kernel trap alone, the floor). Measured: the target's run time under
`goprobe-tui trace --json`, with an entry probe (200,000 events) and with entry + return
probes (400,000 events). Targets: <= 1.10x the reference, every event received, 0 lost.
Also with --stack (call stacks on every event), as `stats` (aggregated, nothing printed), and
in the chrome and folded formats (entry + return: calls paired per goroutine).
With deep: --stack-depth 13 against the probes unread without the walk (what the walk costs).
Run as root: .venv/bin/python -m benchmarks.bench_trace [ROUNDS] [trace,stack,stats,chrome,folded,deep]
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time

from goprobe_tui.engine.attach import Attacher
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.tracefs.session import ProbeSession
from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

CALLS, GOROUTINES = 200_000, 2
TARGET = 1.10


def timed_run(binary: str) -> float:
    start = time.perf_counter()
    subprocess.run([binary, str(CALLS), str(GOROUTINES)], check=True, capture_output=True)
    return time.perf_counter() - start


def unread(binary: str, ret: bool, stacks: bool = False) -> float:
    """The probes enabled in an instance nobody reads: what the kernel trap costs (with the
    kernel's user-stack walk too, for --stack)."""
    with GoBinary.open(binary) as b, ProbeSession() as session:
        if stacks:
            session.set_user_stacks(True)
        Attacher(b, session).attach_many([b.find("main.Work")], ret)
        return timed_run(binary)


def with_goprobe(binary: str, ret: bool, mode: str = "trace") -> tuple[float, int, str]:
    """mode: trace (--json), stack (trace --json --stack), stats (no output per event), chrome
    or folded (--format)."""
    want = CALLS * (2 if ret else 1)
    out_path = "/tmp/goprobe-bench-trace.jsonl"
    with open(out_path, "w") as out:
        if mode == "stats":
            cmd = [sys.executable, "-m", "goprobe_tui", "stats", "--json", binary, "main.Work"]
        elif mode in ("chrome", "folded"):
            cmd = [
                sys.executable,
                "-m",
                "goprobe_tui",
                "trace",
                "--format",
                mode,
                "--count",
                str(want),
                *(["--ret"] if ret else []),
                binary,
                "main.Work",
            ]
        else:
            cmd = [
                sys.executable,
                "-m",
                "goprobe_tui",
                "trace",
                "--json",
                "--count",
                str(want),
                *(["--ret"] if ret else []),
                *(["--stack"] if mode == "stack" else []),
                *(["--stack-depth", "13"] if mode == "deep" else []),
                binary,
                "main.Work",
            ]
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        while "attached" not in proc.stderr.readline():
            pass
        elapsed = timed_run(binary)
        if mode == "stats":
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    summary = err.strip().splitlines()[-1]
    if mode == "stats":  # "400000 events, 0 lost, ...": nothing is printed per event
        return elapsed, int(summary.split()[1]), summary
    if mode in ("chrome", "folded"):  # one document, not a line per event
        return elapsed, int(summary.split()[1]), summary
    with open(out_path) as f:  # JSON lines end with their status record: not an event
        events = sum(1 for line in f if '"kind": "status"' not in line)
    return elapsed, events, summary


def measure(binary: str, ret: bool, rounds: int, mode: str = "trace") -> bool:
    want = CALLS * (2 if ret else 1)
    base_times, ours_times, results = [], [], []
    for _ in range(rounds):  # interleaved, so drift on the host hits both alike
        base_times.append(unread(binary, ret, stacks=mode == "stack"))
        t, n, summary = with_goprobe(binary, ret, mode)
        ours_times.append(t)
        results.append((n, summary))
    base, ours = statistics.median(base_times), statistics.median(ours_times)
    ratio = ours / base
    complete = all(n == want and " 0 lost" in s for n, s in results)
    label = ("entry + return probes" if ret else "entry probe") + {
        "trace": "",
        "stack": ", --stack",
        "stats": ", stats",
        "chrome": ", --format chrome",
        "folded": ", --format folded",
        "deep": ", --stack-depth 13",
    }[mode]
    what = {
        "trace": "trace --json",
        "stack": "trace --json --stack",
        "stats": "stats",
        "chrome": "trace --format chrome",
        "folded": "trace --format folded",
        "deep": "trace --json --stack-depth 13 (the walk in the probe)",
    }[mode]
    floor = "probes unread" + (" (userstacktrace on)" if mode == "stack" else "")
    print(
        f"{label}: {floor} {base:.2f}s (runs {', '.join(f'{t:.2f}' for t in base_times)}); "
        f"goprobe-tui {what} {ours:.2f}s (runs {', '.join(f'{t:.2f}' for t in ours_times)})"
    )
    print(f"  slowdown vs the unread probes: {ratio:.3f}x (target <= {TARGET}x)")
    for n, s in results:
        print(f"  received {n:,}/{want:,} events; {s}")
    return ratio <= TARGET and complete


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    binary = str(tc.build("hot", "1.27.3"))
    bare = statistics.median(timed_run(binary) for _ in range(3))
    print(f"target without probes: {bare:.3f}s for {CALLS:,} calls")
    modes = sys.argv[2].split(",") if len(sys.argv) > 2 else ["trace", "stack", "stats"]
    ok = True
    for mode in modes:
        for ret in (True,) if mode in ("stats", "chrome", "folded") else (False, True):
            ok = measure(binary, ret, rounds, mode) and ok
    assert goprobe_leftovers() == []
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
