"""Fuzzy function search (fzf-like): names that hold the query as a subsequence, ranked. No UI.

"srvhandleconn" finds main.(*Server).handleConn. All names are joined into one array of code
points (NUL between names: a C string holds none), and each character's occurrences are kept
as a sorted array. A query is matched greedily, leftmost, one character at a time for every
name at once: the next occurrence of the character after the previous match (one
searchsorted), still inside the name. Typing one more character only extends the previous
query's matches, so a keystroke costs one searchsorted over the names still in the running.
Lower-case queries match case-insensitively; a query with an upper-case letter matches case.

Ranking: contiguous matches and matches in the short name first, then the binary's own code,
then shorter names. With no query: the main module first, then its dependencies, then the
standard library and runtime (a Go engineer looks for their own code).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from rapidfuzz import fuzz, process

from goprobe_tui.gobinary import package_of

PRECISE_LIMIT = 4_000  # above this many hits, rank by contiguity and length only
RECENT = 64  # query results kept
WARM_CHARS = "etansoirlcdhpgmufkbywvxjzq.(*_/0123456789"  # about by frequency in Go names
OWN, OWN_AND_DEPS, EVERYTHING = 0, 1, 2  # scopes: the highest tier shown
SCOPE_NAMES = {OWN: "own module only", OWN_AND_DEPS: "own module and dependencies", EVERYTHING: "everything"}
SEPARATOR = "\0"


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


class _Text:
    """All names joined (lower-case or as they are), with each character's occurrences."""

    def __init__(self, names: list[str]) -> None:
        self.codes = np.frombuffer(SEPARATOR.join(names).encode("utf-32-le"), dtype="<u4")
        lengths = np.fromiter((len(n) for n in names), dtype=np.int64, count=len(names))
        self.starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.ends = self.starts + lengths
        self._occ: dict[str, np.ndarray] = {}
        self.longest = int(lengths.max()) if len(names) else 0

    def occurrences(self, c: str) -> np.ndarray:
        found = self._occ.get(c)
        if found is None:
            found = self._occ[c] = np.flatnonzero(self.codes == ord(c))
        return found

    def has(self, c: str) -> bool:
        return c in self._occ

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, positions, side="right") - 1


class FunctionSearch:
    def __init__(self, names: list[str], main_module: str = "") -> None:
        self.names = names
        self.tier = np.fromiter((tier(n, main_module) for n in names), dtype=np.int8, count=len(names))
        # own module first, then dependencies, then std; pclntab order (by package) within each
        self.ordered = np.argsort(self.tier, kind="stable")
        self.lower = [n.lower() for n in names]
        self.short = [short_name(n).lower() for n in self.lower]
        self.all = np.arange(len(names))
        self.lengths = np.fromiter((len(n) for n in names), dtype=np.int32, count=len(names))
        self._text: dict[bool, _Text] = {}  # by smart case: exact (True) or lower-case names
        # (query, smart) -> (hits, where each hit's greedy match ends): typing one more
        # character extends the longest known prefix. Recent results serve backspace at once.
        self._matches: OrderedDict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._recent: OrderedDict[tuple[str, bool, int], np.ndarray] = OrderedDict()
        self._substrings: OrderedDict[str, np.ndarray] = OrderedDict()

    def _joined(self, smart: bool) -> _Text:
        text = self._text.get(smart)
        if text is None:
            text = self._text[smart] = _Text(self.names if smart else self.lower)
        return text

    def warm(self) -> None:
        """Compute what the first keystrokes need, ahead of them (from a background thread)."""
        text = self._joined(False)
        for c in WARM_CHARS:
            text.occurrences(c)
            time.sleep(0.002)  # let the UI thread (and a keystroke) have the interpreter

    def ready(self, query: str) -> bool:
        """Whether `query` is answered in a few milliseconds (tables built, or a known result):
        then a caller may search on its own thread rather than in a worker."""
        query = query.strip()
        if not query:
            return True
        smart = any(c.isupper() for c in query)
        text = self._text.get(smart)
        q = query if smart else query.lower()
        return text is not None and all(text.has(c) for c in set(q))

    # -- matching -------------------------------------------------------------------------
    def _match(self, q: str, smart: bool) -> np.ndarray:
        """Indexes of the names holding q as a subsequence, in table order."""
        text = self._joined(smart)
        if len(q) > text.longest:
            return self.all[:0]
        prefix = next((q[:n] for n in range(len(q), 0, -1) if (q[:n], smart) in self._matches), "")
        if prefix:
            hits, ends = self._matches[(prefix, smart)]
            self._matches.move_to_end((prefix, smart))
        else:
            hits, ends = self.all, text.starts
        for n in range(len(prefix), len(q)):
            occ = text.occurrences(q[n])
            if not len(hits) or not len(occ):
                hits, ends = self.all[:0], text.starts[:0]
                break
            i = np.searchsorted(occ, ends)
            found = occ[np.minimum(i, len(occ) - 1)]
            ok = (i < len(occ)) & (found < text.ends[hits])
            hits, ends = hits[ok], found[ok] + 1
            self._matches[(q[: n + 1], smart)] = (hits, ends)
        while len(self._matches) > RECENT:
            self._matches.popitem(last=False)
        return hits

    def _contiguous(self, ql: str, hits: np.ndarray) -> np.ndarray:
        """Which of the hits hold ql as a substring (lower-case), found by filtering the
        occurrences of ql minus its last letter."""
        text = self._joined(False)
        found = self._substrings.get(ql)
        if found is None:
            if len(ql) == 1:
                found = text.occurrences(ql)
            else:
                prev = self._substring_starts(ql[:-1], text)
                prev = prev[prev + len(ql) - 1 < len(text.codes)]
                found = prev[text.codes[prev + len(ql) - 1] == ord(ql[-1])]
            self._substrings[ql] = found
            while len(self._substrings) > RECENT:
                self._substrings.popitem(last=False)
        inside = np.zeros(len(self.names), dtype=bool)
        inside[text.line_of(found)] = True
        return inside[hits]

    def _prefixed(self, ql: str, hits: np.ndarray) -> np.ndarray:
        """Which of the hits start with ql (lower-case): `main.` is a package's prefix, and that
        package's functions come before runtime.main.func1."""
        text = self._joined(False)
        starts = self._substring_starts(ql, text)
        return np.isin(text.starts, starts, assume_unique=True)[hits]

    def _substring_starts(self, ql: str, text: _Text) -> np.ndarray:
        if len(ql) == 1:
            return text.occurrences(ql)
        found = self._substrings.get(ql)
        if found is None:
            prev = self._substring_starts(ql[:-1], text)
            prev = prev[prev + len(ql) - 1 < len(text.codes)]
            found = self._substrings[ql] = prev[text.codes[prev + len(ql) - 1] == ord(ql[-1])]
        return found

    # -- searching ------------------------------------------------------------------------
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
        result = self._rank(query, smart, scope)
        self._recent[key] = result
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return result

    def _rank(self, query: str, smart: bool, scope: int) -> np.ndarray:
        hits = self._match(query if smart else query.lower(), smart)
        if scope != EVERYTHING:
            hits = hits[self.tier[hits] <= scope]
        if len(hits) == 0:
            return hits
        ql = query.lower()
        contiguous = np.ones(len(hits), dtype=bool) if len(ql) == 1 else self._contiguous(ql, hits)
        prefixed = self._prefixed(ql, hits)
        if len(hits) > PRECISE_LIMIT:  # short queries: cheap ranking keeps keystrokes fast
            # one 16-bit key (not prefixed, not contiguous, tier, length): sorted by radix, stably
            key = (
                np.minimum(self.lengths[hits], 2047).astype(np.uint16)
                | (self.tier[hits].astype(np.uint16) << 11)
                | ((~contiguous).astype(np.uint16) << 13)
                | ((~prefixed).astype(np.uint16) << 14)
            )
            return hits[np.argsort(key, kind="stable")]
        lower, short = self.lower, self.short
        part = process.cdist(
            [ql], [lower[i] for i in hits], scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1
        )[0]
        in_short = process.cdist(
            [ql], [short[i] for i in hits], scorer=fuzz.partial_ratio, dtype=np.int32, workers=-1
        )[0]
        score = part + in_short // 2 + contiguous * 50
        return hits[np.lexsort((self.lengths[hits], self.tier[hits], -score, ~prefixed))]
