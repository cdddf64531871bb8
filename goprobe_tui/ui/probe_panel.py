"""Attached probes: function, return flag, probe count, live hits, last error."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from goprobe_tui.textsafe import printable


class ProbePanel(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("function", "ret", "probes", "hits", "status")

    def upsert(self, name: str, returns: bool, probes: int, status: str = "attached") -> None:
        # Text, never markup: a name like `x[/b]` from the binary must show as itself.
        row = (Text(printable(name)), "yes" if returns else "-", str(probes), "0", Text(printable(status)))
        if name in self.rows:
            for col, value in zip(self.columns, row, strict=False):
                self.update_cell(name, col, value)
        else:
            self.add_row(*row, key=name)

    def drop(self, name: str) -> None:
        if name in self.rows:
            self.remove_row(name)

    def set_hits(self, hits: dict[str, int]) -> None:
        hits_col = list(self.columns)[3]
        for name, count in hits.items():
            if name in self.rows:
                self.update_cell(name, hits_col, str(count))
