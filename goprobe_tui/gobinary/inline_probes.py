"""Where to probe an inlined call so that the probe fires exactly once per call.

Not the inline mark in general: when the compiler found another instruction at the call's
line, that one became the mark, wherever it is (Go 1.19 and 1.21 hoist one above the branch
that makes the call: 30 hits for 20 calls). The rule, proven by tests/go/inline against the
program's own counts on Go 1.19-1.27, is `once_per_call`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from goprobe_tui import cache
from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.flow import FlowGraph, flow_graph
from goprobe_tui.gobinary.frame_pointer import frame_set_at
from goprobe_tui.gobinary.inline import InlineIndex, inline_index

MAX_GRAPHS = 4096  # control-flow graphs kept (one per function holding inlined calls)
PLACES_KIND, PLACES_FORMAT = "inline-places", 2  # the disk cache of worked-out places
UNKNOWN_SP, NO_SP = -2, -1  # a place's stack depth not worked out yet / not known (pcsp)
MAX_SP = 1 << 20


class InlineProbes:
    """Probe addresses of a binary's inlined calls, with the flow graphs they need, each
    place's stack depth (pcsp) and where each holding function has set its frame pointer.
    What is worked out is kept on disk (cache.py, keyed like the inline index): a second
    attach of the same functions plans without disassembling or decoding anything."""

    def __init__(self, binary: GoBinary, index: InlineIndex | None = None, use_cache: bool = True) -> None:
        self._b = binary
        self.index = index or inline_index(binary)
        self._graphs: dict[int, FlowGraph] = {}
        self._identity = (PLACES_FORMAT, *binary.cache_key) if use_cache else None
        self._sp: dict[int, int] = {}  # row -> bytes pushed at its place (NO_SP: unknown)
        self._frames: dict[int, int | None] = {}  # function index -> frame_set_at
        self._sites: dict[int, tuple[str, int]] = {}  # row -> file:line of the call
        self._known: dict[int, tuple[int | None, str]] = self._load() if use_cache else {}
        self._fresh = 0  # answers worked out since the last save

    def address(self, row: int) -> tuple[int | None, str]:
        """Where a probe fires once per call of this inlined call, or (None, why not)."""
        known = self._known.get(row)
        if known is None:
            known = self._known[row] = self._work_out(row)
            self._fresh += 1
        return known

    def pushed(self, row: int, load: Callable[[], int | None]) -> int | None:
        """The bytes the holding function has pushed at this row's place: kept, else load()."""
        sp = self._sp.get(row, UNKNOWN_SP)
        if sp == UNKNOWN_SP:
            found = load()
            sp = self._sp[row] = NO_SP if found is None or not 0 <= found < MAX_SP else found
            self._fresh += 1
        return None if sp == NO_SP else sp

    def call_site(self, row: int) -> tuple[str, int]:
        """file:line of an inlined call (InlineIndex.call_site), kept."""
        found = self._sites.get(row)
        if found is None:
            found = self._sites[row] = self.index.call_site(row)
            self._fresh += 1
        return found

    def frame_ready(self, holder: int) -> int | None:
        """Where the holding function has set its frame pointer (frame_pointer.frame_set_at)."""
        if holder not in self._frames:
            self._frames[holder] = frame_set_at(self._b, self._b.functions[holder])
            self._fresh += 1
        return self._frames[holder]

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
        sps = np.array([self._sp.get(r, UNKNOWN_SP) for r in rows.tolist()], dtype=np.int64)
        holders = np.fromiter(self._frames, dtype=np.int64, count=len(self._frames))
        ready = np.array(
            [-1 if self._frames[h] is None else self._frames[h] for h in holders.tolist()], dtype=np.int64
        )
        text = np.frombuffer("\0".join(reasons).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        site_rows = np.fromiter(self._sites, dtype=np.int64, count=len(self._sites))
        files = sorted({f for f, _l in self._sites.values()})
        file_id = {f: i for i, f in enumerate(files)}
        site_files = np.array([file_id[self._sites[r][0]] for r in site_rows.tolist()], dtype=np.int64)
        site_lines = np.array([self._sites[r][1] for r in site_rows.tolist()], dtype=np.int64)
        file_text = np.frombuffer("\0".join(files).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        cache.store(
            PLACES_KIND,
            self._identity,
            lambda f: np.savez(
                f,
                rows=rows,
                addresses=addresses,
                why=why_ids,
                reasons=text,
                sp=sps,
                holders=holders,
                ready=ready,
                site_rows=site_rows,
                site_files=site_files,
                site_lines=site_lines,
                files=file_text,
            ),
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
                sps = np.asarray(z["sp"], dtype=np.int64)
                holders = np.asarray(z["holders"], dtype=np.int64)
                ready = np.asarray(z["ready"], dtype=np.int64)
                site_rows = np.asarray(z["site_rows"], dtype=np.int64)
                site_files = np.asarray(z["site_files"], dtype=np.int64)
                site_lines = np.asarray(z["site_lines"], dtype=np.int64)
                files = z["files"].tobytes().decode("utf-8", "surrogatepass").split("\0")
        except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError):
            return {}
        n = len(self.index.fn)
        if not (len(rows) == len(addresses) == len(why) == len(sps)) or len(rows) > n:
            return {}
        if len(rows) and (rows.min() < 0 or rows.max() >= n or why.min() < 0 or why.max() >= len(reasons)):
            return {}
        if len(sps) and (sps.min() < UNKNOWN_SP or sps.max() >= MAX_SP):
            return {}
        fns = self._b.functions
        holder = self.index.fn[rows].astype(np.int64)
        inside = (addresses >= fns.entry[holder].astype(np.int64)) & (
            addresses < fns.end[holder].astype(np.int64)
        )
        if not ((addresses == -1) | inside).all():
            return {}  # an address outside its function: not this binary's answers
        if len(holders) != len(ready) or (len(holders) and (holders.min() < 0 or holders.max() >= len(fns))):
            return {}
        ready_inside = (ready >= fns.entry[holders].astype(np.int64)) & (
            ready < fns.end[holders].astype(np.int64)
        )
        if not ((ready == -1) | ready_inside).all():
            return {}  # a frame set outside its function: not this binary's answers
        if not len(site_rows) == len(site_files) == len(site_lines) or (
            len(site_rows)
            and (
                site_rows.min() < 0
                or site_rows.max() >= n
                or site_files.min() < 0
                or site_files.max() >= len(files)
                or site_lines.min() < 0
                or site_lines.max() >= 1 << 31
            )
        ):
            return {}
        self._sites = {
            r: (files[f], ln)
            for r, f, ln in zip(site_rows.tolist(), site_files.tolist(), site_lines.tolist(), strict=True)
        }
        self._sp = {r: sp for r, sp in zip(rows.tolist(), sps.tolist(), strict=True) if sp != UNKNOWN_SP}
        self._frames = {
            h: None if r == -1 else r for h, r in zip(holders.tolist(), ready.tolist(), strict=True)
        }
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
