"""The one API both front ends drive tracing through (TraceController implements it; UI tests
use a fake). Front ends get events as drained rows and counters as one TraceStatus: none of
them reaches into the controller's queues, sessions or probe records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from goprobe_tui.engine.attach import AttachedFunction
from goprobe_tui.events.model import EventRow
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.gobinary import Function


@dataclass(frozen=True)
class RateReport:
    """One look at the probes' hit rates: hits per function, what to warn about, what the
    engine detached for firing above --max-rate."""

    hits: dict[str, int]
    warnings: tuple[str, ...] = ()
    detached: tuple[str, ...] = ()


class Engine(Protocol):
    on_binary_change: Callable[[Any], None] | None
    counts_calls: bool  # per-function call counts come (statistics on): the panel's hits
    goroutines: bool  # goroutine creations are recorded (spawn events)

    def attach_many(
        self, fns: list[Function], returns: bool, stop: Callable[[], bool] = ...
    ) -> tuple[list[AttachedFunction], dict[str, str]]: ...
    def detach(self, name: str) -> None: ...
    def detach_all(self) -> None: ...
    def returns_of(self, name: str) -> bool | None:
        """None: not attached; else whether it has return probes."""

    def attached_names(self) -> list[str]: ...
    def check_rates(self) -> RateReport: ...
    def set_fields(self, fn: Function, exprs: tuple[str, ...]) -> AttachedFunction | None: ...
    def fields_of(self, fn: Function) -> tuple[str, ...]: ...
    def set_condition(self, fn: Function, text: str) -> AttachedFunction | None: ...
    def condition_of(self, fn: Function) -> str: ...
    def follow_goroutine(self, goid: int | None, descendants: tuple[int, ...] = ()) -> None: ...
    def set_stacks(self, on: bool) -> None: ...
    def trace_goroutines(self, on: bool) -> None:
        """Record every goroutine created (spawn events), or stop; ProbeError says why not."""

    def drain(self, limit: int = ...) -> list[EventRow]: ...
    def status(self) -> TraceStatus: ...
    def insight(self) -> list[StatsRow]: ...
    def stats_by(self, expr: str | None) -> None:
        """Statistics by the values of a parameter or field from now on (None: by function)."""

    def flame(self) -> list[Any]:
        """The latest call paths with their time (insight/flame.py FlameRow)."""

    def close(self) -> None:
        """Disable every probe (status().detaching says how far), let the decoder finish,
        remove everything from the kernel."""
