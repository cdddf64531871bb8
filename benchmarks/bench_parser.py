"""Decoder throughput, offline: binary ring-buffer pages -> merged records -> decoded events.

Synthetic pages in the kernel's layout (entry records of a 2-int function, 2 CPUs). Target:
>= 100k events/s in the (nice 19) decoder process: it keeps up with one CPU flooding; when
all CPUs flood, a backlog waits in memory (bounded, counted). Run:
.venv/bin/python -m benchmarks.bench_parser
"""

from __future__ import annotations

import os
import time

from goprobe_tui.pipeline.decoder import EventDecoder
from goprobe_tui.pipeline.merge import RecordMerger
from goprobe_tui.tracefs.formats import parse_format
from goprobe_tui.tracefs.session import ProbeEvent, Site
from goprobe_tui.values.kinds import ValueSpec
from tests.support.pages import FORMAT, page, record

PAGES = 4000


def main() -> int:
    layout = parse_format(FORMAT)
    spec = (ValueSpec("a", "int", ("ax",), "int", (8,)), ValueSpec("b", "int", ("bx",), "int", (8,)))
    ev = ProbeEvent(
        "gp1_0_main_F",
        "entry",
        "/bin/x",
        (),
        True,
        False,
        [Site("main.F", "entry", 0x401000, 0x1000, spec)],
        layout,
    )
    pid = os.getpid()
    rec = record(2326, pid, 0x401000, 5, 3, b"", 0xC000)
    per_page = 4000 // (len(rec) + 4)
    now = time.monotonic_ns()  # records written after this process started, as real ones are
    pages = [(i % 2, page(now + i * 10**6, [(100, rec)] * per_page)) for i in range(PAGES)]
    merger, decoder = RecordMerger(), EventDecoder()
    decoder.learn(ev)
    start = time.perf_counter()
    n = 0
    for i in range(0, PAGES, 64):
        for r in merger.records(pages[i : i + 64], 0, 10**18):
            n += sum(ev.as_row() is not None for ev in decoder.decode(r))
    elapsed = time.perf_counter() - start
    rate = n / elapsed
    print(f"{n:,} events decoded in {elapsed:.2f}s: {rate / 1000:.0f}k events/s (target >= 100k)")
    return 0 if rate >= 100_000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
