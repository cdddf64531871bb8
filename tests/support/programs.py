"""Running the test programs a test, a benchmark or the screenshots need: the parked program
(goroutines in known states, waiting for stdin) and the real hugo server on an empty site."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


def start_parked(path: str | Path, *args: str) -> subprocess.Popen:
    """tests/go/parked running and ready (its goroutines parked), GOTRACEBACK=all so that a
    SIGQUIT dump lists every goroutine; stdin open: it ends at EOF."""
    proc = subprocess.Popen(
        [str(path), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GOTRACEBACK": "all"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@contextlib.contextmanager
def hugo_server(hugo: str, directory: Path, port: int) -> Iterator[subprocess.Popen]:
    """`hugo server` on a new empty site in `directory`, once it says it serves; stopped after."""
    site = directory / "site"
    subprocess.run([hugo, "new", "site", str(site)], check=True, capture_output=True)
    server = subprocess.Popen(
        [hugo, "server", "--port", str(port), "--disableLiveReload"],
        cwd=site,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "Web Server is available" in line:
                break
        yield server
    finally:
        server.terminate()
        server.wait()
