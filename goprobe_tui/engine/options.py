"""What a front end asks of the engine, in one value: built from the command line or the UI."""

from __future__ import annotations

from dataclasses import dataclass, field

from goprobe_tui.values.kinds import FetchPlan


@dataclass(frozen=True)
class Output:
    """Headless: the decoder writes events itself, in a registered output format."""

    fd: int
    format: str  # a name in events.formats.FORMATS
    count: int | None = None  # stop after this many events


@dataclass(frozen=True)
class EngineOptions:
    pid: int | None = None  # trace this process only
    # pid is a program started under trace (trace BIN -- ARGS): the processes it forks are
    # traced too, and each event keeps its own process id
    launched: bool = False
    overrides: dict[str, FetchPlan] = field(default_factory=dict)  # --fetch, per function
    fields: tuple[str, ...] = ()  # --field selectors, for every function that has the root
    where: tuple[str, ...] = ()  # --where: for every function, or `PATTERN: COND` for some
    stacks: bool = False  # every event with its call stack
    # the front end turns stacks on and off (`b`): where the kernel has no user-stack walk
    # (arm64) the probes then walk the frames from the start, shown only while stacks are on
    stack_toggle: bool = False
    stack_depth: int | None = None  # frames read by the probe itself (None: the kernel's 8)
    depth: int = 1  # levels of pointers to structs followed
    max_rate: float | None = None  # detach a function firing faster (calls/s)
    statistics: bool = False  # aggregate per-function statistics in the decoder
    by: str | None = None  # statistics per value of this parameter or field (stats --by)
    otlp: str | None = None  # send paired calls as spans to this OTLP/HTTP endpoint
    # only calls slower than this (ns) are passed on, once each at their return, with their
    # arguments; statistics, spans and the flame still see every call
    slower_than_ns: int | None = None
    rows: bool = True  # events come back for a front end to drain (else only counters)
    output: Output | None = None  # headless: the decoder writes the events
