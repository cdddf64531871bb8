"""A virtualised list of every function (Line API): cost per repaint is the visible rows only."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from goprobe_tui.gobinary import FunctionTable, package_of
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.browser.probe_panel import fit_left


class FunctionList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "function-list--cursor",
        "function-list--package",
        "function-list--location",
        "function-list--probe",
        "function-list--error",
    }
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page-down"),
        Binding("home", "jump(0)", "Top", show=False, id="list.top"),
        Binding("end", "jump(-1)", "Bottom", show=False, id="list.bottom"),
        Binding("enter", "details", "Details", show=False, id="list.details"),
    ]

    cursor = reactive(0, always_update=True)

    class Highlighted(Message):
        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    class ColumnsChanged(Message):
        """The columns' widths changed: the titles above must follow."""

    class DetailsRequested(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, table: FunctionTable, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.inlined: np.ndarray = np.zeros(len(table), dtype=np.int64)  # inlined calls per row
        self.rows: np.ndarray = np.arange(len(table))
        self.state: dict[int, str] = {}  # function index -> "entry" | "entry+ret" | "error"
        self.hits: dict[int, int] = {}
        # Keyed by everything a row's look depends on, so model changes never need a clear.
        self._cache: LRUCache[tuple, Strip] = LRUCache(2000)
        self.virtual_size = Size(0, len(self.rows))

    # -- model ----------------------------------------------------------------
    def set_table(self, table: FunctionTable, inlined: np.ndarray) -> None:
        """A bigger catalog (the functions that exist only inlined added after the table's
        own, whose indexes stay) and each row's inlined calls. set_rows follows."""
        self.table = table
        self.inlined = inlined
        self._cache.clear()
        self.post_message(self.ColumnsChanged())

    def set_rows(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.virtual_size = Size(0, len(rows))  # no sideways scrolling: names are cut to fit
        self.scroll_to(y=0, animate=False)
        self.cursor = 0
        self.refresh()

    def set_state(self, index: int, state: str | None) -> None:
        if state is None:
            self.state.pop(index, None)
        else:
            self.state[index] = state
        self.refresh()

    def set_hits(self, hits: dict[int, int]) -> None:
        if hits != self.hits:
            grew = self._widths()[2] != max(4, len(f"{max(hits.values(), default=0):,}"))
            self.hits = hits
            if grew:  # the column widens: every row and the titles move
                self._cache.clear()
                self.post_message(self.ColumnsChanged())
            self.refresh()

    @property
    def current(self) -> int | None:
        return int(self.rows[self.cursor]) if 0 <= self.cursor < len(self.rows) else None

    # -- actions --------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        clamped = max(0, min(new, len(self.rows) - 1))
        if clamped != new:
            self.cursor = clamped
            return
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True)
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self.rows) - 1

    def action_details(self) -> None:
        if self.current is not None:
            self.post_message(self.DetailsRequested(self.current))

    def on_click(self, event) -> None:
        self.cursor = event.y + int(self.scroll_offset.y)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # -- rendering ------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        row = y + int(self.scroll_offset.y)
        width = self.scrollable_content_region.width  # the scrollbar takes its column
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        idx = int(self.rows[row])
        key = (idx, row == self.cursor, width, self.state.get(idx), self.hits.get(idx), len(self.inlined))
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(idx, row == self.cursor, width)
            self._cache[key] = strip
        return strip

    # -- columns: as wide as the binary's own numbers need, one space between -------------
    def _widths(self) -> tuple[int, int, int, int]:
        """(offset, size, inlined, hits) column widths: a 9-digit hit count or a 0x12a64000
        offset is never cut, and never glued to its neighbour."""
        t = self.table
        offset = len(f"{int(t.offset.max()) if len(t) else 0:#x}")
        size = max(4, len(str(int((t.end - t.entry).max()) if len(t) else 0)))
        inlined = max(3, len(f"{int(self.inlined.max()) if len(self.inlined) else 0:,}"))
        hits = max(4, len(f"{max(self.hits.values(), default=0):,}"))
        return offset, size, inlined, hits

    def _right(self, width: int, loc: str, offset: str, size: str, inlined: str, hits: str) -> str:
        """The columns right of the name, as many as the width allows (the name matters most)."""
        if width < 60:
            return ""
        ow, sw, iw, hw = self._widths()
        if width < 80:
            return f" {fit_left(loc, 18):>18} {inlined:>{iw}}"
        return f" {fit_left(loc, 22):>22} {offset:>{ow}} {size:>{sw}} {inlined:>{iw}} {hits:>{hw}}"

    def header(self, width: int | None = None) -> str:
        width = self.scrollable_content_region.width if width is None else width
        right = self._right(width, "FILE:LINE", "OFFSET", "SIZE", "INL", "HITS")
        return ("  FUNCTION".ljust(max(10, width - len(right))) + right)[:width]

    def _render_row(self, idx: int, is_cursor: bool, width: int) -> Strip:
        t = self.table
        name = printable(t.keys[idx])  # unique; no control codes from the binary reach the terminal
        pkg = package_of(t.names[idx])
        only = idx >= t.inlined_only_from  # no body of its own: no file offset, no size
        loc = "(inlined only)" if only else printable(f"{t.files[idx].rsplit('/', 1)[-1]}:{t.lines[idx]}")
        state = self.state.get(idx)
        hits = self.hits.get(idx)
        base = self.rich_style
        dim = self.get_component_rich_style("function-list--package")
        loc_style = self.get_component_rich_style("function-list--location")
        marker_style = self.get_component_rich_style(
            "function-list--error" if state == "error" else "function-list--probe"
        )
        marker = {"entry": "● ", "entry+ret": "◆ ", "error": "✗ "}.get(state or "", "  ")
        inlined = int(self.inlined[idx]) if idx < len(self.inlined) else 0
        right = self._right(
            width,
            loc,
            "-" if only else f"{int(t.offset[idx]):#x}",
            "-" if only else str(int(t.end[idx] - t.entry[idx])),
            f"{inlined:,}" if inlined else "",
            "" if hits is None else f"{hits:,}",
        )
        name_w = max(10, width - 2 - len(right))
        # Cut from the left: the end (type and method) tells functions apart.
        shown = fit_left(name, name_w)
        cut = len(name) - len(shown) + 1 if shown != name else 0
        split = max(0, len(pkg) - cut + (1 if cut else 0)) if name.startswith(pkg) else 0
        segs = [
            Segment(marker, base + marker_style),
            Segment(shown[:split], base + dim),
            Segment(shown[split:].ljust(name_w - split), base),
            Segment(right, base + loc_style),
        ]
        strip = Strip(segs).crop_extend(0, width, base)
        if is_cursor:
            strip = strip.apply_style(self.get_component_rich_style("function-list--cursor"))
        return strip
