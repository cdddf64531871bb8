"""Where to probe an inlined call so that the probe fires exactly once per call.

Not the inline mark in general: when the compiler found another instruction at the call's
line, that one became the mark, wherever it is (Go 1.19 and 1.21 hoist one above the branch
that makes the call: 30 hits for 20 calls). The rule, proven by tests/go/inline against the
program's own counts on Go 1.19-1.27, is `once_per_call`'s.
"""

from __future__ import annotations

import numpy as np

from goprobe_tui import cache
from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.flow import FlowGraph, flow_graph
from goprobe_tui.gobinary.inline import InlineIndex, inline_index

MAX_GRAPHS = 4096  # control-flow graphs kept (one per function holding inlined calls)
PLACES_KIND, PLACES_FORMAT = "inline-places", 1  # the disk cache of worked-out places


class InlineProbes:
    """Probe addresses of a binary's inlined calls, with the flow graphs they need. What is
    worked out is kept on disk (cache.py, keyed like the inline index): a second attach of the
    same functions plans without disassembling anything."""

    def __init__(self, binary: GoBinary, index: InlineIndex | None = None, use_cache: bool = True) -> None:
        self._b = binary
        self.index = index or inline_index(binary)
        self._graphs: dict[int, FlowGraph] = {}
        self._identity = (PLACES_FORMAT, *binary.cache_key) if use_cache else None
        self._known: dict[int, tuple[int | None, str]] = self._load() if use_cache else {}
        self._fresh = 0  # answers worked out since the last save

    def address(self, row: int) -> tuple[int | None, str]:
        """Where a probe fires once per call of this inlined call, or (None, why not)."""
        known = self._known.get(row)
        if known is None:
            known = self._known[row] = self._work_out(row)
            self._fresh += 1
        return known

    def save(self) -> None:
        """Keep what was worked out (nothing to do when nothing new was)."""
        if not self._fresh or self._identity is None:
            return
        self._fresh = 0
        rows = np.fromiter(self._known, dtype=np.int64, count=len(self._known))
        answers = [self._known[int(r)] for r in rows.tolist()]
        reasons = sorted({why for _a, why in answers})
        code = {why: i for i, why in enumerate(reasons)}
        addresses = np.array([-1 if a is None else a for a, _w in answers], dtype=np.int64)
        why_ids = np.array([code[w] for _a, w in answers], dtype=np.int32)
        text = np.frombuffer("\0".join(reasons).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        cache.store(
            PLACES_KIND,
            self._identity,
            lambda f: np.savez(f, rows=rows, addresses=addresses, why=why_ids, reasons=text),
        )

    def _load(self) -> dict[int, tuple[int | None, str]]:
        """What an earlier run worked out; {} for a file that does not fit this binary."""
        path = cache.load(PLACES_KIND, self._identity) if self._identity is not None else None
        if path is None:
            return {}
        try:
            with np.load(path, allow_pickle=False) as z:
                rows = np.asarray(z["rows"], dtype=np.int64)
                addresses = np.asarray(z["addresses"], dtype=np.int64)
                why = np.asarray(z["why"], dtype=np.int64)
                reasons = z["reasons"].tobytes().decode("utf-8", "surrogatepass").split("\0")
        except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError):
            return {}
        n = len(self.index.fn)
        if not (len(rows) == len(addresses) == len(why)) or len(rows) > n:
            return {}
        if len(rows) and (rows.min() < 0 or rows.max() >= n or why.min() < 0 or why.max() >= len(reasons)):
            return {}
        fns = self._b.functions
        holder = self.index.fn[rows].astype(np.int64)
        inside = (addresses >= fns.entry[holder].astype(np.int64)) & (
            addresses < fns.end[holder].astype(np.int64)
        )
        if not ((addresses == -1) | inside).all():
            return {}  # an address outside its function: not this binary's answers
        return {
            r: (None if a == -1 else a, reasons[w])
            for r, a, w in zip(rows.tolist(), addresses.tolist(), why.tolist(), strict=True)
        }

    def _work_out(self, row: int) -> tuple[int | None, str]:
        fn = int(self.index.fn[row])
        graph = self._graphs.get(fn)
        if graph is None:
            if len(self._graphs) > MAX_GRAPHS:
                self._graphs.clear()
            graph = self._graphs[fn] = flow_graph(self._b, self._b.functions[fn])
        mark = int(self.index.address[row])
        return once_per_call(graph, self.index.code_ranges(row), mark, graph.lone_nop(mark))


def once_per_call(
    graph: FlowGraph, body: list[tuple[int, int]], mark: int, mark_is_nop: bool
) -> tuple[int | None, str]:
    """An address that runs exactly once per inlined call, or (None, why not).

    The compiler emits a NOP at the call's point in the caller's control flow, ordered with
    memory so that it never leaves its block: when the mark is that NOP, it is the place.
    When the compiler found another instruction at the call's line, that one became the mark
    instead, wherever it is (one hoisted before a branch included): then the call's code
    (`body`: its own and that of the calls inlined into it) must be entered at one block only,
    never re-entered from inside, and that block's first instruction is the place."""
    if mark_is_nop:
        return mark, ""
    if not graph.closed:
        return None, "its function has jumps whose targets are unknown"
    blocks = {b for start, end in body for b in graph.blocks_in(start, end)}
    if not blocks:
        return None, "no code of its own"
    entered = sorted(b for b in blocks if b == graph.entry or any(p not in blocks for p in graph.pred[b]))

    # One entry runs once per call if the call's own code never leads back to it (a loop
    # inside the call), and each block of the call's code either comes after it on every
    # path from the function's start (it dominates them) or leads to it on every path (an
    # argument loaded early, on one branch or at the end of the loop before). Entered at
    # several places: the compiler moved part of the call's code away (a tail after the
    # caller's own code, a shared exit, such an early load).
    def inside(pc: int) -> bool:
        return any(start <= pc < end for start, end in body)

    looped = False
    for head in entered:
        # a way back to it by the call's own branches (the caller's loop is a new call)
        if head in graph.reachable_within(head, blocks, inside):
            looped = True
            continue
        before = blocks & graph.reachable_without(head)
        # a block that only loads may be an argument read early for a call that then does
        # not happen; but where the head only loads too, both may be copies of one getter
        early = not _only_loads(graph, head, inside)
        if all(graph.always_reaches(b, head) or (early and _only_loads(graph, b, inside)) for b in before):
            return head, ""
    if len(entered) == 1 and looped:
        return None, "its first block is also reached from inside it (a loop)"
    return None, f"its code is entered at {len(entered)} places, none of them first on every path"


_LOADS = frozenset(
    {
        "mov",
        "movabs",
        "movzx",
        "movsx",
        "movsxd",
        "lea",
        "nop",
        "movups",
        "movss",
        "movsd",
        "movq",
        "movd",
        "ldr",
        "ldrb",
        "ldrh",
        "ldrsw",
        "ldur",
        "ldp",
    }
)


def _only_loads(graph: FlowGraph, block: int, inside) -> bool:
    """Whether the call's code in `block` only loads values into registers: it does nothing
    (no store, no call, no branch, no flags) that a call is known by."""
    for pc in graph.instructions(block):
        if not inside(pc):
            continue
        mnemonic, ops = graph.mnemonic(pc), graph.operands(pc)
        if mnemonic not in _LOADS or "[" in ops.split(",")[0]:
            return False
    return True
