"""Which file a process runs, as a path this process can open and the kernel can probe, also
for a process in a container (another mount namespace)."""

from __future__ import annotations

import errno
import os

from goprobe_tui.errors import BadInput
from goprobe_tui.tracefs.naming import process_alive, process_start_time

__all__ = ["executable_of", "process_alive", "process_start_time", "resolve_target"]


def executable_of(pid: int) -> str:
    """The path of the process's executable: its own path if that names the same file here,
    else through /proc/PID/root (its mount namespace), else /proc/PID/exe (deleted, or out of
    reach by any name). The kernel resolves the /proc forms into the process's namespace."""
    link = f"/proc/{pid}/exe"
    try:
        target = os.readlink(link).removesuffix(" (deleted)")
        want = os.stat(link)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.exists(f"/proc/{pid}"):
            raise BadInput(f"no process {pid}") from None
        raise BadInput(f"process {pid}: {exc.strerror}") from None
    for cand in (target, f"/proc/{pid}/root{target}", link):
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return cand
    raise BadInput(f"process {pid}: its executable {target} is not reachable by path")


def resolve_target(pid: int | None, binary: str | None) -> str | None:
    """The file to read and probe: the binary, or the process's executable. With both, they
    must be the same file (a binary that is not the process's would be traced instead)."""
    if pid is None:
        return binary
    path = executable_of(pid)
    if binary:
        try:
            given, runs = os.stat(binary), os.stat(path)
        except OSError as exc:
            raise BadInput(f"{binary}: {exc.strerror}") from None
        if (given.st_dev, given.st_ino) != (runs.st_dev, runs.st_ino):
            raise BadInput(
                f"process {pid} runs {os.readlink(f'/proc/{pid}/exe')}, not {binary}: "
                "give its executable, or --pid alone"
            )
    return path


def namespace_pid(pid: int) -> int | None:
    """The process's pid in its own (innermost) PID namespace, or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None
