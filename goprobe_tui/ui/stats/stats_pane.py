"""Per-function statistics, live: a sortable table and, for the highlighted function, its
latency histogram and slowest call. Fed by snapshots the decoder sends (insight/stats.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.text import PARTIAL, format_duration, histogram_lines, partial_note
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.browser.probe_panel import fit_left
from goprobe_tui.ui.sparkline import sparkline

SPARK_SECONDS = 10
WIDE = 110  # from this many columns on: p90 and the calls/s sparkline too
NAME_MIN = 16
# (column key, title, sort key of a snapshot row, width; None: the rest), as wide as their
# numbers need: a column of numbers is never cut, the function's name gives way
COLUMNS = [
    ("function", "Function", lambda s: row_name(s), None),
    ("calls", "Calls", lambda s: s.calls, 11),
    ("inlined", "Inlined", lambda s: s.inlined, 9),
    ("rate", "Calls/s", lambda s: s.calls_per_s, 9),
    ("errors", "Errors", lambda s: -1 if s.errors is None else s.errors, 7),
    ("p50", "p50", lambda s: s.p50_ns or 0, 7),
    ("p90", "p90", lambda s: s.p90_ns or 0, 7),
    ("p99", "p99", lambda s: s.p99_ns or 0, 7),
    ("max", "Max", lambda s: s.max_ns or 0, 7),
]
NARROW_HIDDEN = ("p90", "inlined")  # the detail below the table says the inlined share
SORT_KEYS = {key: fn for key, _title, fn, _w in COLUMNS}


def row_name(s: StatsRow) -> str:
    """A row's name: the function, and its key's value with statistics by key (stats --by, k)."""
    if s.total:
        return f"{s.function} (all keys)"
    return s.function + (f" [{s.key_text}]" if s.key_text is not None else "")


def cells(s: StatsRow, wide: bool = True, name_width: int = 60) -> tuple:
    """The row of one function, for the columns shown (wide or not)."""
    errors = "—" if s.errors is None else f"{s.errors:,}"
    rate = f"{s.calls_per_s:,}" + (f" {sparkline(s.rate[-SPARK_SECONDS:])}" if wide else "")
    inlined = s.inlined
    partial = PARTIAL if s.untraced_inlined_sites else ""
    values = {
        "calls": f"{s.calls:,}{partial}",
        "inlined": f"{inlined:,}" if inlined else "",
        "rate": rate,
        "errors": errors,
        **{k: format_duration(getattr(s, f"{k}_ns")) for k in ("p50", "p90", "p99", "max")},
    }
    return (
        Text(fit_left(printable(row_name(s)), name_width)),
        *(Text(values[key], justify="right") for key, *_ in columns(wide)[1:]),
    )


def columns(wide: bool) -> list[tuple]:
    return [c for c in COLUMNS if wide or c[0] not in NARROW_HIDDEN]


def detail_text(s: StatsRow) -> str:
    inlined = s.inlined
    share = f" ({inlined:,} inlined: no latency)" if inlined else ""
    lines = [
        f"{s.function}: {s.calls:,} calls{share}, {s.returns:,} returns timed"
        + (f", {s.unpaired_returns:,} without their entry" if s.unpaired_returns else "")
        + (" — latency of out-of-line calls only" if inlined and s.returns else "")
    ]
    if s.untraced_inlined_sites:
        lines.append(partial_note(s.untraced_inlined_sites))
    # callers and the slowest call before the histogram: a short panel cuts at the bottom
    if s.callers:
        lines.append("callers: " + ", ".join(f"{name} ({n:,})" for name, n in s.callers))
    slow = s.slowest
    if slow is not None:
        args = "(arguments not kept)" if slow["args_text"] is None else f"({slow['args_text']})"
        goid = "" if slow["goid"] is None else f" g{slow['goid']}"
        lines.append(
            f"slowest: {format_duration(slow['latency_ns'])} {s.function}{args} pid {slow['pid']}{goid}"
        )
    lines += histogram_lines(s.histogram, width=30) or ["(no return timed yet)"]
    return "\n".join(printable(line) for line in lines)


class StatsPane(Vertical):
    BINDINGS = [Binding("o", "next_sort", "Sort", show=False, id="stats.sort")]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: list[StatsRow] = []
        self.sort_key, self.reverse = "calls", True
        self._rows: list[str] = []  # functions in table order
        self._shown: dict[str, tuple] = {}  # the cells each row shows now

    def compose(self) -> ComposeResult:
        yield DataTable(id="stats-table", cursor_type="row", zebra_stripes=True)
        yield Static("no statistics yet: attach functions with return probes (r)", id="stats-detail")

    def on_mount(self) -> None:
        self._layout = (None, 0)  # (wide, name width) the columns were made for
        self._set_columns()

    def _set_columns(self) -> bool:
        """Columns for the width, if it changed what they should be; True if rebuilt."""
        table = self.query_one(DataTable)
        wide = self.size.width >= WIDE
        cols = columns(wide)
        fixed = sum(w + 2 for _k, _t, _f, w in cols if w) + 2 + 2  # cell padding, scrollbar
        layout = (wide, max(NAME_MIN, self.size.width - fixed))
        if layout == self._layout:
            return False
        self._layout = layout
        table.clear(columns=True)
        for key, title, _fn, width in cols:
            table.add_column(
                title if key == "function" else Text(title, justify="right"),
                width=width or layout[1],
                key=key,
            )
        self._rows = []
        return True

    def on_resize(self) -> None:
        if self._set_columns():
            self.update_snapshot(self.snapshot)

    def update_snapshot(self, snapshot: list[StatsRow]) -> None:
        self.snapshot = snapshot
        table = self.query_one(DataTable)
        wide, name_width = self._layout
        ordered = sorted(snapshot, key=SORT_KEYS[self.sort_key], reverse=self.reverse)
        names = [row_name(s) for s in ordered]
        current = self._rows[table.cursor_row] if self._rows and table.cursor_row < len(self._rows) else None
        keys = [key for key, *_ in columns(wide)]
        if names != self._rows:
            table.clear()
            self._shown = {row_name(s): cells(s, wide, name_width) for s in ordered}
            for s in ordered:
                table.add_row(*self._shown[row_name(s)], key=row_name(s))
            self._rows = names
            if current in names:
                table.move_cursor(row=names.index(current), animate=False)
        else:  # only the cells that changed: a refresh of each would redraw the whole table
            for s in ordered:
                name, new = row_name(s), cells(s, wide, name_width)
                old = self._shown.get(name, ())
                for i, key in enumerate(keys[1:], start=1):
                    if i >= len(old) or old[i] != new[i]:
                        table.update_cell(name, key, new[i])
                self._shown[name] = new
        self._show_detail()

    def _show_detail(self) -> None:
        table = self.query_one(DataTable)
        if not self._rows:
            return
        name = self._rows[min(table.cursor_row, len(self._rows) - 1)]
        found = next((s for s in self.snapshot if row_name(s) == name), None)
        if found is not None:
            self.query_one("#stats-detail", Static).update(Text(detail_text(found)))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        self.sort_by(key, not self.reverse if key == self.sort_key else key != "function")

    def action_next_sort(self) -> None:
        keys = [k for k, *_ in columns(self._layout[0] is not False)]
        key = keys[(keys.index(self.sort_key) + 1) % len(keys)] if self.sort_key in keys else keys[1]
        self.sort_by(key, key != "function")

    def sort_by(self, key: str, reverse: bool) -> None:
        self.sort_key, self.reverse = key, reverse
        self._rows = []  # rebuilt in the new order
        self.update_snapshot(self.snapshot)
        self.app.notify(f"stats sorted by {key}{' (descending)' if reverse else ''}", timeout=2)
