"""The views under the browser, in `v` order: adding a view is its widget's module and one
entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.widget import Widget

from goprobe_tui.ui.calls.call_tree_view import CallTreeView
from goprobe_tui.ui.events.events_view import EventsView
from goprobe_tui.ui.flame.flame_view import FlameView
from goprobe_tui.ui.goroutines.goroutines_view import GoroutinesView
from goprobe_tui.ui.stats.stats_pane import StatsPane


@dataclass(frozen=True)
class View:
    id: str
    title: str
    make: Callable[..., Widget]  # called with id=...
    focus: str  # what gets the focus when it is shown (a selector inside it; "": the view)


VIEWS = [
    View("events-view", "Events", EventsView, "TracePane"),
    View("stats-view", "Stats", StatsPane, "#stats-table"),
    View("calls-view", "Calls", CallTreeView, ""),
    View("flame-view", "Flame", FlameView, ""),
    View("goroutines-view", "Goroutines", GoroutinesView, "#goroutine-table"),
]
