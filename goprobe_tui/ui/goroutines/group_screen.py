"""One group of goroutines in full: the stack they share, where they were created, and each
goroutine (its id, how long it has waited, its parent). `g` on a goroutine opens its Calls view."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from goprobe_tui.engine.goroutine_groups import GoroutineGroup, on_threads
from goprobe_tui.events.text import format_duration
from goprobe_tui.textsafe import printable

SHOWN_ROWS = 10_000  # a larger group's rest is counted, not listed (a table of 1M rows is no help)


def group_text(group: GoroutineGroup) -> str:
    """The stack the group shares, innermost first, as Go prints it, and its creator."""
    g = group.first
    lines = [f"{len(group.members):,} × {group.state}"]
    longest = group.longest_wait_ns
    if longest is not None:
        lines[0] += f", waiting up to {format_duration(longest)}"
    if group.changed:
        lines.append(f"{group.changed:,} moved while read: what is shown may mix two moments")
    if g.note:
        lines.append(f"({g.note}; started at {g.start.function if g.start else '?'})")
    if on := on_threads(group.members):
        lines.append(on)
    for f in g.frames:
        lines.append(f"  {f.function}{' (inlined)' if f.inlined else ''}")
        lines.append(f"      {f.file}:{f.line}")
    if g.created_by is not None:
        lines.append(f"  created by {g.created_by.function}")
        lines.append(f"      {g.created_by.file}:{g.created_by.line}")
    return "\n".join(printable(line) for line in lines)


class GroupScreen(ModalScreen[int | None]):
    """Answers the goroutine id chosen with `g` (its Calls view), None when closed."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="goroutine-group.close"),
        Binding("g", "calls", "Its calls", id="goroutine-group.calls"),
    ]

    def __init__(self, group: GoroutineGroup) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        members = self.group.members
        with Vertical(id="dialog"):
            with VerticalScroll(id="details-text"):
                yield Static(group_text(self.group), markup=False)
            more = f" (the first {SHOWN_ROWS:,} listed)" if len(members) > SHOWN_ROWS else ""
            yield Static(f"{len(members):,} goroutines{more} — g: its calls · Esc: close", classes="hint")
            yield DataTable(id="group-members", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Goroutine", key="goid")
        table.add_column(Text("Waiting", justify="right"), key="wait")
        table.add_column("Parent", key="parent")
        table.add_column("", key="moved")
        for g in self.group.members[:SHOWN_ROWS]:
            table.add_row(
                str(g.goid),
                Text("—" if g.wait_ns is None else format_duration(g.wait_ns), justify="right"),
                "—" if g.parent_goid is None else str(g.parent_goid),
                "moved while read" if g.changed else "",
                key=str(g.goid),
            )
        self.set_focus(table)

    def action_calls(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self.dismiss(self.group.members[table.cursor_row].goid)

    def action_close(self) -> None:
        self.dismiss(None)
