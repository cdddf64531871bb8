"""Which file a process runs, as a path this process can open (and the kernel can probe)."""

from __future__ import annotations

import os

from goprobe_tui.errors import BadInput
from goprobe_tui.tracefs.naming import process_alive

__all__ = ["executable_of", "process_alive"]


def executable_of(pid: int) -> str:
    """A path to the process's executable that resolves here, also for processes in containers."""
    link = f"/proc/{pid}/exe"
    try:
        target = os.readlink(link).removesuffix(" (deleted)")
        want = os.stat(link)
    except OSError as exc:
        raise BadInput(f"process {pid}: {exc.strerror}") from None
    for cand in (target, f"/proc/{pid}/root{target}"):
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return cand
    raise BadInput(f"process {pid}: its executable {target} is not reachable by path")

