"""Files written whole or not at all: the one way this tool writes a file others read (`-o`,
the TUI's save, probe scripts' plans, the disk caches)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import IO, Any


class AtomicFile:
    """A temporary file beside `path`, renamed over it by commit() once complete: a reader sees
    the old file or the whole new one, and a failure (disk full, a signal) leaves no half file.
    abandon() removes it; as a context manager, it commits unless the block raised."""

    def __init__(self, path: str, mode: int = 0o644) -> None:
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        self.fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.")
        try:
            os.fchmod(self.fd, mode)
        except OSError:
            self.abandon()
            raise

    def commit(self, sync: bool = True) -> None:
        """sync: flushed to the disk before the rename (a cache can skip it: it is rebuilt)."""
        if sync:
            os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: object, *_rest: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.abandon()


def save_atomically(
    path: str, write: Callable[[Any], object], binary: bool = False, sync: bool = True, mode: int = 0o644
) -> None:
    """`write(f)` into an AtomicFile for `path` (text, UTF-8, unless binary), then commit."""
    out = AtomicFile(path, mode)
    try:
        f: IO[Any]
        with (
            os.fdopen(os.dup(out.fd), "wb") if binary else os.fdopen(os.dup(out.fd), "w", encoding="utf-8")
        ) as f:
            write(f)
        out.commit(sync)
    except BaseException:
        out.abandon()
        raise
