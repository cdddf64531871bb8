"""Fuzzy function search (rapidfuzz): subsequence filter, then ranking. No UI code.

Stage 1 keeps names that contain the query as a subsequence (fzf-like: "srvhandleconn"
finds main.(*Server).handleConn), using cdist, which releases the GIL. Stage 2 ranks the
hits: contiguous matches and matches in the short name first, then the binary's own code, then
shorter names. With no query: the main module first, then its dependencies, then the standard
library and runtime (a Go engineer looks for their own code).
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from goprobe_tui.gobinary import package_of

PRECISE_LIMIT = 4_000  # above this many hits, rank by contiguity and length only
OWN, OWN_AND_DEPS, EVERYTHING = 0, 1, 2  # scopes: the highest tier shown
SCOPE_NAMES = {OWN: "own module only", OWN_AND_DEPS: "own module and dependencies",
               EVERYTHING: "everything"}


def is_std(name: str) -> bool:
    """Standard library and runtime-generated functions: no dot in the first path element."""
    pkg = package_of(name)
    return pkg != "main" and "." not in pkg.split("/", 1)[0]


def tier(name: str, main_module: str) -> int:
    """0: the main module (and package main), 1: its dependencies, 2: std lib and runtime."""
    pkg = package_of(name)
    if pkg == "main" or (main_module and (pkg == main_module or pkg.startswith(main_module + "/"))):
        return 0
    return 2 if is_std(name) else 1


def short_name(name: str) -> str:
    return name[name.rfind(".") + 1 :] if "." in name else name


class FunctionSearch:
    def __init__(self, names: list[str], main_module: str = "") -> None:
        self.names = names
        self.tier = np.fromiter((tier(n, main_module) for n in names), dtype=np.int8, count=len(names))
        # own module first, then dependencies, then std; pclntab order (by package) within each
        self.ordered = np.argsort(self.tier, kind="stable")
        self.lower = [n.lower() for n in names]
        self.short = [short_name(n).lower() for n in self.lower]
        self.std = np.fromiter((is_std(n) for n in names), dtype=bool, count=len(names))
        self.all = np.arange(len(names))
        self.lengths = np.fromiter((len(n) for n in names), dtype=np.int32, count=len(names))
        # (query, smart, hits) of the last search: typing extends the query, and a name that
        # holds "abc" as a subsequence is among those that hold "ab", so only those are scanned.
        # One tuple, replaced whole: searches from a superseded worker thread may overlap.
        self._last: tuple[str, bool, np.ndarray] = ("", False, self.all)

    def search(self, query: str, *, include_std: bool = True, scope: int = EVERYTHING) -> np.ndarray:
        """Indexes of matching functions, best first, of tiers up to `scope` (without
        include_std: no standard library either)."""
        if not include_std:
            scope = min(scope, OWN_AND_DEPS)
        query = query.strip()
        if not query:
            return self.ordered if scope == EVERYTHING else self.ordered[self.tier[self.ordered] <= scope]
        smart = any(c.isupper() for c in query)
        choices = self.names if smart else self.lower
        q = query if smart else query.lower()
        last_q, last_smart, last_hits = self._last
        narrow = last_q and smart == last_smart and q.startswith(last_q)
        pool = last_hits if narrow and len(last_hits) < len(choices) // 4 else self.all
        pool_names = choices if pool is self.all else [choices[i] for i in pool]
        scores = process.cdist([q], pool_names, scorer=LCSseq.similarity, dtype=np.int32, workers=-1)[0]
        hits = pool[scores >= len(q)]
        self._last = (q, smart, hits)
        if scope != EVERYTHING:
            hits = hits[self.tier[hits] <= scope]
        if len(hits) == 0:
            return hits
        ql = q.lower()
        lower = self.lower
        sub = [lower[i] for i in hits]
        contiguous = np.fromiter((ql in s for s in sub), dtype=bool, count=len(sub))
        lengths = self.lengths[hits]
        if len(hits) > PRECISE_LIMIT:  # short queries: cheap ranking keeps keystrokes fast
            order = np.lexsort((lengths, self.tier[hits], ~contiguous))
            return hits[order]
        short = self.short
        part = process.cdist([ql], sub, scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1)[0]
        shorts = [short[i] for i in hits]
        in_short = process.cdist([ql], shorts, scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1)[0]
        score = part + in_short // 2 + contiguous * 50
        order = np.lexsort((lengths, self.tier[hits], -score))
        return hits[order]
