"""Goroutines waiting alike, as one group (Go's `goroutine?debug=1`, panicparse): the same state,
wait reason, stack and creator. One grouping for the headless dump and the TUI's view, and the
history of each group's size over successive dumps: a leak is a group that only grows."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from goprobe_tui.engine.goroutines import Goroutine, GoroutineDump

GroupKey = tuple  # (status, wait reason, note, ((function, file, line), ...), creator function)
HISTORY = 60  # dumps remembered per group (2 minutes at the TUI's 2 s)
RUNTIME_PREFIXES = ("runtime.", "internal/", "sync.")


SHOWN_THREADS = 8


def on_threads(members: list[Goroutine]) -> str:
    """`goroutine 7 on thread 4242 (M3), …`: where running goroutines run ("" for none)."""
    on = [g for g in members if g.thread is not None]
    text = ", ".join(f"goroutine {g.goid} on thread {g.thread} (M{g.m_id})" for g in on[:SHOWN_THREADS])
    return text + (f", and {len(on) - SHOWN_THREADS:,} more" if len(on) > SHOWN_THREADS else "")


def group_key(g: Goroutine) -> GroupKey:
    return (
        g.status,
        g.wait_reason,
        g.note,
        tuple((f.function, f.file, f.line) for f in g.frames),
        g.created_by.function if g.created_by else "",
    )


@dataclass
class GoroutineGroup:
    key: GroupKey
    members: list[Goroutine]

    @property
    def first(self) -> Goroutine:
        return self.members[0]

    @property
    def state(self) -> str:
        """`waiting [chan receive]`: Go's status and, when waiting, its reason."""
        g = self.first
        return g.status + (f" [{g.wait_reason}]" if g.wait_reason else "")

    @property
    def longest_wait_ns(self) -> int | None:
        waits = [g.wait_ns for g in self.members if g.wait_ns is not None]
        return max(waits) if waits else None

    @property
    def changed(self) -> int:
        """How many moved while they were read (what is shown may mix two moments)."""
        return sum(g.changed for g in self.members)

    @property
    def where(self) -> str:
        """Where the group waits, as its reader would name it: the innermost frame of the
        program's own code (package main, or a module path such as github.com/...), else the
        innermost outside the runtime; a goroutine of the runtime's own is named by the
        function it started in (runtime.bgsweep, not the runtime.gopark every one waits in)."""
        g = self.first
        own = [f for f in g.frames if _own_code(f.function)]
        outside = [f for f in g.frames if not f.function.startswith(RUNTIME_PREFIXES)]
        first = (own or outside)[0] if own or outside else g.start or (g.frames[0] if g.frames else None)
        return first.function if first is not None else "?"


def _own_code(function: str) -> bool:
    """Not Go's standard library: package main, or a module path (its first element has a dot)."""
    if function.startswith("main."):
        return True
    head, slash, _rest = function.partition("/")
    return bool(slash) and "." in head


def group_goroutines(dump: GoroutineDump) -> list[GoroutineGroup]:
    """The groups, largest first (ties: the lowest goroutine id first, a stable order)."""
    groups: dict[GroupKey, list[Goroutine]] = {}
    for g in dump.goroutines:
        groups.setdefault(group_key(g), []).append(g)
    out = [GoroutineGroup(k, members) for k, members in groups.items()]
    out.sort(key=lambda grp: (-len(grp.members), grp.members[0].goid))
    return out


def grown(groups: list[GoroutineGroup], before: dict[GroupKey, int]) -> list[tuple[int, GoroutineGroup]]:
    """(how many more, group) for each group larger than in `before`, most grown first."""
    out = [(len(grp.members) - before.get(grp.key, 0), grp) for grp in groups]
    return sorted(((n, grp) for n, grp in out if n > 0), key=lambda x: -x[0])


def sizes(groups: list[GoroutineGroup]) -> dict[GroupKey, int]:
    return {grp.key: len(grp.members) for grp in groups}


class GroupHistory:
    """Each group's size over the last HISTORY dumps (0 where it had no member), for sparklines.
    Bounded: a group gone for a whole history is forgotten."""

    def __init__(self, length: int = HISTORY) -> None:
        self.length = length
        self.dumps = 0
        self._series: dict[GroupKey, deque[int]] = {}

    def add(self, groups: list[GoroutineGroup]) -> None:
        now = sizes(groups)
        for key in now.keys() - self._series.keys():
            self._series[key] = deque([0] * min(self.dumps, self.length), maxlen=self.length)
        for key, series in list(self._series.items()):
            series.append(now.get(key, 0))
            if not any(series):
                del self._series[key]
        self.dumps += 1

    def series(self, key: GroupKey) -> list[int]:
        return list(self._series.get(key, ()))

    def only_grew(self, key: GroupKey) -> bool:
        """Never smaller from one dump to the next, and larger at the end than at the start:
        what a leak looks like."""
        s = self.series(key)
        return len(s) > 1 and s[-1] > s[0] and all(b >= a for a, b in pairwise(s))
