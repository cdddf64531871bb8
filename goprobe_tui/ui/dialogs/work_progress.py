"""A progress bar for long work (an attach of thousands of probes): shown once the work has
taken half a second, with the count; Esc cancels (what is attached by then stays attached)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

SHOW_AFTER = 0.5  # seconds


class WorkProgressBar(Horizontal):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.started: float | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="work-label")
        yield ProgressBar(total=100, show_eta=False, id="work-bar")

    def update_work(self, stage: str, done: int, total: int) -> None:
        if stage == "done" or total <= 0:
            self.started = None
            self.remove_class("visible")
            return
        now = time.monotonic()
        if self.started is None:
            self.started = now
        if now - self.started < SHOW_AFTER:
            return
        self.add_class("visible")
        self.query_one("#work-label", Static).update(f" {stage} {done:,}/{total:,} (Esc: cancel) ")
        self.query_one("#work-bar", ProgressBar).update(total=total, progress=done)

    @property
    def running(self) -> bool:
        return self.started is not None
