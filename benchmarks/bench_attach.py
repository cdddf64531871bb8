"""Attach 1,000 functions by glob and detach them, through the real kernel. Times for the README.

Run as root: .venv/bin/python -m benchmarks.bench_attach
"""

from __future__ import annotations

import fnmatch
import time

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.tracefs.attach import Attacher
from goprobe_tui.tracefs.session import ProbeSession
from tests.kernel_helpers import goprobe_leftovers
from tests.support import toolchains as tc

COUNT = 1000
PATTERNS = ("net/*", "fmt.*", "encoding/*", "text/*", "regexp*", "strings.*", "sort.*")


def main() -> int:
    with GoBinary.open(str(tc.build("large", "1.27.3"))) as binary:
        fns = [f for f in binary.functions
               if any(fnmatch.fnmatchcase(f.name, p) for p in PATTERNS)][:COUNT]
        start = time.perf_counter()
        session = ProbeSession()
        attacher = Attacher(binary, session)
        failed = 0
        for fn in fns:
            try:
                attacher.attach(fn)
            except Exception:
                failed += 1
        attached = time.perf_counter() - start
        start = time.perf_counter()
        session.close()
        detached = time.perf_counter() - start
    assert goprobe_leftovers() == []
    ok = len(fns) - failed
    print(f"attach {ok} functions (DWARF args, post-prologue sites): {attached:.2f}s "
          f"({attached / max(ok, 1) * 1000:.1f} ms each); {failed} refused")
    print(f"detach all + remove instance: {detached:.2f}s ({detached / max(ok, 1) * 1000:.1f} ms each)")
    return 0 if ok >= COUNT * 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
