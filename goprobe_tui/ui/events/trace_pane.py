"""Live events: a bounded, filterable, follow-tail log (Line API, strips cached).

It follows the tail unless the user moved up; `below` is exactly the number of events under
the view. ↑/↓ move a cursor over events: Enter opens one, `g` shows its goroutine's calls,
`F` follows (or stops following) its goroutine. End or G returns to the live tail."""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from goprobe_tui.durations import parse_go_duration
from goprobe_tui.events.model import ROW_FUNCTION, ROW_KIND, ROW_LATENCY, EventRow, TraceEvent
from goprobe_tui.events.text import format_duration
from goprobe_tui.textsafe import printable

LATENCY_W = 7  # "850ns", "12.3µs", "50.6ms", "1.50s"


CALL_MIN = 40  # a call cut shorter than this gives way to where and when
WIDE = 120  # from this many columns on, where is said in full (pid/tid, cpu)


def pane_parts(ev: TraceEvent, start_ns: int | None = None) -> tuple[str, str, str, str]:
    """(latency column, the call, where in full, where in short): the latency and the call are
    what the eye scans for, then who and when. start_ns: times relative to it (else the wall
    clock)."""
    when = ev.clock_text() if start_ns is None else ev.since_text(start_ns)
    if ev.kind == "entry":
        head, call = f"→ {'':>{LATENCY_W}} ", ev.call_text("µs")
    elif ev.kind == "line":
        head, call = f"· {'':>{LATENCY_W}} ", ev.call_text("µs")
    elif ev.kind == "spawn":
        head, call = f"⇒ {'':>{LATENCY_W}} ", ev.call_text("µs")
    else:
        lat = "" if ev.latency_ns is None else format_duration(ev.latency_ns)
        head, call = f"← {lat:>{LATENCY_W}} ", ev.result_text()
    g = "" if ev.goid is None else f" g{ev.goid}"
    return (
        printable(head),
        printable(call),
        printable(f"  {ev.who_text()} {when}"),
        printable(f"  {ev.comm}{g} {when}"),
    )


def fit_line(parts: tuple[str, str, str, str], width: int) -> str:
    """One line of `width`: the call cut (…) before where and when are lost."""
    head, call, full, short = parts
    tail = full if width >= WIDE else short
    room = width - len(head) - len(tail)
    if len(call) <= room:
        return head + call + tail
    if room >= CALL_MIN:
        return head + call[: room - 1] + "…" + tail
    return head + call  # a narrow pane: the call, and where it is cut the terminal says


def pane_text(ev: TraceEvent, start_ns: int | None = None) -> str:
    """The whole line, uncut (for the filter and saved views)."""
    head, call, full, _short = pane_parts(ev, start_ns)
    return head + call + full


MAX_LINES = 50_000  # bounded memory; older lines are dropped (and the count says so)
TRIM = 10_000


class TracePane(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"trace-pane--entry", "trace-pane--return", "trace-pane--cursor"}
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="events.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="events.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="events.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="events.page-down"),
        Binding("end,G", "tail", "Tail", show=False, id="events.tail"),
        Binding("enter", "open", "Event", show=False, id="events.open"),
        Binding("g", "calls", "Calls of its goroutine", show=False, id="events.calls"),
        Binding("F", "follow", "Follow its goroutine", show=False, id="events.follow"),
    ]

    class EventChosen(Message):
        """Enter, `g` or `F` on an event: what to do, and the event."""

        def __init__(self, what: str, event: TraceEvent) -> None:
            super().__init__()
            self.what = what
            self.event = event

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[EventRow] = []  # rows, not TraceEvents: invisible to the cyclic GC
        self.texts: list[tuple[str, str, str, str] | None] = []
        self.view: list[int] = []  # indexes into events that pass the filter
        self.filter = ""
        self.slower_than_ns: int | None = None  # a `>DURATION` filter
        # times: relative to the session's start (start_ns), or the wall clock (None)
        self.start_ns: int | None = time.monotonic_ns()
        self.cursor: int | None = None  # a position in `view`; None: no event chosen
        # Following is a decision, not a scroll position: a burst scrolls the view later
        # than the next burst arrives, so "at the bottom" would read false in between.
        self._follow = True
        self.dropped = 0
        self._base = 0  # absolute number of the first kept line, for the cache key
        self._cache: LRUCache[tuple, Strip] = LRUCache(1000)

    @property
    def following(self) -> bool:
        return self._follow and self.cursor is None

    @property
    def below(self) -> int:
        """Events under the view: exactly what the ▼ badge counts."""
        return max(0, len(self.view) - int(self.scroll_offset.y) - self.scrollable_content_region.height)

    def parts(self, i: int) -> tuple[str, str, str, str]:
        """Formatted lazily: only lines that are shown (or filtered) ever pay for formatting."""
        t = self.texts[i]
        if t is None:
            t = self.texts[i] = pane_parts(self.event(i), self.start_ns)
        return t

    def text(self, i: int) -> str:
        head, call, full, _short = self.parts(i)
        return head + call + full

    def event(self, i: int) -> TraceEvent:
        return TraceEvent.from_row(self.rows[i])

    def _matches(self, i: int) -> bool:
        if self.slower_than_ns is not None:  # `>50ms`: the calls slower than that, at their return
            latency = self.rows[i][ROW_LATENCY]
            return latency is not None and latency > self.slower_than_ns
        f = self.filter
        return not f or f in self.rows[i][ROW_FUNCTION].lower() or f in self.text(i).lower()

    def add(self, rows: list[EventRow]) -> None:
        if not rows:
            return
        follow = self.following
        start = len(self.rows)
        self.rows.extend(rows)
        self.texts.extend([None] * len(rows))
        new = range(start, len(self.rows))
        self.view.extend(new if not self.filter else (i for i in new if self._matches(i)))
        if len(self.rows) > MAX_LINES:
            self._trim()
        self.virtual_size = Size(0, len(self.view))  # no sideways scrolling: lines are fitted
        if follow:
            self.scroll_end(animate=False, immediate=True)
            # and once laid out: the new size may not be applied yet
            self.call_after_refresh(self.keep_following)
        self.refresh()

    def keep_following(self) -> None:
        """At the tail, if following: also called on every drain tick, since a scroll asked
        for before the pane's first layout (events already arriving at start-up) is lost."""
        if self.following and self.below:
            self.scroll_end(animate=False, immediate=True)

    def on_resize(self) -> None:
        self.keep_following()

    def _trim(self) -> None:
        del self.rows[:TRIM]
        del self.texts[:TRIM]
        self.dropped += TRIM
        self._base += TRIM
        kept = [i - TRIM for i in self.view if i >= TRIM]
        if self.cursor is not None:  # keep it on the same event, or the oldest one left
            self.cursor = max(0, self.cursor - (len(self.view) - len(kept)))
        self.view = kept
        self._cache.clear()

    def set_filter(self, text: str) -> None:
        """Text or a function name; `>DURATION` (`>50ms`, as trace --slower-than): the calls
        slower than that. BadInput for a duration that is not one (the filter stays)."""
        text = text.strip()
        slower = parse_go_duration(text[1:]) if text.startswith(">") else None
        self.slower_than_ns = slower
        self.filter = text.lower()
        self.view = [i for i in range(len(self.rows)) if self._matches(i)]
        self.virtual_size = Size(0, len(self.view))  # no sideways scrolling: lines are fitted
        self._cache.clear()
        self.cursor = None
        self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def clear(self) -> None:
        self._base += len(self.rows)
        self.rows.clear()
        self.texts.clear()
        self.view.clear()
        self.cursor = None
        self.virtual_size = Size(0, 0)
        self._cache.clear()
        self.refresh()

    def toggle_clock(self, session_start_ns: int) -> None:
        """Relative times <-> wall clock."""
        self.start_ns = None if self.start_ns is not None else session_start_ns
        self.texts = [None] * len(self.texts)
        self._cache.clear()
        self.refresh()

    def action_tail(self) -> None:
        self._move(None)
        self._follow = True
        self.scroll_end(animate=False, immediate=True)

    def on_mouse_scroll_up(self) -> None:
        # (not _on_mouse_scroll_up: that is the Widget's own handler, which does the scrolling)
        self._follow = False  # the user looks back: stay there

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.cursor is None and new >= self.max_scroll_y and new > old:
            self._follow = True  # scrolled back down to the end: follow again

    def _move(self, cursor: int | None) -> None:
        self.cursor = cursor
        if cursor is not None:
            self._follow = False
        self._cache.clear()
        if cursor is not None:
            top, height = int(self.scroll_offset.y), self.scrollable_content_region.height
            if cursor < top:
                self.scroll_to(y=cursor, animate=False, immediate=True)
            elif cursor >= top + height:
                self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor_up(self) -> None:
        if not self.view:
            return
        if self.cursor is None:  # start on the last event shown
            last = min(len(self.view), int(self.scroll_offset.y) + self.scrollable_content_region.height)
            self._move(max(0, last - 1))
        else:
            self._move(max(0, self.cursor - 1))

    def action_cursor_down(self) -> None:
        if self.cursor is None:
            return
        if self.cursor >= len(self.view) - 1:
            self.action_tail()  # past the last event: follow again
        else:
            self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        height = self.scrollable_content_region.height
        if self.cursor is None:
            self.action_cursor_up()
        self._move(max(0, (self.cursor or 0) - height))

    def action_page_down(self) -> None:
        if self.cursor is not None:
            height = self.scrollable_content_region.height
            if self.cursor + height >= len(self.view):
                self.action_tail()
            else:
                self._move(self.cursor + height)

    def current(self) -> TraceEvent | None:
        """The event under the cursor, else the last one shown."""
        if not self.view:
            return None
        pos = len(self.view) - 1 if self.cursor is None else min(self.cursor, len(self.view) - 1)
        return self.event(self.view[pos])

    def _chosen(self, what: str) -> None:
        ev = self.current()
        if ev is not None:
            self.post_message(self.EventChosen(what, ev))

    def action_open(self) -> None:
        self._chosen("open")

    def action_calls(self) -> None:
        self._chosen("calls")

    def action_follow(self) -> None:
        self._chosen("follow")

    def render_line(self, y: int) -> Strip:
        row = y + int(self.scroll_offset.y)
        width = self.scrollable_content_region.width
        if row >= len(self.view):
            return Strip.blank(width, self.rich_style)
        i = self.view[row]
        key = (self._base + i, width)
        strip = self._cache.get(key)
        if strip is None:
            if row == self.cursor:
                style = self.get_component_rich_style("trace-pane--cursor")
            else:  # the pane's own background, the kind's colour
                kind = "trace-pane--entry" if self.rows[i][ROW_KIND] == "entry" else "trace-pane--return"
                style = self.rich_style + Style(color=self.get_component_rich_style(kind).color)
            strip = Strip([Segment(fit_line(self.parts(i), width), style)]).crop_extend(0, width, style)
            self._cache[key] = strip
        return strip
