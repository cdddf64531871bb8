"""What goprobe-tui and its decoder process say to each other (frames.py carries them): one
class per message, so both sides name the same fields and a new message is one class here."""

from __future__ import annotations

from dataclasses import dataclass

from goprobe_tui.events.status import TraceStatus
from goprobe_tui.tracefs.ringbuf import PageHeader
from goprobe_tui.tracefs.session import ProbeEvent

# -- parent -> child --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowsOutput:
    """Decoded rows go back to the parent (if `rows`), with statistics (if `insight`)."""

    rows: bool
    insight: bool
    by: str | None  # statistics keyed by this parameter or field


@dataclass(frozen=True, slots=True)
class PrintOutput:
    """The child formats `count` events (None: all) in a registered format for the parent to write."""

    format: str
    count: int | None


@dataclass(frozen=True, slots=True)
class Start:
    """The first message: how to read the pages and what to make of them."""

    header: PageHeader
    root: str  # tracefs root
    pid_filter: int | None  # the process whose events are kept (None: all)
    output: RowsOutput | PrintOutput
    one_process: int | None  # perf's one traced process (None: it and its children)
    otlp: tuple[str, str, str] | None  # (url, binary, Go version): spans to a collector


@dataclass(frozen=True, slots=True)
class Announce:
    """A probe event, before it is enabled (and again when its sites change)."""

    event: ProbeEvent


@dataclass(frozen=True, slots=True)
class StatsBy:
    by: str | None


@dataclass(frozen=True, slots=True)
class WalkedStacks:
    """Events decoded from now on carry the frames their probes walked, or not."""

    on: bool


@dataclass(frozen=True, slots=True)
class OnlyGoroutines:
    goids: tuple[int, ...] | None  # None: every goroutine


@dataclass(frozen=True, slots=True)
class SlowerThan:
    ns: int | None  # None: every event


@dataclass(frozen=True, slots=True)
class Threads:
    """The process of each thread perf saw (a launched program's tree)."""

    pids: dict[int, int]


@dataclass(frozen=True, slots=True)
class Pages:
    pages: list[tuple[int, bytes]]  # (cpu, page)
    lost: int  # the kernel's and the reader's lost records so far
    read_ns: int  # when they were read: the merger releases what is older


@dataclass(frozen=True, slots=True)
class Eof:
    """Not sent: the outbox's end (the child sees its stdin close)."""


ToDecoder = Start | Announce | StatsBy | WalkedStacks | OnlyGoroutines | SlowerThan | Threads | Pages | Eof

# -- child -> parent --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    why: str


@dataclass(frozen=True, slots=True)
class Events:
    count: int
    rows: bytes  # pickled [EventRow]: unpickled by the receiver when it takes them
    status: TraceStatus


@dataclass(frozen=True, slots=True)
class Status:
    status: TraceStatus


@dataclass(frozen=True, slots=True)
class Insight:
    stats: list  # per-function statistics snapshots
    flame: list | None  # FlameRows, None when the flame did not change


@dataclass(frozen=True, slots=True)
class PrintText:
    data: bytes  # whole records of a line format
    count: int


@dataclass(frozen=True, slots=True)
class PrintRows:
    rows: bytes  # pickled [EventRow] for a format the parent writes
    count: int


@dataclass(frozen=True, slots=True)
class Done:
    """The count of events to print is reached."""


FromDecoder = Ready | Failed | Events | Status | Insight | PrintText | PrintRows | Done
