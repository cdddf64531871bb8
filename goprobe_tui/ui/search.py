"""Fuzzy function search (rapidfuzz): subsequence filter, then ranking. No UI code.

Stage 1 keeps names that contain the query as a subsequence (fzf-like: "srvhandleconn"
finds main.(*Server).handleConn), using cdist, which releases the GIL. Stage 2 ranks the
hits: contiguous matches and matches in the short name first, then the binary's own code, then
shorter names. With no query: the main module first, then its dependencies, then the standard
library and runtime (a Go engineer looks for their own code).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from goprobe_tui.gobinary import package_of

PRECISE_LIMIT = 4_000  # above this many hits, rank by contiguity and length only
RECENT = 64  # query results kept
WARM_CHARS = "etansoirlcdhpgmufkbywvxjzq.(*_/0123456789"  # about by frequency in Go names
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
        # Results of recent queries: backspace returns to one of them at once.
        self._recent: OrderedDict[tuple[str, bool, int], np.ndarray] = OrderedDict()
        # First and last position of each character in each name, computed per character when
        # first typed: 1- and 2-letter queries (tens of thousands of hits) without a scan.
        self._first: dict[str, np.ndarray] = {}
        self._last_pos: dict[str, np.ndarray] = {}
        self._codes: np.ndarray | None = None  # all lower-case names joined by "\n", as code points
        self._line_starts: np.ndarray | None = None
        # where each recent query occurs in _codes: typing one more letter filters the last
        self._occurrences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._chars: dict[str, np.ndarray] = {}

    def warm(self) -> None:
        """Compute what the first keystrokes need, ahead of them (from a background thread)."""
        self._occurs("e")  # builds the joined names
        for c in WARM_CHARS:
            self._positions(c)
            time.sleep(0.002)  # let the UI thread (and a keystroke) have the interpreter

    def _positions(self, c: str) -> tuple[np.ndarray, np.ndarray]:
        """Per name, the offset of the first and of the last `c` (-1: none)."""
        if c not in self._first:
            occ = self._occurs(c)
            lines = np.searchsorted(self._line_starts, occ, side="right") - 1
            offsets = (occ - self._line_starts[lines]).astype(np.int32)
            first = np.full(len(self.lower), -1, dtype=np.int32)
            last = np.full(len(self.lower), -1, dtype=np.int32)
            last[lines] = offsets  # occurrences ascend: the last write per line wins
            first[lines[::-1]] = offsets[::-1]  # and backwards, the first
            self._first[c], self._last_pos[c] = first, last
        return self._first[c], self._last_pos[c]

    def _occurs(self, q: str) -> np.ndarray:
        """Start offsets of q in the joined names; from q minus its last letter when known."""
        if self._codes is None:
            self._codes = np.frombuffer("\n".join(self.lower).encode("utf-32-le"), dtype="<u4")
            self._line_starts = np.cumsum([0] + [len(s) + 1 for s in self.lower[:-1]])
        found = self._chars.get(q) if len(q) == 1 else self._occurrences.get(q)
        if found is not None:
            return found
        codes = self._codes
        if len(q) == 1:  # kept for good: one array per character
            found = self._chars[q] = np.flatnonzero(codes == ord(q)).astype(np.int32)
            return found
        prev = self._occurs(q[:-1])
        prev = prev[prev + len(q) - 1 < len(codes)]
        found = prev[codes[prev + len(q) - 1] == ord(q[-1])]
        self._occurrences[q] = found
        if len(self._occurrences) > RECENT:
            self._occurrences.popitem(last=False)
        return found

    def _substring(self, q: str) -> np.ndarray:
        """Which lower-case names contain q."""
        out = np.zeros(len(self.lower), dtype=bool)
        if "\n" not in q:
            starts = self._occurs(q)  # (builds _line_starts the first time)
            out[np.searchsorted(self._line_starts, starts, side="right") - 1] = True
        return out

    def _short(self, q: str) -> tuple[np.ndarray, np.ndarray]:
        """(hits in table order, contiguous) of a 1- or 2-letter lower-case query: a name holds
        "ab" as a subsequence when its first a comes before its last b."""
        first, _ = self._positions(q[0])
        if len(q) == 1:
            hits = np.flatnonzero(first >= 0)
            return hits, np.ones(len(hits), dtype=bool)
        _, last = self._positions(q[1])
        hits = np.flatnonzero((first >= 0) & (first < last))
        return hits, self._substring(q)[hits]

    def search(self, query: str, *, include_std: bool = True, scope: int = EVERYTHING) -> np.ndarray:
        """Indexes of matching functions, best first, of tiers up to `scope` (without
        include_std: no standard library either)."""
        if not include_std:
            scope = min(scope, OWN_AND_DEPS)
        query = query.strip()
        if not query:
            return self.ordered if scope == EVERYTHING else self.ordered[self.tier[self.ordered] <= scope]
        smart = any(c.isupper() for c in query)
        key = (query, smart, scope)
        found = self._recent.get(key)
        if found is not None:
            self._recent.move_to_end(key)
            return found
        result = self._search(query, smart, scope)
        self._recent[key] = result
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return result

    def _search(self, query: str, smart: bool, scope: int) -> np.ndarray:
        choices = self.names if smart else self.lower
        q = query if smart else query.lower()
        if not smart and len(q) <= 2:
            hits, contiguous = self._short(q)
            self._last = (q, smart, hits)
            if scope != EVERYTHING:
                keep = self.tier[hits] <= scope
                hits, contiguous = hits[keep], contiguous[keep]
            if len(hits) == 0:
                return hits
            if len(hits) > PRECISE_LIMIT:
                return hits[np.lexsort((self.lengths[hits], self.tier[hits], ~contiguous))]
            return self._ranked(q, hits, contiguous)
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
        if len(hits) > PRECISE_LIMIT:  # short queries: cheap ranking keeps keystrokes fast
            contiguous = self._substring(ql)[hits]
            return hits[np.lexsort((self.lengths[hits], self.tier[hits], ~contiguous))]
        lower = self.lower
        contiguous = np.fromiter((ql in lower[i] for i in hits), dtype=bool, count=len(hits))
        return self._ranked(ql, hits, contiguous)

    def _ranked(self, ql: str, hits: np.ndarray, contiguous: np.ndarray) -> np.ndarray:
        """Precise ranking of a few thousand hits at most."""
        lower, short = self.lower, self.short
        sub = [lower[i] for i in hits]
        lengths = self.lengths[hits]
        part = process.cdist([ql], sub, scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1)[0]
        shorts = [short[i] for i in hits]
        in_short = process.cdist([ql], shorts, scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1)[0]
        score = part + in_short // 2 + contiguous * 50
        order = np.lexsort((lengths, self.tier[hits], -score))
        return hits[order]
