"""Offline trace_pipe parser throughput. Target: >= 500k lines/s.

Reference in the same run: a bare `bytes.split(b"\\n")` over the same data (the floor any
line-oriented reader pays). Run: .venv/bin/python -m benchmarks.bench_parser
"""

from __future__ import annotations

import time

from goprobe_tui.tracefs.parser import parse_chunk

LINES = 1_000_000
CHUNK = 1 << 16


def sample() -> bytes:
    rows = []
    for i in range(2000):
        comm = f"worker-{i % 7}"[:15]
        rows.append(f"{comm:>16}-{1000 + i % 50:<7} (   1000) [{i % 2:03d}] d..1. "
                    f"{5000 + i // 1000}.{i % 1000000:06d}: gp4242_{i % 3}_main_Work: (0x49b460) "
                    f"a0_0={i} a1_0={i % 2} g=0xc000{i:06x}\n")
    block = "".join(rows).encode()
    return block * (LINES // 2000)


def main() -> int:
    data = sample()
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    # cut at line ends as the reader does
    fixed, carry = [], b""
    for c in chunks:
        c = carry + c
        cut = c.rfind(b"\n") + 1
        fixed.append(c[:cut])
        carry = c[cut:]
    start = time.perf_counter()
    n = sum(len(parse_chunk(c).events) for c in fixed)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    m = sum(len(c.split(b"\n")) - 1 for c in fixed)
    floor = time.perf_counter() - start
    assert n == m == LINES, (n, m)
    print(f"parser: {LINES / ours / 1e3:.0f}k lines/s (target >= 500k); "
          f"bytes.split reference: {LINES / floor / 1e6:.1f}M lines/s")
    return 0 if LINES / ours >= 500_000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
