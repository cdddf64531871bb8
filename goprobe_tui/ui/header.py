"""The header line: which binary, which Go, whose code, which processes, and whether tracing
works — what a user must know before trusting anything below it. On a narrow terminal the
least needed parts go first; whether tracing works always stays."""

from __future__ import annotations

import os
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from goprobe_tui.engine.target import namespace_pid, process_alive, process_start_time
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable
from goprobe_tui.ui.browser.probe_panel import fit_left

SEP = " · "


def process_state(pid: int) -> str | None:
    """The comm of a live process, or None once it has exited (zombies count as exited)."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read().rstrip("\n")
    except OSError:
        return None
    start = _STARTS.setdefault(pid, process_start_time(pid))
    return comm if process_alive(pid, start) else None  # never another process given its pid


_STARTS: dict[int, int | None] = {}  # pid -> its start time when first shown


def header_line(
    binary: GoBinary,
    pid: int | None,
    readonly_reason: str,
    comm: str | None,
    width: int = 10_000,
    program: str = "",
) -> str:
    """program: the state of a program the TUI starts (goprobe-tui BINARY -- ARG...)."""
    info = binary.buildinfo
    if program:
        target = program
    elif pid is None:
        target = "target: every process running it"
    elif comm is None:
        target = f"target: pid {pid} — exited"
    else:
        ns = namespace_pid(pid)
        inside = f", pid {ns} in its namespace" if ns not in (None, pid) else ""
        target = f"target: pid {pid} ({comm}{inside})"
    state = f"read-only: {readonly_reason}" if readonly_reason else "tracing on"
    name = printable(os.path.basename(binary.path))
    # (text, how readily it goes when space runs out: higher goes first)
    parts = [
        (name, 1),
        (f"{binary.goversion or 'Go ?'} {binary.arch}", 3),
        (f"module {info.main_path}" if info.main_path else "main module unknown", 4),
        (target, 2),
        (state, 0),
    ]
    while len(SEP.join(printable(p) for p, _ in parts)) > width and len(parts) > 2:
        parts.remove(max(parts, key=lambda p: p[1]))
    text = SEP.join(printable(p) for p, _ in parts)
    if len(text) > width:  # the name and the state alone: the name is cut, from the left
        room = max(4, width - len(SEP) - len(printable(state)))
        text = fit_left(name, room) + SEP + printable(state)
    return text


class HeaderBar(Static):
    """The header line, kept true: refitted to the width, and the target's state re-read every
    second (it may exit)."""

    def __init__(
        self,
        binary: GoBinary,
        pid: int | None,
        readonly_reason: str,
        program_state: Callable[[], str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.binary, self.pid, self.readonly_reason = binary, pid, readonly_reason
        self.program_state = program_state
        self._shown = ""

    def on_mount(self) -> None:
        self.refresh_text()
        if self.pid is not None or self.program_state is not None:
            self.set_interval(1.0, self.refresh_text)

    def on_resize(self) -> None:
        self.refresh_text()

    def refresh_text(self) -> None:
        comm = process_state(self.pid) if self.pid is not None else None
        program = self.program_state() if self.program_state is not None else ""
        text = header_line(
            self.binary, self.pid, self.readonly_reason, comm, self.content_region.width or 10_000, program
        )
        if text != self._shown:
            self._shown = text
            self.update(Text(text))
