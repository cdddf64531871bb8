"""Live events: a bounded, filterable, follow-tail log (Line API, strips cached)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from goprobe_tui.textsafe import printable
from goprobe_tui.tracefs.decode import ROW_FUNCTION, ROW_KIND, EventRow, TraceEvent


def pane_text(ev: TraceEvent) -> str:
    """Function first: it is what the eye scans for; where and when follow."""
    arrow = "→" if ev.kind == "entry" else "←"
    return f"{arrow} {ev.call_text('µs')}  {ev.who_text()} {ev.clock_text()}"


MAX_LINES = 50_000  # bounded memory; older lines are dropped (and the count says so)
TRIM = 10_000


class TracePane(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"trace-pane--entry", "trace-pane--return"}
    BINDINGS = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("end", "tail", "Tail", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[EventRow] = []  # rows, not TraceEvents: invisible to the cyclic GC
        self.texts: list[str | None] = []
        self.view: list[int] = []  # indexes into events that pass the filter
        self.filter = ""
        self.new_count = 0
        self.dropped = 0
        self._base = 0  # absolute number of the first kept line, for the cache key
        self._cache: LRUCache[tuple, Strip] = LRUCache(1000)

    @property
    def following(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y - 1

    def text(self, i: int) -> str:
        """Formatted lazily: only lines that are shown (or filtered) ever pay for formatting."""
        t = self.texts[i]
        if t is None:
            t = self.texts[i] = printable(pane_text(self.event(i)))
        return t

    def event(self, i: int) -> TraceEvent:
        return TraceEvent.from_row(self.rows[i])

    def _matches(self, i: int) -> bool:
        f = self.filter
        return not f or f in self.rows[i][ROW_FUNCTION].lower() or f in self.text(i).lower()

    def add(self, rows: list[EventRow]) -> None:
        if not rows:
            return
        follow = self.following
        start = len(self.rows)
        self.rows.extend(rows)
        self.texts.extend([None] * len(rows))
        before = len(self.view)
        new = range(start, len(self.rows))
        self.view.extend(new if not self.filter else (i for i in new if self._matches(i)))
        added = len(self.view) - before
        if len(self.rows) > MAX_LINES:
            self._trim()
        self.virtual_size = Size(self.size.width, len(self.view))
        if follow:
            self.scroll_end(animate=False, immediate=True)
        else:
            self.new_count += added
        self.refresh()

    def _trim(self) -> None:
        del self.rows[:TRIM]
        del self.texts[:TRIM]
        self.dropped += TRIM
        self._base += TRIM
        self.view = [i - TRIM for i in self.view if i >= TRIM]
        self._cache.clear()

    def set_filter(self, text: str) -> None:
        self.filter = text.strip().lower()
        self.view = [i for i in range(len(self.rows)) if self._matches(i)]
        self.virtual_size = Size(self.size.width, len(self.view))
        self._cache.clear()
        self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def clear(self) -> None:
        self._base += len(self.rows)
        self.rows.clear()
        self.texts.clear()
        self.view.clear()
        self.new_count = 0
        self.virtual_size = Size(self.size.width, 0)
        self._cache.clear()
        self.refresh()

    def action_tail(self) -> None:
        self.scroll_end(animate=False)
        self.new_count = 0

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.following:
            self.new_count = 0

    def render_line(self, y: int) -> Strip:
        row = y + int(self.scroll_offset.y)
        width = self.size.width
        if row >= len(self.view):
            return Strip.blank(width, self.rich_style)
        i = self.view[row]
        key = (self._base + i, width)
        strip = self._cache.get(key)
        if strip is None:
            style = self.get_component_rich_style(
                "trace-pane--entry" if self.rows[i][ROW_KIND] == "entry" else "trace-pane--return")
            text = Text(self.text(i), style=style,
                        no_wrap=True, end="")
            strip = Strip(text.render(self.app.console)).crop_extend(0, width, self.rich_style)
            self._cache[key] = strip
        return strip
