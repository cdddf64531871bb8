"""One row of the statistics: a function's (or, with --by, one key's) numbers, as numbers.
The output formats and the Stats view turn them into text; nothing before them does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StatsRow:
    function: str
    calls: int = 0
    inlined: int = 0  # of the calls, those of inlined copies (no return: no latency)
    calls_per_s: int = 0  # in the last whole second
    rate: list[int] = field(default_factory=list)  # calls in each of the last seconds, oldest first
    errors: int | None = None  # None: no error result, or results unknown
    returns: int = 0  # calls timed (their return seen with its entry)
    unpaired_returns: int = 0
    p50_ns: int | None = None
    p90_ns: int | None = None
    p99_ns: int | None = None
    max_ns: int | None = None
    min_ns: int | None = None
    mean_ns: int | None = None
    histogram: list[list[int]] = field(default_factory=list)  # [lo_ns, hi_ns, count] per octave
    slowest: dict[str, Any] | None = None  # latency_ns, args, args_text, goid, ...
    callers: list[list[Any]] = field(default_factory=list)  # [name, count], most first
    key: Any = None  # --by: the value this row counts (None: a whole function)
    key_text: str | None = None  # that value as shown
    total: bool = False  # --by: the function's sum over its keys, not a key of its own
    untraced_inlined_sites: int = 0  # inlined calls with no probe: the count is partial
    slower: int | None = None  # --slower-than: its calls slower than that (None: not asked)


Snapshot = list[StatsRow]  # what a statistics snapshot is, everywhere
