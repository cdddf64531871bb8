"""Files written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import TextIO


def save_atomically(path: str, write: Callable[[TextIO], object]) -> None:
    """`write(f)` into a temporary file beside `path`, then rename: a failure (disk full)
    leaves no truncated file behind, and an existing file is replaced whole or not at all."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".goprobe-save-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
