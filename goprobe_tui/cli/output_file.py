"""`-o FILE`: output written to a temporary file beside FILE, renamed over it only once it is
complete, so FILE is never half-written (a reader sees the old file or the whole new one)."""

from __future__ import annotations

import os

from goprobe_tui.atomic_file import AtomicFile
from goprobe_tui.errors import BadInput


class AtomicOutput(AtomicFile):
    """An AtomicFile whose every failure to start is bad input, said in one line."""

    def __init__(self, path: str) -> None:
        if os.path.isdir(path):
            raise BadInput(f"-o {path}: is a directory")
        try:
            super().__init__(path)
        except OSError as exc:
            raise BadInput(f"-o {path}: {exc.strerror}") from None
