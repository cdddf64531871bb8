"""The lower half: the view tabs, the status line (counters always visible, whatever the
view), and the views themselves (ui/views.py), one shown at a time."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Static

from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.ui.events.events_view import EventsView
from goprobe_tui.ui.flame.flame_view import FlameView
from goprobe_tui.ui.stats.stats_pane import StatsPane
from goprobe_tui.ui.views import VIEWS


class TraceArea(Vertical):
    def __init__(self, events_view: EventsView, **kwargs) -> None:
        super().__init__(**kwargs)
        self.events = events_view
        self._status_text = ""
        self._stats_shown: list | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="views")
        yield Static(id="trace-status")
        with ContentSwitcher(initial=VIEWS[0].id, id="switcher"):
            for view in VIEWS:
                yield self.events if view.id == self.events.id else view.make(id=view.id)

    def on_mount(self) -> None:
        self.switcher = self.query_one(ContentSwitcher)
        self.status_line = self.query_one("#trace-status", Static)
        self._show_tabs()

    @property
    def current(self) -> str:
        return self.switcher.current or VIEWS[0].id

    def _show_tabs(self) -> None:
        text = Text(" ")
        for view in VIEWS:
            text.append(f" {view.title} ", style="reverse bold" if view.id == self.current else "dim")
            text.append(" ")
        text.append("  v: next view", style="dim")
        self.query_one("#views", Static).update(text)

    def show(self, view_id: str | None = None) -> None:
        """That view (None: the next one), focused."""
        ids = [v.id for v in VIEWS]
        self.switcher.current = view_id or ids[(ids.index(self.current) + 1) % len(ids)]
        self._show_tabs()
        view = next(v for v in VIEWS if v.id == self.current)
        widget = self.query_one(f"#{view.id}")
        target = widget.query_one(view.focus) if view.focus else widget
        if self.screen.maximized is not None and self.screen.maximized not in (widget, target):
            # a zoomed pane stays zoomed on the view now shown (g on a zoomed event opened
            # its Calls view behind the zoom, where nothing could be seen)
            self.screen.maximize(target, container=False)
        self.screen.set_focus(target)

    def show_statistics(self, snapshot: list[StatsRow]) -> None:
        """A new statistics snapshot (about twice a second), drawn when the Stats view shows."""
        if self.current == "stats-view" and snapshot is not self._stats_shown:
            for pane in self.query(StatsPane):  # none while the app is closing
                self._stats_shown = snapshot
                pane.update_snapshot(snapshot)

    def show_flame(self, rows: list) -> None:
        """The latest call paths, drawn when the Flame view shows."""
        if self.current == "flame-view":
            for view in self.query(FlameView):  # none while the app is closing (a timer fired)
                view.update_rows(rows)

    def update_status(self, status: TraceStatus | None) -> None:
        """The status line: the engine's counters, then what the events view shows."""
        self.events.session_status = status
        parts = []
        if status is not None:
            parts.append(f"events {status.received:,}")
            parts.append(f"[b]lost {status.lost:,}[/b]" if status.lost else "lost 0")
            if status.unpaired_returns:
                parts.append(f"no latency {status.unpaired_returns:,}")
            if status.unattributed or status.malformed:
                parts.append(f"unreadable {status.unattributed + status.malformed:,}")
            if status.waiting:
                parts.append(f"waiting {status.waiting:,}")
            if status.detaching is not None:
                parts.insert(
                    0,
                    f"[reverse] detaching: {status.detaching[0]}/{status.detaching[1]} "
                    "kernel events disabled [/reverse]",
                )
            if status.following is not None:  # a kernel filter on every event: said while on
                parts.append(f"[reverse] following g{status.following} (F: all) [/reverse]")
        else:
            parts.append("tracing unavailable")
        parts += self.events.status_parts(visible=self.current == self.events.id)
        text = " · ".join(parts)
        if text != self._status_text:  # repaint only on change: this runs every 50 ms
            self._status_text = text
            self.status_line.update(text)
