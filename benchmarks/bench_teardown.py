"""Teardown: ~1,000 probes (entry + every RET) on a large real binary, then SIGINT.

Measured: time from SIGINT to exit of `goprobe-tui trace --ret`, and that nothing is left in
tracefs. Target <= 3 s. Run as root: .venv/bin/python -m benchmarks.bench_teardown
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

PATTERNS = ("net/http.*", "fmt.*", "encoding/json.*", "text/template.*", "regexp.*")


def main() -> int:
    binary = str(tc.build("large", "1.27.3"))
    proc = subprocess.Popen([sys.executable, "-m", "goprobe_tui", "trace", "--ret", "--max-probes",
                             "5000", binary, *PATTERNS], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    start = time.perf_counter()
    line = ""
    while "attached" not in line:
        line = proc.stderr.readline()
        if not line:
            print("trace did not attach")
            return 1
    attached = time.perf_counter() - start
    m = re.search(r"attached (\d+) probes \((\d+) kernel events\) to (\d+) functions", line)
    probes, events, functions = map(int, m.groups())
    time.sleep(1.0)
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=600)
    stopped = time.perf_counter() - start
    left = goprobe_leftovers()
    print(f"{probes} probes on {functions} functions in {events} kernel events; attach {attached:.2f}s")
    print(f"SIGINT -> exit: {stopped:.2f}s (target <= 3 s); left in tracefs: {len(left)}")
    return 0 if stopped <= 3 and not left else 1


if __name__ == "__main__":
    raise SystemExit(main())
