"""Attached probes: each function (● entry, ◆ entry and returns, ✗ refused), its calls
recorded and calls/s, its probe count and status (a condition, an error). The columns follow
the panel's width: the counts are never cut, the status goes first when space runs out."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from goprobe_tui.events.text import PARTIAL
from goprobe_tui.textsafe import printable

NAME_MIN = 10
NUMBERS = (("hits", "hits", 7), ("rate", "calls/s", 7))  # (key, title, width): grown to fit
PROBES_W = 6
STATUS_MIN = 12
WIDE = 58  # from this many columns on, the probe count and the status have their own


def fit_left(name: str, width: int) -> str:
    """Cut from the left: the method at the end is what tells functions apart
    (`…hugolib.(*pageState).Render`)."""
    return name if len(name) <= width else "…" + name[len(name) - max(1, width) + 1 :]


@dataclass
class _Row:
    returns: bool
    probes: int
    status: str
    error: bool = False
    hits: int | None = None
    rate: int | None = None
    partial: bool = False  # inlined calls without a probe: more calls ran than counted


class ProbePanel(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.model: dict[str, _Row] = {}
        self._wide: bool | None = None
        self._widths: dict[str, int] = {key: width for key, _t, width in NUMBERS}
        self._layout()

    # -- layout -------------------------------------------------------------------------
    def _name_width(self) -> int:
        """What the function's name may take: the rest, after its marker, the numbers, every
        cell's padding (1 each side) and a vertical scrollbar."""
        used = 2 + 2 + sum(w + 2 for w in self._widths.values()) + 2
        if self._wide:
            used += PROBES_W + 2 + STATUS_MIN + 2
        return max(NAME_MIN, self.size.width - used)

    def _layout(self) -> None:
        """Columns for the width: rebuilt when the panel crosses WIDE, or a number outgrows
        its column."""
        self._wide = self.size.width >= WIDE
        self.clear(columns=True)
        self._name_w = self._name_width()
        self.add_column("function", width=self._name_w + 2, key="function")
        for key, title, _w in NUMBERS:
            self.add_column(Text(title, justify="right"), width=self._widths[key], key=key)
        if self._wide:
            self.add_column("probes", width=PROBES_W, key="probes")
            self.add_column("status", key="status")
        for name, row in self.model.items():
            self.add_row(*self._cells(name, row), key=name)

    def _cells(self, name: str, row: _Row) -> list[Text]:
        marker = "✗ " if row.error else ("◆ " if row.returns else "● ")
        # Text, never markup: a name like `x[/b]` from the binary must show as itself.
        cells = [
            Text(marker + fit_left(printable(name), self._name_w)),
            self._number(row.hits, row.partial),
            self._number(row.rate),
        ]
        if self._wide:
            cells += [Text(str(row.probes), justify="right"), Text(printable(row.status))]
        return cells

    @staticmethod
    def _number(n: int | None, partial: bool = False) -> Text:
        return Text("" if n is None else f"{n:,}{PARTIAL if partial else ''}", justify="right")

    def on_resize(self) -> None:
        if (self.size.width >= WIDE) != self._wide or self._name_width() != self._name_w:
            self._layout()

    # -- rows ---------------------------------------------------------------------------
    def upsert(
        self,
        name: str,
        returns: bool,
        probes: int,
        status: str = "attached",
        error: bool = False,
        partial: bool = False,
    ) -> None:
        old = self.model.get(name)
        row = self.model[name] = _Row(
            returns,
            probes,
            status,
            error,
            None if old is None else old.hits,
            None if old is None else old.rate,
            partial,
        )
        if old is None:
            self.add_row(*self._cells(name, row), key=name)
            return
        for key, cell in zip([c.value for c in self.columns], self._cells(name, row), strict=True):
            self.update_cell(name, key, cell)

    def highlighted(self) -> str | None:
        """The name (function, or FILE:LINE) of the row under the cursor."""
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # no row there (the table is being rebuilt)
            return None

    def drop(self, name: str) -> None:
        if self.model.pop(name, None) is not None:
            self.remove_row(name)

    def set_hits(self, hits: dict[str, int], rates: dict[str, int] | None = None) -> None:
        """Calls recorded per function, in full, and calls/s."""
        rates = rates or {}
        grown = False
        for name, count in hits.items():
            row = self.model.get(name)
            if row is None:
                continue
            row.hits, row.rate = count, rates.get(name, row.rate)
            for key, value, partial in (("hits", row.hits, row.partial), ("rate", row.rate, False)):
                text = self._number(value, partial)
                if text.cell_len > self._widths[key]:  # a number is never cut
                    self._widths[key] = text.cell_len
                    grown = True
                else:
                    self.update_cell(name, key, text)
        if grown:
            self._layout()
