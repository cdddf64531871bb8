"""The header line: which binary, which Go, whose code, which processes, and whether tracing
works — what a user must know before trusting anything below it."""

from __future__ import annotations

import os

from goprobe_tui.engine.target import namespace_pid, process_alive
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.textsafe import printable


def process_state(pid: int) -> str | None:
    """The comm of a live process, or None once it has exited (zombies count as exited)."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read().rstrip("\n")
    except OSError:
        return None
    return comm if process_alive(pid) else None


def header_line(binary: GoBinary, pid: int | None, readonly_reason: str, comm: str | None) -> str:
    info = binary.buildinfo
    parts = [os.path.basename(binary.path), f"{binary.goversion or 'Go ?'} {binary.arch}",
             f"module {info.main_path}" if info.main_path else "main module unknown"]
    if pid is None:
        parts.append("target: every process running it")
    else:
        ns = namespace_pid(pid) if comm is not None else None
        inside = f", pid {ns} in its namespace" if ns not in (None, pid) else ""
        parts.append(f"target: pid {pid} ({comm}{inside})" if comm is not None
                     else f"target: pid {pid} — exited")
    parts.append(f"read-only: {readonly_reason}" if readonly_reason else "tracing on")
    return printable(" · ".join(parts))
