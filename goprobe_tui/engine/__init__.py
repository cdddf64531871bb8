"""The engine: the façade both front ends drive (`Engine`, built by `open_engine`), and the
policy around the kernel: caps, the rate guard, shallow mass attach, the binary watch, signals.

May import: pipeline, tracefs, insight, events, values, gobinary and the base modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goprobe_tui.engine.api import Engine, RateReport
    from goprobe_tui.engine.attach import AttachedFunction
    from goprobe_tui.engine.controller import TraceController
    from goprobe_tui.engine.options import EngineOptions, Output
    from goprobe_tui.events.status import TraceStatus
    from goprobe_tui.gobinary import GoBinary

__all__ = [
    "AttachedFunction",
    "Engine",
    "EngineOptions",
    "Output",
    "RateReport",
    "TraceController",
    "TraceStatus",
    "open_engine",
]

# Imported when first asked for: `list` and the argument parser use light parts of the
# engine, and the kernel side (sessions, the decoder process) costs ~100 ms to import.
_LAZY = {
    "Engine": "engine.api",
    "RateReport": "engine.api",
    "AttachedFunction": "engine.attach",
    "TraceController": "engine.controller",
    "EngineOptions": "engine.options",
    "Output": "engine.options",
    "TraceStatus": "events.status",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"goprobe_tui.{_LAZY[name]}"), name)


def open_engine(
    binary: GoBinary, path: str | None = None, options: EngineOptions | None = None
) -> TraceController:
    """A live engine on its own tracing session: TracefsError (or OSError) if tracing cannot
    work here. Close it on every ending: that removes everything it put in the kernel."""
    from goprobe_tui.engine.controller import TraceController
    from goprobe_tui.engine.options import EngineOptions
    from goprobe_tui.tracefs.session import ProbeSession

    options = options or EngineOptions()
    session = ProbeSession(
        pid_filter=options.pid,
        isolate=options.pid is not None,
        stack_depth=options.stack_depth,
        children=options.launched,
    )
    try:
        return TraceController(binary, session, path or binary.path, options)
    except BaseException:
        session.close()
        raise


def cleanup_stale():
    """Remove what dead goprobe sessions left in the kernel: a SweepResult (removed, failed).
    TracefsError if tracefs cannot be used."""
    from goprobe_tui.tracefs.fs import find_tracefs
    from goprobe_tui.tracefs.stale import sweep_stale

    return sweep_stale(find_tracefs())
