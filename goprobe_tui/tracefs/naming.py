"""Names written to tracefs: sessions, events, paths. Only [A-Za-z0-9_] ever reaches a name."""

from __future__ import annotations

import os
import re
import stat

from goprobe_tui.errors import BadInput

PREFIX = "goprobe_"
MAX_NAME = 63
_SESSION_RE = re.compile(r"^goprobe_(\d+)_(\d+)(?:_n(\d+))?$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def _stat_fields(pid: int) -> list[bytes] | None:
    """/proc/PID/stat from field 3 (state) on; the name before it may hold spaces and ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields if len(fields) > 19 else None


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): tells a live owner from a reused pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def process_alive(pid: int, start: int | None = None) -> bool:
    """The process exists and has not exited (a zombie or a dying one has). start: its start
    time (process_start_time) when it was first seen: a pid the kernel gave to another
    process since (ids wrap at pid_max, threads take them too) is not it."""
    fields = _stat_fields(pid)
    return (
        fields is not None and fields[0] not in (b"Z", b"X") and (start is None or int(fields[19]) == start)
    )


def owner_state(pid: int, start: int) -> tuple[str, int] | None:
    """(state letter, flags) of the process that owns a session, or None when it is gone
    (or its pid now names a process started at another time)."""
    fields = _stat_fields(pid)
    if fields is None or int(fields[19]) != start:
        return None
    return fields[0].decode("ascii", "replace"), int(fields[6])


def pid_namespace() -> int:
    """The inode of our PID namespace: a pid means something only inside its namespace."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def session_name(pid: int | None = None) -> str:
    """`goprobe_<pid>_<start>_n<pidns>`: pid and start time tell a live owner from a reused
    pid; the namespace tells whether our /proc can judge that pid at all."""
    pid = os.getpid() if pid is None else pid
    return f"{PREFIX}{pid}_{process_start_time(pid) or 0}_n{pid_namespace()}"


def parse_session_name(name: str) -> tuple[int, int, int | None] | None:
    """(pid, start, pid namespace or None for names from before it was recorded)."""
    m = _SESSION_RE.match(name)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None


def sanitise(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "fn"


def event_name(pid: int, index: int, go_name: str, suffix: str = "") -> str:
    """`gp<pid>_<n>_<name>[_<suffix>]`, <= 63 chars, unique by pid and counter alone."""
    head = f"gp{pid}_{index}_"
    tail = f"_{suffix}" if suffix else ""
    body = sanitise(go_name)[: MAX_NAME - len(head) - len(tail)].rstrip("_")
    return f"{head}{body}{tail}"


PATH_MAX = 4096  # with its NUL
# Another process's view of the file system: /proc/PID/root is the root of its mount namespace
# (a container's), /proc/PID/exe its executable. The kernel resolves both from here into that
# namespace; realpath() would instead read the link as text and land on our own namespace's
# file at the same path: another program, probed in the middle of its instructions.
_PROC_VIEW = re.compile(r"^/proc/\d+/(?:root/|exe$)")


def check_probe_path(path: str, identity: tuple[int, int] | None = None) -> str:
    """The canonical absolute path, if tracefs can express it; ValueError otherwise.
    identity: the (st_dev, st_ino) of the file that was read: the path must still name it."""
    if len(os.fsencode(path)) >= PATH_MAX:
        raise BadInput(
            f"path of {len(os.fsencode(path)):,} bytes: longer than the kernel "
            f"takes ({PATH_MAX - 1:,}); link the binary to a shorter path"
        )
    real = os.path.normpath(path) if _PROC_VIEW.match(path) else os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{path}: not a regular file")
    if identity is not None and (st.st_dev, st.st_ino) != identity:
        raise BadInput(
            f"{real} is not the file that was read (replaced, or another file at "
            "that path): refusing to probe it; restart goprobe-tui on it"
        )
    if len(os.fsencode(real)) >= PATH_MAX:
        raise BadInput(
            f"{path}: its real path is longer than the kernel takes ({PATH_MAX - 1:,} "
            "bytes); link the binary to a shorter path"
        )
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "#" for c in real) or not real.isascii():
        raise BadInput(
            f"{path}: tracefs cannot express this path (space, control char, "
            "'#' or non-ASCII); copy or link the binary to a plain path"
        )
    return real


def check_target_path(path: str) -> str:
    """A path on another machine (a probe script's target): absolute and expressible in
    tracefs; ValueError otherwise. Nothing here can tell which file it names."""
    if not path.startswith("/"):
        raise BadInput(f"{path}: the target path must be absolute")
    path = os.path.normpath(path)
    if len(os.fsencode(path)) >= PATH_MAX:
        raise BadInput(f"{path[:80]}...: longer than the kernel takes ({PATH_MAX - 1:,} bytes)")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c in "#'\"\\" for c in path) or not path.isascii():
        raise BadInput(
            f"{path}: tracefs cannot express this path (space, control char, quote, '#' or non-ASCII)"
        )
    return path
