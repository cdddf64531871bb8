"""A function's details and its source lines: Enter on a line puts a probe there (the screen
answers with FILE:LINE; the app attaches it)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from goprobe_tui.engine.source_text import source_line
from goprobe_tui.textsafe import printable

HINT = "↑↓ a line · Enter: probe that line (its locals on every run) · Esc: close"


def _prompt(file: str, line: int) -> str:
    """`main.go:41  s += i * k`: the line's text where its file is on this machine."""
    where = f"{file.rsplit('/', 1)[-1]}:{line}"
    text = source_line(file, line)
    return printable(where if text is None else f"{where:<16} {text.strip()[:120]}")


class FunctionDetails(ModalScreen[str | None]):
    BINDINGS = [Binding("escape,q", "close", "Close", id="details.close")]

    def __init__(
        self, text: str, lines: list[tuple[str, int]], locals_of: Callable[[str], str] | None = None
    ) -> None:
        """lines: (file, line) of the function's own code, in order. locals_of(FILE:LINE):
        which locals a probe there shows (worked out off the UI thread, line by line)."""
        super().__init__()
        self.text = text
        self.lines = lines
        self.locals_of = locals_of

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            with VerticalScroll(id="details-text"):
                yield Static(self.text, markup=False)
            if self.lines:
                yield Static(f"Lines ({len(self.lines):,}) — {HINT}", classes="hint")
                yield OptionList(
                    *(Option(_prompt(f, n), id=f"{f}:{n}") for f, n in self.lines), id="details-lines"
                )
                yield Static("", id="details-locals", markup=False)
            else:
                yield Static("no line of its own to probe (Esc: close)", classes="hint")

    def on_mount(self) -> None:
        if self.lines:
            self.set_focus(self.query_one(OptionList))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.locals_of is not None and event.option.id:
            self._show_locals(event.option.id)

    @work(thread=True, exclusive=True, group="details-locals", exit_on_error=False)
    def _show_locals(self, spec: str) -> None:
        text = self.locals_of(spec)
        where = spec.rsplit("/", 1)[-1]
        self.app.call_from_thread(self._set_locals, f"{where}: {text}")

    def _set_locals(self, text: str) -> None:
        with contextlib.suppress(Exception):  # the screen may be closing
            self.query_one("#details-locals", Static).update(printable(text))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
