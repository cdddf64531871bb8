"""Source text of a line, where the file is on this machine (as `dlv list` shows it).

The path comes from the binary (untrusted): only a regular `.go` file of at most 4 MiB is read,
never through a symbolic link at its end, and the text is made printable by the caller. A
-trimpath build names files by module path (`example.com/app/main.go`): its suffixes are tried
under the working directory.
"""

from __future__ import annotations

import os
from functools import lru_cache

from goprobe_tui.safe_read import NotReadable, read_small

MAX_SOURCE = 4 << 20


def source_line(file: str, line: int) -> str | None:
    """The text of `line` (1-based) of `file`, or None where the file is not here."""
    lines = _lines(file)
    if lines is None or not 0 < line <= len(lines):
        return None
    return lines[line - 1]


@lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...] | None:
    if not file.endswith(".go"):
        return None
    for path in _candidates(file):
        try:
            data = read_small(path, MAX_SOURCE)
        except (NotReadable, OSError):
            continue
        return tuple(data.decode("utf-8", "replace").splitlines())
    return None


def _candidates(file: str) -> list[str]:
    if os.path.isabs(file):
        return [file]
    parts = [p for p in file.split("/") if p not in ("", ".", "..")]
    return [os.path.join(os.getcwd(), *parts[i:]) for i in range(len(parts))]
