"""Facts derived from a binary, kept on disk between runs ($XDG_CACHE_HOME/goprobe-tui).

Keyed by the file's identity (device, inode, size, modification and change times) and a
digest of its function tables (GoBinary.cache_key), so a rebuilt or rewritten binary is read
afresh. Nothing here is needed: a cache that cannot be read or written is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from goprobe_tui.atomic_file import save_atomically

KEEP = 32  # files per kind; the least recently used go first


def directory(kind: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "goprobe-tui" / kind


def path_for(kind: str, identity: tuple) -> Path:
    digest = hashlib.sha256(repr(identity).encode()).hexdigest()[:32]
    return directory(kind) / f"{digest}.npz"


def load(kind: str, identity: tuple) -> Path | None:
    """The cached file for this identity, if there is one (its use time is refreshed)."""
    path = path_for(kind, identity)
    try:
        os.utime(path)
    except OSError:
        return None
    return path


def store(kind: str, identity: tuple, write) -> None:
    """`write(file)` into the cache, whole or not at all; old files beyond KEEP are removed."""
    path = path_for(kind, identity)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        save_atomically(str(path), write, binary=True, sync=False, mode=0o600)
        files = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime)
        for old in files[:-KEEP]:
            old.unlink()
