"""What every output format is: a writer of events (streamed) and, where it has a meaning,
of the per-function statistics; and the registry they enter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import IO, Any, ClassVar, TextIO

from goprobe_tui.errors import BadInput
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import Snapshot
from goprobe_tui.events.status import TraceStatus


class EventWriter(ABC):
    """Events in, text out (bytes for a binary format), as they come: a writer may also hold
    them until close()."""

    def __init__(self, out: IO[Any]) -> None:
        self.out = out

    @abstractmethod
    def write(self, events: Iterable[TraceEvent]) -> None: ...

    def close(self, status: TraceStatus | None = None) -> None:
        """Everything written; the stream stays open (it is the caller's). status: the
        session's final counts (lost events), for formats that record them."""
        self.out.flush()


class LineWriter(EventWriter):
    """One line (or a few) of text per event, written as they come."""

    def __init__(self, out: TextIO, line: Callable[[TraceEvent], str]) -> None:
        super().__init__(out)
        self.line = line

    def write(self, events: Iterable[TraceEvent]) -> None:
        lines = [self.line(ev) for ev in events]
        if lines:
            self.out.write("\n".join(lines) + "\n")


class OutputFormat(ABC):
    name: ClassVar[str]
    suffix: ClassVar[str]  # for files saved in this format
    summary: ClassVar[str]  # one line for --help and the save prompt
    binary: ClassVar[bool] = False  # its writer writes bytes (a file, never a terminal)
    callers: ClassVar[bool] = False  # its writer uses each entry's direct caller (`caller`)

    @abstractmethod
    def writer(self, out: Any) -> EventWriter:
        """out: a text stream, or a binary one where `binary` says so."""

    def write_stats(self, snapshot: Snapshot, out: TextIO, status: TraceStatus | None = None) -> None:
        raise BadInput(f"--format {self.name} applies to events, not to statistics")

    def trailer(self, status: TraceStatus) -> str:
        """What a line format writes after its last event: the session's final counts, where
        the format has a place for them, so a file says whether it is complete."""
        return ""


FORMATS: dict[str, OutputFormat] = {}


def register(cls: type[OutputFormat]) -> type[OutputFormat]:
    FORMATS[cls.name] = cls()
    return cls
