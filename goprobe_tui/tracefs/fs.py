"""Find (and if needed mount) tracefs; write control files safely.

uprobe_events is only ever opened O_WRONLY|O_APPEND, one command per write(): O_TRUNC would
delete every uprobe on the system, and a multi-line write is not atomic.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Callable

from goprobe_tui.tracefs.errors import ProbeError, TracefsError

_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


def _mounts() -> dict[str, tuple[str, str]]:
    """mount point -> (fs type, options) of what is visible there now: the last mount wins."""
    out: dict[str, tuple[str, str]] = {}
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 4:
                    out[fields[1]] = (fields[2], fields[3])
    except OSError:
        pass
    return out


def _mounted() -> str | None:
    return next((mp for mp, (fstype, _o) in _mounts().items() if fstype == "tracefs"), None)


def _covered() -> str | None:
    """Why a standard tracefs mount point shows no tracefs, if something else is mounted over it."""
    mounts = _mounts()
    for cand in _CANDIDATES:
        fstype = mounts.get(cand, ("", ""))[0]
        if fstype and fstype != "tracefs":
            return f"{cand} is covered by a {fstype} mount, not tracefs: unmount it (umount {cand})"
    return None


def _lockdown() -> str:
    try:
        with open("/sys/kernel/security/lockdown", encoding="ascii") as f:
            text = f.read()
        return text[text.index("[") + 1 : text.index("]")]
    except (OSError, ValueError):
        return "none"


def find_tracefs(*, mount: bool = True) -> str:
    """The tracefs root. Raises TracefsError saying why it can't be used and how to fix it."""
    root = _mounted()
    if root is None and mount and os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tracefs", "nodev", _CANDIDATES[0]], capture_output=True, check=False)
        root = _mounted()
    if root is None:
        for cand in _CANDIDATES[1:]:
            if os.path.exists(os.path.join(cand, "uprobe_events")):
                root = cand
    if root is None:
        covered = _covered()
        if covered:
            raise TracefsError(covered)
        if os.geteuid() != 0:
            raise TracefsError(
                "tracefs is not mounted and mounting needs root: run as root "
                "(sudo) or `mount -t tracefs nodev /sys/kernel/tracing`"
            )
        raise TracefsError("tracefs is not available: this kernel has no tracing support")
    if _lockdown() == "confidentiality":
        raise TracefsError(
            "kernel lockdown (confidentiality) forbids tracefs; boot with lockdown=integrity or none to trace"
        )
    events = os.path.join(root, "uprobe_events")
    if not os.path.exists(events):
        if not os.access(root, os.X_OK):
            raise TracefsError(f"{root} is not accessible: run as root (sudo)")
        raise TracefsError("this kernel has no uprobe support (CONFIG_UPROBE_EVENTS)")
    if not os.access(events, os.W_OK):
        options = _mounts().get(root, ("", ""))[1].split(",")
        if "ro" in options:
            raise TracefsError(
                f"tracefs is mounted read-only at {root}: remount it read-write (mount -o remount,rw {root})"
            )
        raise TracefsError(f"{events} is not writable: run as root (sudo)")
    return root


def read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def write_value(path: str, value: str) -> None:
    """Write a small control value (enable, options). Never truncates-by-open uprobe_events."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def last_error(root: str, command: str) -> str:
    """The kernel's error_log entry for `command`, if it logged one."""
    try:
        text = read_text(os.path.join(root, "error_log"))
    except OSError:
        return ""
    reason = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "error:" in line and i + 1 < len(lines) and command[:40] in lines[i + 1]:
            reason = line.split("error:", 1)[1].strip()
    return reason


def check_command(command: str) -> None:
    """ProbeError unless `command` is one plain uprobe_events line."""
    if "\n" in command or "#" in command or len(command) > 4000 or not command.isascii():
        raise ProbeError("refusing unsafe uprobe_events command", command[:80])


def append_command(root: str, command: str) -> None:
    """One uprobe_events command in one O_APPEND write. Raises ProbeError with the kernel's reason."""
    check_command(command)
    fd = os.open(os.path.join(root, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, command.encode("ascii"))
    except OSError as exc:
        reason = last_error(root, command) or os.strerror(exc.errno or 0)
        if exc.errno == 524:  # ENOTSUPP, kernel-internal: a breakpoint on INT3 padding
            reason = "offset is not a valid instruction (padding?)"
        raise ProbeError(f"kernel refused `{command[:120]}`", reason, exc.errno or 0) from None
    finally:
        os.close(fd)


BATCH_BYTES = 3900  # the kernel parses uprobe_events writes in 4,096-byte pieces, by line


def append_commands(root: str, commands: list[str]) -> None:
    """Several uprobe_events commands in one O_APPEND write, each checked as append_command
    checks one. The kernel runs them in order and stops at the first it refuses: ProbeError
    then, and the caller finds out which went in (defined_offsets)."""
    for command in commands:
        check_command(command)
    data = ("\n".join(commands) + "\n").encode("ascii")
    if len(data) > BATCH_BYTES + 100 and len(commands) > 1:
        raise ProbeError("refusing an oversized uprobe_events write", f"{len(data)} bytes")
    fd = os.open(os.path.join(root, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
    except OSError as exc:
        raise ProbeError(
            "the kernel refused a command of a batch", os.strerror(exc.errno or 0), exc.errno or 0
        ) from None
    finally:
        os.close(fd)


def read_settled(path: str, attempts: int = 50) -> str:
    """A tracefs listing read until two readings agree: it is handed out a page per read, and
    other sessions' probes added or removed between two pages shift it (a line skipped, or
    one given twice). The last reading if it never settles."""
    last = read_text(path)
    for _ in range(attempts):
        now = read_text(path)
        if now == last:
            return now
        last = now
    return last


def defined_offsets(root: str, group: str, name: str) -> set[int]:
    """The file offsets of the probes event group/name has now (read from uprobe_events)."""
    prefix = f"p:{group}/{name} "
    out = set()
    for line in read_settled(os.path.join(root, "uprobe_events")).splitlines():
        if line.startswith(prefix):
            where = line[len(prefix) :].split(" ", 1)[0]
            try:
                out.add(int(where.rsplit(":", 1)[1].split("(", 1)[0], 16))
            except (IndexError, ValueError):
                continue
    return out


def retry_busy(action: Callable[[], None], attempts: int = 20) -> None:
    """Run a tracefs action, retrying while the kernel says EBUSY (a reader still closing)."""
    for i in range(attempts):
        try:
            action()
            return
        except (OSError, ProbeError) as exc:
            if exc.errno != errno.EBUSY or i == attempts - 1:
                raise
            time.sleep(0.05 * (i + 1))


def user_stack_type(root: str) -> int | None:
    """The record type of user stacks (options/userstacktrace), from the ftrace format."""
    try:
        text = read_text(os.path.join(root, "events", "ftrace", "user_stack", "format"))
        return int(next(ln for ln in text.splitlines() if ln.startswith("ID:")).split()[1])
    except (OSError, ValueError, IndexError, StopIteration):
        return None
