"""The Goroutines view: every goroutine of the process, read from outside (/proc/PID/mem: no
probe, no stop) every REFRESH seconds once the view was shown (while hidden, only if a dump is
cheap: the trends go on), grouped like Go's own dump. Each
group's count over the dumps is a sparkline: a leak is a group that only grows (↑). Enter shows
a group's stack and its goroutines; `g`, a goroutine's calls (its Calls view)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from goprobe_tui.engine.goroutine_groups import GoroutineGroup, GroupHistory, GroupKey, group_goroutines
from goprobe_tui.engine.goroutines import GoroutineDump, ProcessGone, ProcessGoroutines
from goprobe_tui.errors import GoprobeError
from goprobe_tui.events.text import format_duration
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.browser.probe_panel import fit_left
from goprobe_tui.ui.goroutines.group_screen import GroupScreen
from goprobe_tui.ui.sparkline import sparkline

REFRESH = 2.0  # seconds between dumps while the view is shown
BACKGROUND_MAX = 2_000  # once shown, dumps go on while hidden up to this many goroutines (~0.1 s a dump)
TICK = 0.25  # how often the view looks whether a dump is due (it was shown, or 2 s passed)
TREND = 16  # dumps in a sparkline (32 s)
FIXED_WIDTHS = (6, 6, TREND, 28, 8)  # count, Δ, trend, state, waiting
NAME_MIN = 20
SHOWN_GROUPS = 1_000  # the rest are counted in the status line
NO_PROCESS = (
    "no process: the Goroutines view reads a running program — start with --pid PID, or pick a process "
    "(goprobe-tui with no binary)"
)


class GoroutinesView(Vertical, can_focus=False):
    ALLOW_MAXIMIZE = True  # z: the whole view (its table and status line), not the table alone
    BINDINGS = [
        Binding("g", "calls", "Its calls", show=False, id="goroutines.calls"),
    ]
    DEFAULT_CSS = """
    GoroutinesView { height: 1fr; }
    GoroutinesView > #goroutines-status { height: auto; color: $text-muted; }
    GoroutinesView > DataTable { height: 1fr; }
    """

    @dataclass
    class Read(Message):
        """A dump, read by the worker (the handler owns the groups and their history)."""

        dump: GoroutineDump

    @dataclass
    class Unreadable(Message):
        """Why there are no more dumps (the process ended, the layout is unknown)."""

        reason: str

    @dataclass
    class Chosen(Message):
        """`g` on a goroutine: the app shows its calls."""

        pid: int
        goid: int

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.process: ProcessGoroutines | None = None
        self.history = GroupHistory()
        self.groups: list[GoroutineGroup] = []
        self.dump: GoroutineDump | None = None
        self.stopped = ""  # why dumps stopped ("" while they go on)
        self._last = 0.0  # when the last dump started (monotonic)
        self._reading = False

    def compose(self) -> ComposeResult:
        yield Static(NO_PROCESS, id="goroutines-status", markup=False)
        yield DataTable(id="goroutine-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._name_width = 0  # the columns are made for the width the view has when filled
        self.set_interval(TICK, self._tick)

    def _set_columns(self) -> None:
        """Numbers and states as wide as they need; the two names share the rest, cut from
        the left (the end of a name tells functions apart)."""
        fixed = sum(w + 2 for w in FIXED_WIDTHS) + 2 + 2 + 2  # cell padding, scrollbar
        width = max(NAME_MIN, (self.size.width - fixed) // 2)
        if width == self._name_width:
            return
        self._name_width = width
        table = self.query_one(DataTable)
        table.clear(columns=True)
        count, delta, trend, state, wait = FIXED_WIDTHS
        table.add_column(Text("Count", justify="right"), key="count", width=count)
        table.add_column(Text("Δ", justify="right"), key="delta", width=delta)
        table.add_column("Trend", key="trend", width=trend)
        table.add_column("State", key="state", width=state)
        table.add_column(Text("Waiting", justify="right"), key="wait", width=wait)
        table.add_column("Where", key="where", width=width)
        table.add_column("Created by", key="creator", width=width)

    def on_resize(self) -> None:
        if self.groups:
            self._fill()

    def watch_process(self, pid: int | None, binary: GoBinary) -> None:
        """The process whose goroutines this view shows (None: no process, the view says so)."""
        self.process = None if pid is None else ProcessGoroutines(pid, binary)
        if self.process is not None:
            self._say(f"process {pid}: reading its goroutines…")

    # -- dumps ------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.process is None or self.stopped or self._reading:
            return
        if not self.display and (self.dump is None or len(self.dump.goroutines) > BACKGROUND_MAX):
            return  # hidden: the trends go on only where a dump costs little (not by its time:
            # a loaded machine would stop them at random)
        if time.monotonic() - self._last >= REFRESH:
            self._last = time.monotonic()
            self._reading = True
            self._read(self.process)

    @work(thread=True, exclusive=True, group="goroutines", exit_on_error=False)
    def _read(self, process: ProcessGoroutines) -> None:
        try:
            self.post_message(self.Read(process.dump()))
        except ProcessGone as exc:
            self.post_message(self.Unreadable(str(exc)))
        except GoprobeError as exc:  # BadInput: an unknown layout, a process not readable
            self.post_message(self.Unreadable(str(exc)))
        except Exception as exc:  # memory that is not what it should be: said, never a freeze
            self.post_message(self.Unreadable(f"reading failed ({type(exc).__name__}: {exc})"))

    @on(Read)
    def _on_read(self, message: Read) -> None:
        self._reading = False
        self.dump = message.dump
        self.groups = group_goroutines(message.dump)
        self.history.add(self.groups)
        self._fill()

    @on(Unreadable)
    def _on_unreadable(self, message: Unreadable) -> None:
        self._reading = False
        self.stopped = message.reason
        if self.dump is None:
            self.app.notify(f"goroutines: {message.reason}", severity="error", timeout=15)
        self._status()

    # -- drawing ------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.query_one("#goroutines-status", Static).update(printable(text))

    def _status(self) -> None:
        d = self.dump
        if d is None:
            self._say(f"goroutines: {self.stopped}" if self.stopped else NO_PROCESS)
            return
        shown = min(len(self.groups), SHOWN_GROUPS)
        rest = f" ({len(self.groups) - shown:,} smaller ones not listed)" if shown < len(self.groups) else ""
        moved = sum(g.changed for g in d.goroutines)
        text = (
            f"{len(d.goroutines):,} goroutines of process {d.pid} ({d.goversion}) in {len(self.groups):,} "
            f"groups{rest} · read in {format_duration(d.taken_ns)}"
            + (f" · {moved:,} moved while read" if moved else "")
            + (
                f" · stopped: {self.stopped} (the last dump shown)"
                if self.stopped
                else f" · every {REFRESH:g} s · ↑ only grew · Enter: the group · g: its calls"
            )
        )
        self._say(text)

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected()
        self._set_columns()
        table.clear()
        for grp in self.groups[:SHOWN_GROUPS]:
            series = self.history.series(grp.key)
            change = series[-1] - series[0] if series else 0
            delta = (f"{change:+,}" if change else "") + ("↑" if self.history.only_grew(grp.key) else "")
            wait = grp.longest_wait_ns
            creator = grp.first.created_by
            table.add_row(
                Text(f"{len(grp.members):,}", justify="right"),
                Text(delta, justify="right", style="bold" if delta.endswith("↑") else ""),
                sparkline(series[-TREND:]),
                Text(fit_left(printable(grp.state), FIXED_WIDTHS[3])),
                Text("" if wait is None else format_duration(wait), justify="right"),
                Text(fit_left(printable(grp.where), self._name_width)),
                Text(fit_left(printable(creator.function), self._name_width) if creator else ""),
                key=str(len(table.rows)),
            )
        if selected is not None:  # the cursor stays on its group as the order changes
            for i, grp in enumerate(self.groups[:SHOWN_GROUPS]):
                if grp.key == selected:
                    table.move_cursor(row=i, animate=False)
                    break
        self._status()

    def selected(self) -> GroupKey | None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        return self.groups[row].key if table.row_count and 0 <= row < len(self.groups) else None

    def _group(self) -> GoroutineGroup | None:
        key = self.selected()
        return next((g for g in self.groups if g.key == key), None)

    # -- keys ------------------------------------------------------------------------------
    @on(DataTable.RowSelected)
    def _open_group(self, event: DataTable.RowSelected) -> None:
        """Enter (the table's own key): the group's stack and its goroutines."""
        event.stop()
        grp = self._group()
        if grp is not None:
            self.app.push_screen(GroupScreen(grp), self._chosen)

    def action_calls(self) -> None:
        """g: the goroutine's calls; a group of several asks which one first."""
        grp = self._group()
        if grp is None:
            return
        if len(grp.members) == 1:
            self._chosen(grp.first.goid)
        else:
            self.app.push_screen(GroupScreen(grp), self._chosen)

    def _chosen(self, goid: int | None) -> None:
        if goid is not None and self.dump is not None:
            self.post_message(self.Chosen(self.dump.pid, goid))
