"""The one API the UI drives tracing through (TraceController implements it; tests use a
fake). Panes get events as drained batches and counters as a typed snapshot: none of them
reaches into the controller's queues, counters or probe records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from goprobe_tui.gobinary import Function
from goprobe_tui.tracefs.attach import AttachedFunction
from goprobe_tui.tracefs.decode import EventRow


@dataclass(frozen=True)
class EngineStatus:
    """Counters at one instant: every event is received, lost (counted), or waiting."""

    received: int = 0
    lost: int = 0
    malformed: int = 0
    unattributed: int = 0
    unpaired_returns: int = 0
    waiting: int = 0  # decoded, not yet drained by the UI
    probes: int = 0
    functions: int = 0
    error: str | None = None  # events stopped arriving, and why
    notices: tuple[str, ...] = ()  # things the user must know (a decoder restarted)
    binary_change: Any = None  # binary_watch.Change, once the traced file changed
    following: int | None = None  # the goroutine events are restricted to (kernel filter)
    stacks: bool = False  # events carry their call stack


class Engine(Protocol):
    on_binary_change: Callable[[Any], None] | None

    def attach_many(self, fns: list[Function], returns: bool,
                    stop: Callable[[], bool] = ...) -> tuple[list[AttachedFunction], dict[str, str]]: ...
    def detach(self, name: str) -> None: ...
    def detach_all(self, progress: Callable[[int, int], None] | None = None) -> None: ...
    def returns_of(self, name: str) -> bool | None:
        """None: not attached; else whether it has return probes."""
    def attached_names(self) -> list[str]: ...
    def hits(self) -> dict[str, int]: ...
    def set_fields(self, fn: Function, exprs: tuple[str, ...]) -> AttachedFunction | None: ...
    def fields_of(self, fn: Function) -> tuple[str, ...]: ...
    def set_condition(self, fn: Function, text: str) -> AttachedFunction | None: ...
    def condition_of(self, fn: Function) -> str: ...
    def follow_goroutine(self, goid: int | None) -> None: ...
    def set_stacks(self, on: bool) -> None: ...
    def drain(self, limit: int = ...) -> list[EventRow]: ...
    def status(self) -> EngineStatus: ...
    def insight(self) -> list[dict[str, Any]]: ...
    def close(self, progress: Callable[[int, int], None] | None = None) -> None: ...
