"""Entry/return pairing per goroutine, at any depth, under one global memory bound.

Each key (process, goroutine) has a stack of pending entries stored as a flat array of
(function id, timestamp) pairs: 16 bytes an entry, so the default bound of 2,000,000 pending
entries costs at most ~32 MB plus ~100 bytes per goroutine. When the bound is reached the
oldest entry of the deepest-growing stack goes; its return then finds nothing and is counted
in `unmatched`, never paired with the wrong entry.
"""

from __future__ import annotations

from array import array

PENDING_LIMIT = 2_000_000
PAYLOAD_LIMIT = 200_000  # pending entries that keep their arguments (for the slowest call)


class Pairing:
    def __init__(self, limit: int = PENDING_LIMIT, payloads: bool = False) -> None:
        """payloads: keep what each entry carries (its arguments) until its return, for up
        to PAYLOAD_LIMIT pending entries; beyond, entries keep none (None)."""
        self.limit = limit
        self._payloads: dict[tuple[int, int], list] | None = {} if payloads else None
        self.pending = 0
        self.evicted = 0  # entries dropped to stay within the bound
        self.unmatched = 0  # returns whose entry was never seen (or was evicted)
        self.abandoned = 0  # entries skipped by a return further out (panic, Goexit)
        self._stacks: dict[tuple[int, int], array] = {}
        self._ids: dict[str, int] = {}

    def _id(self, function: str) -> int:
        fid = self._ids.get(function)
        if fid is None:
            fid = self._ids[function] = len(self._ids)
        return fid

    def push(self, key: tuple[int, int], function: str, ts: int, payload: object = None) -> None:
        stack = self._stacks.get(key)
        if stack is None:
            stack = self._stacks[key] = array("q")
        stack.append(self._id(function))
        stack.append(ts)
        if self._payloads is not None:
            self._payloads.setdefault(key, []).append(payload if self.pending < PAYLOAD_LIMIT else None)
        self.pending += 1
        if self.pending > self.limit:
            self._evict(key, stack)

    def _evict(self, key: tuple[int, int], stack: array) -> None:
        """Drop one entry: the bottom of this stack, or of the oldest other one."""
        if len(stack) <= 2:
            key = next(k for k in self._stacks if k != key)
            stack = self._stacks[key]
        del stack[0:2]
        if self._payloads is not None:
            del self._payloads[key][0]
        if not stack:
            del self._stacks[key]
            if self._payloads is not None:
                del self._payloads[key]
        self.pending -= 1
        self.evicted += 1

    def on_top(self, key: tuple[int, int], function: str) -> bool:
        stack = self._stacks.get(key)
        return stack is not None and len(stack) > 0 and stack[-2] == self._ids.get(function)

    def pop(self, key: tuple[int, int], function: str) -> int | None:
        """The entry timestamp for this return, or None (the stack is then left alone)."""
        found = self.pop_entry(key, function)
        return None if found is None else found[0]

    def pop_entry(self, key: tuple, function: str, count: bool = True) -> tuple[int, object] | None:
        """(entry timestamp, its payload) for this return, or None (counted as unmatched
        unless count=False: a return whose entry was filtered out is expected)."""
        stack = self._stacks.get(key)
        fid = self._ids.get(function)
        if stack is None or fid is None:
            self.unmatched += count
            return None
        for i in range(len(stack) - 2, -1, -2):
            if stack[i] == fid:
                ts = stack[i + 1]
                skipped = (len(stack) - i) // 2 - 1
                del stack[i:]
                payload = None
                if self._payloads is not None:
                    plist = self._payloads[key]
                    payload = plist[i // 2]
                    del plist[i // 2 :]
                self.abandoned += skipped
                self.pending -= skipped + 1
                if not stack:
                    del self._stacks[key]
                    if self._payloads is not None:
                        del self._payloads[key]
                return ts, payload
        self.unmatched += count
        return None
