"""Find and remove what dead goprobe sessions left in tracefs (after SIGKILL, a crash, ...).

An owner that is a zombie or already exiting counts as dead: it will never tear down. Right
after SIGKILL the process can still be in /proc for a moment, and its open trace_pipe_raw keeps
the instance busy until the kernel has closed its files; removal waits for that (bounded).
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field

from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.fs import retry_busy
from goprobe_tui.tracefs.naming import owner_state, parse_session_name, pid_namespace

_PF_EXITING = 0x4
BUSY_ATTEMPTS = 40  # ~40 s of backoff at most for an instance whose dying owner still holds it


@dataclass
class SweepResult:
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "what: why"


def session_is_dead(name: str) -> bool:
    """True only when the session's owner is provably gone, a zombie, or exiting."""
    parsed = parse_session_name(name)
    if parsed is None:
        return False
    pid, start, namespace = parsed
    if namespace is not None and namespace != pid_namespace():
        return False  # another PID namespace's pid: our /proc cannot tell, so never sweep
    state = owner_state(pid, start)
    return state is None or state[0] in ("Z", "X") or bool(state[1] & _PF_EXITING)


def sweep_stale(root: str) -> SweepResult:
    """Remove probes and instances of goprobe sessions whose owner is dead or dying."""
    result = SweepResult()
    try:
        definitions = fs.read_text(os.path.join(root, "uprobe_events")).splitlines()
    except OSError:
        return result
    dead_events: dict[str, list[str]] = {}
    for line in definitions:
        head = line.split(None, 1)[0] if line.strip() else ""
        if ":" not in head or "/" not in head:
            continue
        group, event = head.split(":", 1)[1].split("/", 1)
        if session_is_dead(group):
            events = dead_events.setdefault(group, [])
            if event not in events:  # a multi-probe event is listed once per probe
                events.append(event)
    inst_dir = os.path.join(root, "instances")
    try:
        instances = [n for n in os.listdir(inst_dir) if session_is_dead(n)]
    except OSError:
        instances = []
    for group, events in dead_events.items():
        for event in events:
            enable = os.path.join(inst_dir, group, "events", group, event, "enable")
            with contextlib.suppress(OSError):
                fs.write_value(enable, "0")
    for inst in instances:  # rmdir also frees its buffer; EBUSY while the owner's fds close
        try:
            retry_busy(lambda: os.rmdir(os.path.join(inst_dir, inst)), BUSY_ATTEMPTS)  # noqa: B023
            result.removed.append(f"instance {inst}")
        except FileNotFoundError:
            result.removed.append(f"instance {inst}")
        except OSError as exc:
            if exc.errno == errno.ENODEV:  # another sweeper is removing it at this moment
                continue
            result.failed.append(f"instance {inst}: {exc.strerror}")
    for group, events in dead_events.items():
        for event in events:
            try:
                retry_busy(lambda: fs.append_command(root, f"-:{group}/{event}"), BUSY_ATTEMPTS)  # noqa: B023
                result.removed.append(f"probe {group}/{event}")
            except (OSError, ProbeError) as exc:
                if getattr(exc, "errno", 0) == 2:  # ENOENT: someone else removed it first
                    continue
                result.failed.append(f"probe {group}/{event}: {exc}")
    return result
