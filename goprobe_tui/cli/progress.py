"""A progress line on stderr for long work (an attach of thousands of probes): shown once the
work has taken more than half a second; updated in place on a terminal, else plain lines at
most once a second, so a log or a CI file is not flooded."""

from __future__ import annotations

import sys
import time
from typing import TextIO

SHOW_AFTER = 0.5  # seconds: shorter work shows nothing
PLAIN_EVERY = 1.0  # seconds between plain lines (not a terminal)


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._last = 0.0
        self._said: tuple[str, int, int] | None = None  # the last line written: never twice
        self._shown = False  # a line is on the terminal, to be cleared at the end

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < SHOW_AFTER or total <= 0:
            return
        finished = done >= total
        if (stage, done, total) == self._said or (
            not self.tty and not finished and now - self._last < PLAIN_EVERY
        ):
            return
        self._last, self._said = now, (stage, done, total)
        text = f"goprobe-tui: {stage} {done:,}/{total:,} ({100 * done // total}%)"
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self._shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The line is gone from a terminal: the next message starts a clean line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
