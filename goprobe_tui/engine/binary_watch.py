"""Watch a traced binary for changes: uprobes stay on the inode, not on the code.

Overwritten in place (same inode, `cat new > bin`, `cp new bin`), the probes' offsets land in
the new program's code and crash it: the owner must detach at once. Replaced at a new inode
(a rebuild, `mv`, `rm`), the probes are harmless but new runs are no longer traced: the user
must be told that events have stopped.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")

FILE_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF
DIR_MASK = IN_CREATE | IN_MOVED_TO | IN_DELETE


@dataclass(frozen=True)
class Identity:
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> Identity | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def same_inode(self, other: Identity | None) -> bool:
        return other is not None and (self.dev, self.ino) == (other.dev, other.ino)


@dataclass(frozen=True)
class Change:
    in_place: bool  # same inode, new content: the probes must go now
    message: str


OnChange = Callable[[Change], None]


def describe_change(path: str, before: Identity, now: Identity | None, modified: bool) -> Change | None:
    """What happened to `path` since `before`, or None if nothing that matters."""
    if now is not None and before.same_inode(now):
        if modified or (now.size, now.mtime_ns) != (before.size, before.mtime_ns):
            return Change(
                True,
                f"{path} was overwritten in place: its probes were detached at once "
                "(their offsets would land in the new code and crash it)",
            )
        return None
    if now is None:
        return Change(False, f"{path} was deleted or moved: new runs are not traced, events have stopped")
    return Change(
        False,
        f"{path} was replaced (rebuilt?): new runs are not traced, events have "
        "stopped; restart goprobe-tui on the new binary",
    )


class BinaryWatch:
    """One inotify thread on the binary and its directory; calls on_change once per change."""

    def __init__(self, path: str, before: Identity, on_change: OnChange) -> None:
        self.path = os.path.abspath(path)
        self.before = before
        self._on_change = on_change
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self._file_wd = self._add(self.path, FILE_MASK)
        self._add(os.path.dirname(self.path), DIR_MASK)
        self._stop_r, self._stop_w = os.pipe()
        self._reported: set[bool] = set()
        self._thread = threading.Thread(target=self._run, name="goprobe-binary-watch", daemon=True)
        self._thread.start()

    def _add(self, path: str, mask: int) -> int:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), mask)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(err, os.strerror(err), path)
        return wd

    def _run(self) -> None:
        base = os.path.basename(self.path)
        while True:
            ready, _, _ = select.select([self._fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            modified, relevant = False, False
            for wd, mask, name in _events(data):
                if wd == self._file_wd:
                    relevant = True
                    modified |= bool(mask & (IN_MODIFY | IN_CLOSE_WRITE))
                elif name == base:
                    relevant = True
            if relevant:
                self._check(modified)

    def _check(self, modified: bool) -> None:
        change = describe_change(self.path, self.before, Identity.of(self.path), modified)
        # Each kind once: the detach happens on the first write, not on every later one.
        if change is not None and change.in_place not in self._reported:
            self._reported.add(change.in_place)
            self._on_change(change)

    def close(self) -> None:
        if self._thread.is_alive():
            os.write(self._stop_w, b"x")
            self._thread.join()
        for fd in (self._fd, self._stop_r, self._stop_w):
            os.close(fd)


def _events(data: bytes):
    off = 0
    while off + _EVENT.size <= len(data):
        wd, mask, _cookie, length = _EVENT.unpack_from(data, off)
        raw = data[off + _EVENT.size : off + _EVENT.size + length]
        yield wd, mask, os.fsdecode(raw.rstrip(b"\0"))
        off += _EVENT.size + length
