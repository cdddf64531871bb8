"""`-o FILE`: output written to a temporary file beside FILE, renamed over it only once it is
complete, so FILE is never half-written (a reader sees the old file or the whole new one)."""

from __future__ import annotations

import contextlib
import os

from goprobe_tui.errors import BadInput


class AtomicOutput:
    def __init__(self, path: str) -> None:
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise BadInput(f"-o {path}: is a directory")
        self.tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp{os.getpid()}")
        try:
            self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise BadInput(f"-o {path}: {exc.strerror}") from None

    def commit(self) -> None:
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
