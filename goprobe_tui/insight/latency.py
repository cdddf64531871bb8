"""Latency histogram with bounded memory and stated precision.

Log-linear buckets (as HdrHistogram): below 2**SUB_BITS ns a bucket per nanosecond, above
that each power of two is cut into 2**SUB_BITS equal buckets, so a bucket is never wider than
1/128 of its value. Percentiles are the middle of their bucket: within 0.4% of the true
value. min, max and the count are exact. Memory: one dict entry per occupied bucket (at most
~7,000 for latencies from 1 ns to an hour).
"""

from __future__ import annotations

SUB_BITS = 7
SUB = 1 << SUB_BITS
PRECISION = 1 / (2 * SUB)  # percentiles are within this fraction of the true value


def bucket_of(ns: int) -> int:
    if ns < SUB:
        return max(0, ns)
    shift = ns.bit_length() - SUB_BITS - 1
    return (shift + 1) * SUB + ((ns >> shift) - SUB)


def bucket_range(b: int) -> tuple[int, int]:
    """[lo, hi) of a bucket, in ns."""
    if b < SUB:
        return b, b + 1
    shift = b // SUB - 1
    lo = ((b % SUB) + SUB) << shift
    return lo, lo + (1 << shift)


class LatencyHistogram:
    __slots__ = ("buckets", "count", "max", "min", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.min: int | None = None
        self.max: int | None = None
        self.total = 0

    def add(self, ns: int) -> None:
        b = bucket_of(ns)
        self.buckets[b] = self.buckets.get(b, 0) + 1
        self.count += 1
        self.total += ns
        if self.max is None or ns > self.max:
            self.max = ns
        if self.min is None or ns < self.min:
            self.min = ns

    def percentile(self, q: float) -> int | None:
        """The q-th percentile (0 < q <= 100), within PRECISION; exact at the ends."""
        if not self.count:
            return None
        rank = max(1, -(-self.count * q // 100))  # the smallest value with >= q% at or below it
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                lo, hi = bucket_range(b)
                mid = (lo + hi - 1) // 2
                assert self.min is not None and self.max is not None  # set with the first count
                return min(max(mid, self.min), self.max)
        return self.max

    def octaves(self) -> list[tuple[int, int, int]]:
        """[(lo_ns, hi_ns, count)] per power of two that holds calls, for a log2 bar chart."""
        out: dict[int, int] = {}
        for b, n in self.buckets.items():
            lo, _hi = bucket_range(b)
            k = lo.bit_length() - 1 if lo else 0
            out[k] = out.get(k, 0) + n
        return [((1 << k) if k else 0, 1 << (k + 1), out[k]) for k in sorted(out)]
