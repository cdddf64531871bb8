"""Attached probes: function, return flag, probe count, live hits, last error."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable

from goprobe_tui.textsafe import printable

OTHER_COLUMNS = 44  # ret, probes, hits (to 999,999,999), calls/s, a short status, the gaps


def fit_left(name: str, width: int) -> str:
    """Cut from the left: the method at the end is what tells functions apart
    (`…hugolib.(*pageState).Render`)."""
    return name if len(name) <= width else "…" + name[len(name) - width + 1:]


class ProbePanel(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("function", "ret", "probes", "hits", "calls/s", "status")
        self._last: dict[str, tuple[int, float]] = {}  # hits and when, for calls/s

    def _name_width(self) -> int:
        return max(16, self.size.width - OTHER_COLUMNS)

    def _name_cell(self, name: str) -> Text:
        # Text, never markup: a name like `x[/b]` from the binary must show as itself.
        return Text(fit_left(printable(name), self._name_width()))

    def upsert(self, name: str, returns: bool, probes: int, status: str = "attached") -> None:
        row = (self._name_cell(name), "yes" if returns else "-", str(probes), Text("0", justify="right"),
               Text("", justify="right"), Text(printable(status)))
        if name in self.rows:
            counters = list(self.columns)[3:5]
            for col, value in zip(self.columns, row, strict=False):
                if col not in counters:  # keep the hit count and rate
                    self.update_cell(name, col, value)
        else:
            self.add_row(*row, key=name)

    def drop(self, name: str) -> None:
        self._last.pop(name, None)
        if name in self.rows:
            self.remove_row(name)

    def set_hits(self, hits: dict[str, int], now: float | None = None) -> None:
        """Hit counts in full, and calls/s since the previous count."""
        now = time.monotonic() if now is None else now
        hits_col, rate_col = list(self.columns)[3:5]
        for name, count in hits.items():
            if name not in self.rows:
                continue
            self.update_cell(name, hits_col, Text(f"{count:,}", justify="right"))
            last = self._last.get(name)
            if last is not None and now > last[1]:
                rate = max(0, count - last[0]) / (now - last[1])
                self.update_cell(name, rate_col, Text(f"{rate:,.0f}", justify="right"))
            self._last[name] = (count, now)

    def on_resize(self) -> None:
        name_col = next(iter(self.columns), None)
        if name_col is None:
            return
        for key in list(self.rows):
            self.update_cell(key, name_col, self._name_cell(str(key.value)))
