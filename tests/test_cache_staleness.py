"""The disk caches never outlive the file they describe: a binary rewritten in place with its
size and modification time kept (`cat new > target; touch -r ref target`, as `cp -p` onto an
existing file does) is read afresh, never named by the old function table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import toolchains as tc

NEWEST = "1.27.3"
PROGRAM = """package main

import "fmt"

//go:noinline
func {name}(x int) int {{ return x*{k} + 1 }}

func main() {{ fmt.Println({name}(3)) }}
"""


def _build(tmp_path: Path, name: str, k: int) -> Path:
    src = tmp_path / f"src-{name}"
    src.mkdir()
    (src / "main.go").write_text(PROGRAM.format(name=name, k=k))
    return tc.build_source(src, NEWEST, tmp_path / f"bin-{name}")


def _listed(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "list", str(path), "main.*"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_binary_rewritten_with_size_and_mtime_kept_is_read_afresh(tmp_path: Path) -> None:
    old, new = _build(tmp_path, "Aaaa", 5), _build(tmp_path, "Bbbb", 7)
    size = max(old.stat().st_size, new.stat().st_size)
    for path in (old, new):  # the same size (bytes past the ELF's end are never read)
        with open(path, "ab") as f:
            f.write(bytes(size - path.stat().st_size))
    target = tmp_path / "target"
    shutil.copy(old, target)
    before = target.stat()
    assert "main.Aaaa" in _listed(target)  # the caches now hold Aaaa's tables
    assert any((Path(os.environ["XDG_CACHE_HOME"]) / "goprobe-tui").rglob("*.npz"))
    with open(target, "r+b") as f:  # rewritten in place: same inode, same size
        f.write(new.read_bytes())
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    listed = _listed(target)
    assert "main.Bbbb" in listed and "main.Aaaa" not in listed
