"""The start screen when neither a binary nor a pid is given: every Go process on the host.
Enter opens the browser on the chosen one (as `--pid`); `/` filters; `r` refreshes."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Input, Static

from goprobe_tui.engine.processes import GoProcess, Scan, format_uptime, go_processes
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.binding_ids import every_binding_id
from goprobe_tui.ui.keymap import PICKER_BINDINGS, KeymapError, load_user_keymap

# NAME (the file's name) comes first: a narrow screen cut BINARY, and `svc` and `svc-stripped`
# in one folder looked the same
COLUMNS = ("PID", "NAME", "NSPID", "GO", "MODULE", "CONTAINER", "USER", "UPTIME", "THREADS", "BINARY")


def _row(p: GoProcess) -> tuple[str, ...]:
    name = p.binary.removesuffix(" (deleted)").rsplit("/", 1)[-1]
    return (
        str(p.pid),
        printable(name),
        str(p.nspid or ""),
        p.goversion,
        printable(p.module),
        printable(p.container),
        p.user,
        format_uptime(p.uptime_s),
        str(p.threads),
        printable(p.binary),
    )


class ProcessPicker(App[int | None]):
    """Returns the chosen pid, or None (q / Esc)."""

    TITLE = "goprobe-tui: pick a Go process"
    CSS = """
    #summary { height: 1; padding: 0 1; color: $text-muted; }
    #filter { display: none; }
    #filter.shown { display: block; }
    DataTable { height: 1fr; }
    """
    BINDINGS = PICKER_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.scan: Scan | None = None
        self._shown: list[GoProcess] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("reading /proc…", id="summary")
            yield Input(placeholder="filter: pid, module, binary, container", id="filter")
            yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        try:  # the same keymap file as the main screen's (picker.* ids)
            self.set_keymap(load_user_keymap(None, every_binding_id()))
        except KeymapError as exc:
            self.notify(f"keymap not used: {exc}", severity="error", timeout=15)
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.focus()  # not the hidden filter box: `/` must reach the binding
        self.action_refresh()

    @work(thread=True, exclusive=True)
    def action_refresh(self) -> None:
        scan = go_processes()
        self.call_from_thread(self._show_scan, scan)

    def _show_scan(self, scan: Scan) -> None:
        self.scan = scan
        self._fill(self.query_one("#filter", Input).value)

    def _fill(self, text: str) -> None:
        scan = self.scan
        if scan is None:
            return
        needle = text.strip().lower()
        self._shown = [
            p
            for p in scan.processes
            if not needle or needle in " ".join(_row(p)).lower() or needle in p.comm.lower()
        ]
        table = self.query_one(DataTable)
        table.clear()
        for p in self._shown:
            table.add_row(*_row(p), key=str(p.pid))
        more = f"; {len(scan.unreadable)} unreadable" if scan.unreadable else ""
        shown = f"{len(self._shown)} of " if needle else ""
        self.query_one("#summary", Static).update(
            f"{shown}{len(scan.processes)} Go processes{more}. Enter traces the one chosen "
            "(only it pays for the probes)."
            if scan.processes
            else f"No Go process is running{more}. r refreshes, q quits."
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown"):
            box.value = ""
            box.remove_class("shown")
            self.query_one(DataTable).focus()

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if self.focused is not table:
            table.focus()  # Enter in the filter box: to the list
            return
        if not self._shown or table.cursor_row is None or table.cursor_row >= len(self._shown):
            self.bell()
            return
        self.exit(self._shown[table.cursor_row].pid)

    def action_quit_picker(self) -> None:
        if self.focused is self.query_one("#filter", Input):
            return  # a 'q' typed in the filter
        self.exit(None)
