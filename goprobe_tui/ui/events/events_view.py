"""The Events view: the live trace pane and its filter box. It owns what the user does to the
events shown: filter, pause, clock, clear, save, and its part of the status line."""

from __future__ import annotations

import os
import time
from typing import TextIO

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from goprobe_tui.atomic_file import save_atomically
from goprobe_tui.errors import BadInput
from goprobe_tui.events.formats import FORMATS, OutputFormat, format_for_path
from goprobe_tui.events.model import EventRow, TraceEvent
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.dialogs.screens import PromptScreen
from goprobe_tui.ui.events.trace_pane import TracePane
from goprobe_tui.ui.text_box import TextBox


class EventsView(Vertical):
    def __init__(self, save_dir: str = ".", start_ns: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.save_dir = save_dir
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self.paused = False  # the engine keeps what arrives meanwhile (nothing is lost)
        self.session_status: TraceStatus | None = None  # the engine's counters, last seen

    def compose(self) -> ComposeResult:
        yield TextBox(
            placeholder="filter events: function or text, or >50ms for the calls slower than that; Enter",
            select_on_focus=False,
            id="trace-filter",
        )
        yield TracePane(id="events")

    def on_mount(self) -> None:
        self.pane = self.query_one(TracePane)
        self.pane.start_ns = self.start_ns
        self.box = self.query_one("#trace-filter", Input)

    def add(self, rows: list[EventRow]) -> None:
        if rows:
            self.pane.add(rows)
        self.pane.keep_following()

    def events(self):
        """Every event the pane holds, oldest first."""
        pane = self.pane
        return (pane.event(i) for i in range(len(pane.rows)))

    def status_parts(self, visible: bool) -> list[str]:
        """What the status line says of the events shown (Rich markup, text escaped)."""
        pane = self.pane
        parts = [f"shown {len(pane.view):,}"]
        if pane.dropped:
            parts.append(f"scrolled out {pane.dropped:,}")
        if pane.filter:
            parts.append(f"filter '{escape(printable(pane.filter))}'")
        if pane.slower_than_ns is not None:  # what the filter hides is said, not just gone
            parts.append(f"{len(pane.rows) - len(pane.view):,} faster or untimed hidden")
        if self.paused:
            parts.append("[reverse] PAUSED [/reverse]")
        if visible and pane.below:
            parts.append(f"[reverse] ▼ {pane.below:,} below: End or G [/reverse]")
        return parts

    # -- filter ---------------------------------------------------------------------
    def open_filter(self) -> None:
        self.box.add_class("visible")
        self.screen.set_focus(self.box)  # now: type-ahead must land here
        self.box.selection = (0, len(self.box.value))

    @on(Input.Submitted, "#trace-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, text: str) -> None:
        try:
            self.pane.set_filter(text)
        except BadInput as exc:  # `>5 ms`: said, and the filter box stays open to fix it
            self.app.notify(f"filter: {exc}", severity="error")
            return
        if not text:
            self.box.remove_class("visible")
        self.screen.set_focus(self.pane)

    # -- pause, clock, clear, tail ----------------------------------------------------
    def toggle_pause(self) -> None:
        self.paused = not self.paused

    def toggle_clock(self) -> str:
        self.pane.toggle_clock(self.start_ns)
        return (
            "times: wall clock" if self.pane.start_ns is None else "times: seconds since the session started"
        )

    def clear(self) -> None:
        self.pane.clear()

    def tail(self) -> None:
        self.screen.set_focus(self.pane)
        self.pane.action_tail()

    # -- save -------------------------------------------------------------------------
    def save(self) -> None:
        """Ask for a path (its suffix picks the format), then write what is shown now."""
        pane = self.pane
        if not pane.view:
            self.app.notify("no events shown: nothing to save", severity="warning")
            return
        default = os.path.abspath(
            os.path.join(self.save_dir, f"goprobe-events-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
        )
        rows = [pane.rows[i] for i in pane.view]  # what is shown now, whatever comes meanwhile

        def answer(path: str | None) -> None:
            if path is not None and path.strip():
                self._save(os.path.abspath(os.path.expanduser(path.strip())), rows)

        self.app.push_screen(
            PromptScreen(save_prompt(len(rows)), default),
            answer,
        )

    def _save(self, path: str, rows: list[EventRow]) -> None:
        fmt = format_for_path(path)
        # the file says what it holds and what the session lost (a JSON file's last line)
        now = self.session_status or TraceStatus()
        status = TraceStatus(
            decoded=len(rows), lost=now.lost, malformed=now.malformed, unattributed=now.unattributed
        )
        try:
            save_atomically(path, lambda out: _write(fmt, out, rows, status), binary=fmt.binary)
        except OSError as exc:
            self.app.notify(f"cannot save {path}: {exc.strerror}", severity="error")
            return
        except BadInput as exc:  # a format that cannot be written here (pprof without protobuf)
            self.app.notify(f"cannot save {path}: {exc}", severity="error")
            return
        self.app.notify(f"saved {len(rows):,} event{'s' if len(rows) != 1 else ''} to {path} ({fmt.name})")


def save_prompt(count: int) -> str:
    """The save dialog's question: every registered format, by its suffix."""
    kinds = ", ".join(f"{f.suffix} {f.name}" for f in FORMATS.values())
    return f"Save the {count:,} events shown to (the suffix picks the format: {kinds}):"


def _write(fmt: OutputFormat, out: TextIO, rows: list[EventRow], status: TraceStatus) -> None:
    writer = fmt.writer(out)
    writer.write(TraceEvent.from_row(r) for r in rows)
    writer.close(status)
    if not fmt.binary:
        out.write(fmt.trailer(status))
