"""A row of counts as block characters, scaled from 0 to the largest (an empty cell: none)."""

from __future__ import annotations

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(counts: list[int]) -> str:
    top = max(counts, default=0)
    if not top:
        return " " * len(counts)
    return "".join(SPARK[min(len(SPARK) - 1, n * len(SPARK) // (top + 1))] if n else " " for n in counts)
