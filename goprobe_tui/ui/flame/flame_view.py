"""The Flame view: where the time goes, drawn from the traced calls' paths (insight/flame.py).
Each row is one depth; a frame is as wide as its time (or, `m`, its calls) within the frame
zoomed into. ← → move along a row, ↑ ↓ to the parent or the widest child, Enter zooms into the
frame, Backspace zooms out; the line below says the selected frame's calls, total and self time
and p50/p99. Redrawn from the decoder's snapshots (about twice a second), never per event."""

from __future__ import annotations

import zlib

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

from goprobe_tui.events.text import format_duration
from goprobe_tui.insight.flame import FlameRow
from goprobe_tui.textsafe import printable

PALETTE = ("#b34d2e", "#c0622f", "#c97a36", "#a8551f", "#b8702a", "#d08a3a", "#9c4a26", "#c2683a")
ROOT: tuple[str, ...] = ()


class FlameView(Widget, can_focus=True):
    BINDINGS = [
        Binding("left", "move(-1)", "Left", show=False, id="flame.left"),
        Binding("right", "move(1)", "Right", show=False, id="flame.right"),
        Binding("up", "parent", "Parent", show=False, id="flame.parent"),
        Binding("down", "child", "Child", show=False, id="flame.child"),
        Binding("enter", "zoom", "Zoom", show=False, id="flame.zoom"),
        Binding("backspace", "unzoom", "Out", show=False, id="flame.out"),
        Binding("m", "metric", "Time/calls", show=False, id="flame.metric"),
    ]
    DEFAULT_CSS = "FlameView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[tuple[str, ...], FlameRow] = {}
        self.children_of: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self.zoom: tuple[str, ...] = ROOT
        self.selected: tuple[str, ...] | None = None
        self.by_calls = False
        self._shown: list | None = None

    # -- data -------------------------------------------------------------------------
    def update_rows(self, rows: list[FlameRow]) -> None:
        if rows is self._shown:
            return
        self._shown = rows
        self.rows = {r.path: r for r in rows}
        kids: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for r in rows:
            kids.setdefault(r.path[:-1], []).append(r.path)
        for paths in kids.values():
            paths.sort(key=self._width, reverse=True)
        self.children_of = kids
        if self.zoom and self.zoom not in self.rows:
            self.zoom = ROOT
        if self.selected is not None and self.selected not in self.rows:
            self.selected = None
        self.refresh()

    def _width(self, path: tuple[str, ...]) -> int:
        if not path:
            return sum(self._width(p) for p in self.children_of.get(ROOT, ()))
        r = self.rows.get(path)
        return 0 if r is None else (r.width_calls if self.by_calls else r.width_ns)

    # -- layout -------------------------------------------------------------------------
    def layout_rows(self, width: int, depth_max: int) -> list[list[tuple[int, int, tuple[str, ...]]]]:
        """Per depth below the zoomed frame: (x0, x1, path) of each frame at least a column wide."""
        out: list[list[tuple[int, int, tuple[str, ...]]]] = []
        level = [(0, width, self.zoom)] if self.zoom else [(0, width, ROOT)]
        if self.zoom:
            out.append(level)
        while level and len(out) < depth_max:
            nxt = []
            for x0, x1, path in level:
                total = self._width(path)
                if total <= 0:
                    continue
                x, acc = x0, 0
                for child in self.children_of.get(path, ()):
                    acc += self._width(child)
                    end = x0 + (x1 - x0) * acc // total
                    if end > x:
                        nxt.append((x, end, child))
                    x = end
            if nxt:
                out.append(nxt)
            level = nxt
        return out

    def render(self) -> Text:
        width, height = max(10, self.size.width), max(3, self.size.height)
        if not self.rows:
            return Text(
                "no calls yet: attach functions with return probes (r); the paths of "
                "nested traced calls appear here",
                style="dim",
            )
        levels = self.layout_rows(width, height - 2)
        if self.selected is None and levels:
            self.selected = levels[0][0][2]
        text = Text()
        for level in levels:
            at = 0
            for x0, x1, path in level:
                text.append(" " * (x0 - at))
                name = printable(path[-1]) if path else "all"
                colour = PALETTE[zlib.crc32(name.encode()) % len(PALETTE)] if path else "#555555"
                style = f"bold reverse {colour}" if path == self.selected else f"#ffffff on {colour}"
                text.append((name[: x1 - x0 - 1] if x1 - x0 > 1 else "").ljust(x1 - x0), style=style)
                at = x1
            text.append("\n")
        text.append_text(self._details())
        return text

    def _details(self) -> Text:
        r = self.rows.get(self.selected) if self.selected else None
        metric = "calls" if self.by_calls else "time"
        zoom = f" · zoomed into {self.zoom[-1]} (Backspace: out)" if self.zoom else ""
        if r is None:
            return Text(f"width = {metric}{zoom} · ← → ↑ ↓ select, Enter zoom, m time/calls", style="dim")
        d = format_duration
        what = (
            f"{printable(r.path[-1])}: {r.calls:,} calls, total {d(r.total_ns)}, self {d(r.self_ns)}, "
            f"p50 {d(r.p50_ns)}, p99 {d(r.p99_ns)}"
            if r.calls
            else f"{printable(r.path[-1])}: not traced itself (a --stack frame), {d(r.width_ns)} in "
            "the traced calls below it"
        )
        return Text(f"{what} · width = {metric}{zoom}")

    # -- keys ---------------------------------------------------------------------------
    def _level_of(self, path: tuple[str, ...]) -> list[tuple[int, int, tuple[str, ...]]]:
        for level in self.layout_rows(max(10, self.size.width), 10_000):
            if any(p == path for _x0, _x1, p in level):
                return level
        return []

    def action_move(self, step: int) -> None:
        level = self._level_of(self.selected) if self.selected else []
        paths = [p for _x0, _x1, p in level]
        if self.selected in paths:
            self.selected = paths[max(0, min(len(paths) - 1, paths.index(self.selected) + step))]
            self.refresh()

    def action_parent(self) -> None:
        if self.selected and len(self.selected) > max(1, len(self.zoom)):
            self.selected = self.selected[:-1]
            self.refresh()

    def action_child(self) -> None:
        kids = self.children_of.get(self.selected or ROOT, ())
        if kids:
            self.selected = kids[0]
            self.refresh()

    def action_zoom(self) -> None:
        if self.selected:
            self.zoom = self.selected
            self.refresh()

    def action_unzoom(self) -> None:
        if self.zoom:
            self.selected = self.zoom
            self.zoom = self.zoom[:-1]
            self.refresh()

    def action_metric(self) -> None:
        self.by_calls = not self.by_calls
        for paths in self.children_of.values():
            paths.sort(key=self._width, reverse=True)
        self.refresh()
