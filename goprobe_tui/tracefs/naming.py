"""Names written to tracefs: sessions, events, paths. Only [A-Za-z0-9_] ever reaches a name."""

from __future__ import annotations

import os
import re

PREFIX = "goprobe_"
MAX_NAME = 63
_SESSION_RE = re.compile(r"^goprobe_(\d+)_(\d+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): tells a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def session_name(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{PREFIX}{pid}_{process_start_time(pid) or 0}"


def parse_session_name(name: str) -> tuple[int, int] | None:
    m = _SESSION_RE.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def session_is_stale(name: str) -> bool:
    """A goprobe session whose owning process is gone (or whose pid now names another process)."""
    parsed = parse_session_name(name)
    if parsed is None:
        return False
    pid, start = parsed
    return process_start_time(pid) != start


def sanitise(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "fn"


def event_name(pid: int, index: int, go_name: str, suffix: str = "") -> str:
    """`gp<pid>_<n>_<name>[_<suffix>]`, <= 63 chars, unique by pid and counter alone."""
    head = f"gp{pid}_{index}_"
    tail = f"_{suffix}" if suffix else ""
    body = sanitise(go_name)[: MAX_NAME - len(head) - len(tail)].rstrip("_")
    return f"{head}{body}{tail}"


def check_probe_path(path: str) -> str:
    """The canonical absolute path, if tracefs can express it; ValueError otherwise."""
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise ValueError(f"{path}: not a regular file")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "#" for c in real) or not real.isascii():
        raise ValueError(f"{path}: tracefs cannot express this path (space, control char, "
                         "'#' or non-ASCII); copy or link the binary to a plain path")
    return real
