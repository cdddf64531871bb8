"""Where to probe an inlined call so that the probe fires exactly once per call.

Not the inline mark in general: when the compiler found another instruction at the call's
line, that one became the mark, wherever it is (Go 1.19 and 1.21 hoist one above the branch
that makes the call: 30 hits for 20 calls). The rule, proven by tests/go/inline against the
program's own counts on Go 1.19-1.27, is `once_per_call`'s.
"""

from __future__ import annotations

from goprobe_tui.gobinary.binary import GoBinary
from goprobe_tui.gobinary.flow import FlowGraph, flow_graph
from goprobe_tui.gobinary.inline import InlineIndex, inline_index

MAX_GRAPHS = 4096  # control-flow graphs kept (one per function holding inlined calls)


class InlineProbes:
    """Probe addresses of a binary's inlined calls, with the flow graphs they need."""

    def __init__(self, binary: GoBinary, index: InlineIndex | None = None) -> None:
        self._b = binary
        self.index = index or inline_index(binary)
        self._graphs: dict[int, FlowGraph] = {}

    def address(self, row: int) -> tuple[int | None, str]:
        """Where a probe fires once per call of this inlined call, or (None, why not)."""
        fn = int(self.index.fn[row])
        graph = self._graphs.get(fn)
        if graph is None:
            if len(self._graphs) > MAX_GRAPHS:
                self._graphs.clear()
            graph = self._graphs[fn] = flow_graph(self._b, self._b.functions[fn])
        mark = int(self.index.address[row])
        return once_per_call(graph, self.index.code_ranges(row), mark, graph.lone_nop(mark))


def once_per_call(graph: FlowGraph, body: list[tuple[int, int]], mark: int,
                  mark_is_nop: bool) -> tuple[int | None, str]:
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
    entered = sorted(b for b in blocks
                     if b == graph.entry or any(p not in blocks for p in graph.pred[b]))
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
        if all(graph.always_reaches(b, head) or (early and _only_loads(graph, b, inside))
               for b in before):
            return head, ""
    if len(entered) == 1 and looped:
        return None, "its first block is also reached from inside it (a loop)"
    return None, f"its code is entered at {len(entered)} places, none of them first on every path"


_LOADS = frozenset({"mov", "movabs", "movzx", "movsx", "movsxd", "lea", "nop", "movups", "movss", "movsd",
                    "movq", "movd", "ldr", "ldrb", "ldrh", "ldrsw", "ldur", "ldp"})


def _only_loads(graph: FlowGraph, block: int, inside) -> bool:
    """Whether the call's code in `block` only loads values into registers: it does nothing
    (no store, no call, no branch, no flags) that a call is known by."""
    for pc in graph.instructions(block):
        if not inside(pc):
            continue
        mnemonic, ops = graph.mnemonics.get(pc, ""), graph.operands.get(pc, "")
        if mnemonic not in _LOADS or "[" in ops.split(",")[0]:
            return False
    return True
