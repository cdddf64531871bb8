"""Reading files that come from elsewhere (plans, saved records): regular files only, never
through a symbolic link, never blocking on a FIFO, and never more than the caller can hold."""

from __future__ import annotations

import os
import stat


class NotReadable(OSError):
    """The file cannot be read safely; str() says why, in a few words."""


def open_regular(path: str) -> int:
    """A descriptor of `path` if it is a regular file reached without a symbolic link at its
    end; NotReadable otherwise (the caller closes the descriptor)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        why = "a symbolic link" if exc.errno == 40 else (exc.strerror or "cannot be opened")
        raise NotReadable(why) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise NotReadable(exc.strerror or "cannot be read") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotReadable("not a regular file")
    return fd


def read_small(path: str, limit: int) -> bytes:
    """The whole file, if it is regular and at most `limit` bytes; NotReadable otherwise."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise NotReadable(f"{size} bytes, more than the {limit} it can be")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise NotReadable(f"more than the {limit} bytes it can be")
        return b"".join(chunks)
    finally:
        os.close(fd)
