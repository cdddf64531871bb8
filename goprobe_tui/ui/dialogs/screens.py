"""Modal screens: confirm, a one-line prompt, help (every key), function details."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from goprobe_tui.ui.keymap import INLINING, LEGEND, help_rows
from goprobe_tui.ui.text_box import TextBox


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question)
            yield Button("Yes (y)", id="yes", variant="primary")
            yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class PromptScreen(ModalScreen[str | None]):
    """One line of text: Enter gives it, Esc gives None (nothing changes)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, markup=False)
            yield TextBox(
                self.value, placeholder=self.placeholder, id="prompt", select_on_focus=False
            )  # type-ahead would be selected, then replaced
            yield Static("Enter: apply · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#prompt", Input))  # now: type-ahead must land here

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = keymap or {}  # the user's remapped keys, shown instead of the defaults

    def compose(self) -> ComposeResult:
        body = "\n".join(f"[b]{escape(k):>14}[/b]  {escape(v)}" for k, v in help_rows(self.keymap))
        legend = "\n".join(f"[b]{escape(k):>14}[/b]  {escape(v)}" for k, v in LEGEND)
        inlining = "\n\n".join(escape(p) for p in INLINING)
        with VerticalScroll(id="dialog"):
            yield Static(
                "[b]goprobe-tui keys[/b]\n\n"
                + body
                + "\n\n[b]On screen[/b]\n\n"
                + legend
                + "\n\n[b]Inlined calls and lines[/b]\n\n"
                + inlining
            )

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="event.close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):  # a function inlined in 7,000 places is long
            yield Static(self.text, markup=False)

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
