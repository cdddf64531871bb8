"""A function's control flow: its basic blocks and the edges between them (capstone).

Used to find where an inlined call can be probed so that the probe fires exactly once per
call. Edges that are not known make the graph `closed` False, and then no such place is
claimed. Go's jump tables (amd64 `jmp [table + i*8]` after `lea table`) are read from the
file; a `jmp reg` is a tail call (Go emits jump tables only in the memory form).
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.disasm import Instructions, disassemble

MAX_TABLE = 4096  # entries read from one jump table
_TABLE_JUMP = re.compile(r"qword ptr \[(\w+) \+ \w+\*8\]$")
_RIP_LEA = re.compile(r"(\w+), \[rip ([+-]) (0x[0-9a-f]+|\d+)\]$")
_AMD64_ENDS = {"ret", "retq", "ud2", "int3", "hlt"}
_ARM64_ENDS = {"ret", "brk", "udf", "hlt"}
_ARM64_COND = ("b.", "cbz", "cbnz", "tbz", "tbnz")
# arch -> (mnemonics, a prefix) of every instruction _kind() or a call can say something of
_TRANSFERS = {
    "amd64": (frozenset({"jmp", "jmpq", "call", "callq", "loop", "loope", "loopne", *_AMD64_ENDS}), "j"),
    "arm64": (frozenset({"b", "bl", "br", "cbz", "cbnz", "tbz", "tbnz", *_ARM64_ENDS}), "b."),
}


@dataclass
class FlowGraph:
    entry: int
    starts: list[int]  # block start addresses, ascending
    succ: dict[int, set[int]] = field(default_factory=dict)  # block -> successor blocks
    pred: dict[int, set[int]] = field(default_factory=dict)
    closed: bool = True  # every edge is known
    panics: set[int] = field(default_factory=set)  # blocks that end calling a no-return function
    last: dict[int, int] = field(default_factory=dict)  # block -> its last instruction's address
    addresses: list[int] = field(default_factory=list)  # every instruction start, ascending
    code: Instructions | None = None  # the instructions, parallel to `addresses`

    def _at(self, pc: int) -> int:
        """The index of the instruction starting at pc, or -1."""
        i = bisect_right(self.addresses, pc) - 1
        return i if i >= 0 and self.addresses[i] == pc else -1

    def is_instruction(self, pc: int) -> bool:
        return self._at(pc) >= 0

    def mnemonic(self, pc: int) -> str:
        """The mnemonic of the instruction starting at pc ("" if none does)."""
        i = self._at(pc)
        return self.code.mnemonic(i) if i >= 0 and self.code is not None else ""

    def operands(self, pc: int) -> str:
        i = self._at(pc)
        return self.code.operands(i) if i >= 0 and self.code is not None else ""

    def instructions(self, block: int) -> list[int]:
        """The instruction starts of a block."""
        at = bisect_right(self.starts, block)
        end = self.starts[at] if at < len(self.starts) else 1 << 64
        lo = bisect_right(self.addresses, block - 1)
        hi = bisect_right(self.addresses, end - 1)
        return self.addresses[lo:hi]

    def block_of(self, pc: int) -> int:
        return self.starts[bisect_right(self.starts, pc) - 1]

    def lone_nop(self, pc: int) -> bool:
        """A NOP instruction at `pc` that does not follow a call (the compiler puts a NOP
        after some calls, for tracebacks: that one belongs to the call)."""
        i = self._at(pc)
        if i < 0 or self.code is None or self.code.mnemonic(i) != "nop":
            return False
        return i == 0 or self.code.mnemonic(i - 1) not in ("call", "bl", "blr")

    def reachable_without(self, avoid: int) -> set[int]:
        """Blocks reachable from the entry on paths that never pass `avoid` (so `avoid`
        dominates every block not in the answer)."""
        if avoid == self.entry:
            return set()
        seen, todo = {self.entry}, [self.entry]
        while todo:
            for nxt in self.succ.get(todo.pop(), ()):
                if nxt != avoid and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def reachable_within(self, start: int, region: set[int], inside=lambda pc: True) -> set[int]:
        """Blocks of `region` reachable from `start`'s successors without leaving it, by
        edges whose branch (the block's last instruction) is `inside`."""
        seen: set[int] = set()
        todo = [start]
        while todo:
            block = todo.pop()
            if not inside(self.last.get(block, block)):
                continue
            for nxt in self.succ.get(block, ()):
                if nxt in region and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def always_reaches(self, start: int, goal: int) -> bool:
        """Whether every path from `start` meets `goal` before it returns, loops back to
        `start` or leaves the function (a path that ends in a panic never returns, so it
        does not count against)."""
        seen, todo = {start}, [start]
        while todo:
            block = todo.pop()
            succ = self.succ.get(block, ())
            if not succ and block not in self.panics:
                return False
            for nxt in succ:
                if nxt == start:
                    return False
                if nxt != goal and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return True

    def blocks_in(self, start: int, end: int) -> list[int]:
        """Blocks holding any byte of [start, end)."""
        lo = bisect_right(self.starts, start) - 1
        hi = bisect_right(self.starts, end - 1)
        return self.starts[max(lo, 0) : hi]


# Runtime functions that never return: a call of one ends its block (the bounds checks' panic
# calls sit one after another at a function's end, and none falls into the next).
_NORETURN_PREFIXES = ("runtime.panic", "runtime.goPanic")
_NORETURN = frozenset(
    {"runtime.gopanic", "runtime.throw", "runtime.fatal", "runtime.fatalthrow", "runtime.fatalpanic"}
)
_RETURNING = frozenset({"runtime.panicCheck1", "runtime.panicCheck2"})  # they may return
_noreturn_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def noreturn_entries(binary: GoBinary) -> frozenset[int]:
    found = _noreturn_cache.get(binary)
    if found is None:
        fns = binary.functions
        found = frozenset(
            int(fns.entry[i])
            for i, name in enumerate(fns.names)
            if (name in _NORETURN or name.startswith(_NORETURN_PREFIXES)) and name not in _RETURNING
        )
        _noreturn_cache[binary] = found
    return found


def flow_graph(binary: GoBinary, fn: Function) -> FlowGraph:
    arch = binary.arch
    code = binary.code(fn)
    noreturn = noreturn_entries(binary)
    panic_calls: set[int] = set()
    graph = FlowGraph(fn.entry, [])
    insns = graph.code = disassemble(arch, code, fn.entry)
    if not len(insns):
        graph.closed = False
        return graph
    addresses = graph.addresses = insns.address.tolist()
    sizes = insns.size
    # (address, size, targets inside the function, whether control can fall through)
    branches: list[tuple[int, int, list[int], bool]] = []
    # Only these can transfer control (or call a no-return function): the rest are never
    # looked at one by one (asking each instruction was most of a graph's time).
    exact, prefix = _TRANSFERS[arch] if arch in _TRANSFERS else _TRANSFERS["arm64"]
    for k in np.flatnonzero(insns.mnemonic_in(exact, prefix)).tolist():
        addr, mnemonic, ops = addresses[k], insns.mnemonic(k), insns.operands(k)
        kind = _kind(arch, mnemonic, ops)
        if kind is None and mnemonic in ("call", "bl") and _direct_target(ops) in noreturn:
            kind = "exit"
            panic_calls.add(addr)
        if kind is None:
            continue
        targets: list[int] = []
        if kind in ("cond", "jump"):
            target = _direct_target(ops)
            if target is not None and fn.entry <= target < fn.end:
                targets.append(target)
        elif kind == "table":
            found = _table_targets(binary, graph, k, fn)
            if found is None:
                graph.closed = False
            else:
                targets.extend(found)
        elif kind == "unknown":
            graph.closed = False
        branches.append((addr, int(sizes[k]), targets, kind == "cond"))
    decoded_end = addresses[-1] + int(sizes[-1])
    if decoded_end < fn.end and code[decoded_end - fn.entry :].strip(b"\xcc\x00"):
        graph.closed = False  # undecodable bytes that are not padding
    starts = {fn.entry}
    for addr, size, targets, _falls in branches:
        starts.update(targets)
        if addr + size < decoded_end:
            starts.add(addr + size)
    known = set(addresses)
    if not starts <= known:
        graph.closed = False  # a jump into the middle of an instruction: not code we know
        starts &= known
    graph.starts = sorted(starts)
    ends = {addr: (targets, falls) for addr, _size, targets, falls in branches}
    graph.succ = {start: set() for start in graph.starts}
    graph.pred = {start: set() for start in graph.starts}
    nexts = [*graph.starts[1:], decoded_end]
    # each block's last instruction: the one before the next block's start
    lasts = insns.address[np.searchsorted(insns.address, np.array(nexts, dtype=np.uint64)) - 1].tolist()
    for start, nxt, last in zip(graph.starts, nexts, lasts, strict=True):
        out: set[int] = set()
        if last in ends:  # a branch, or an instruction that stops (ret, ud2, a panic call)
            targets, falls = ends[last]
            out.update(t for t in targets if t in graph.pred)
            if falls and nxt in graph.pred:
                out.add(nxt)
        elif nxt in graph.pred:
            out.add(nxt)  # plain fall-through (a call returns to the next instruction)
        graph.succ[start] = out
        graph.last[start] = last
        if last in panic_calls:
            graph.panics.add(start)
        for t in out:
            graph.pred[t].add(start)
    return graph


def _kind(arch: str, mnemonic: str, ops: str) -> str | None:
    """'cond', 'jump', 'table', 'unknown', 'exit' for control transfers, else None."""
    if arch == "amd64":
        if mnemonic.startswith("j") and mnemonic not in ("jmp", "jmpq"):
            return "cond"  # jcc, jrcxz ...
        if mnemonic in ("jmp", "jmpq"):
            if _direct_target(ops) is not None:
                return "jump"
            return "table" if _TABLE_JUMP.search(ops) else "exit"
        if mnemonic.startswith("loop"):
            return "cond"
        return "exit" if mnemonic in _AMD64_ENDS else None
    if mnemonic == "b":
        return "jump"
    if mnemonic.startswith(_ARM64_COND):
        return "cond"
    if mnemonic == "br":
        return "unknown"  # a jump table or a tail call: not told apart here
    return "exit" if mnemonic in _ARM64_ENDS else None


def _direct_target(ops: str) -> int | None:
    text = ops.split(",")[-1].strip().lstrip("#")
    try:
        return int(text, 16) if text.startswith("0x") else None
    except ValueError:
        return None


def _table_targets(binary: GoBinary, graph: FlowGraph, k: int, fn: Function) -> list[int] | None:
    """The targets of `jmp [R + I*8]` (instruction k, the last decoded so far): R was loaded
    by `lea R, [rip + d]` shortly before."""
    insns = graph.code
    jump = _TABLE_JUMP.search(insns.operands(k)) if insns is not None else None
    if insns is None or jump is None:
        return None
    reg = jump.group(1)
    for i in range(k - 1, max(0, k - 12) - 1, -1):
        mnemonic, ops = insns.mnemonic(i), insns.operands(i)
        m = _RIP_LEA.match(ops) if mnemonic == "lea" else None
        if m and m.group(1) == reg:
            disp = int(m.group(3), 0) * (1 if m.group(2) == "+" else -1)
            return _read_table(binary, graph.addresses[i + 1] + disp, fn)
        if ops.startswith(reg + ",") or ops.startswith(reg + " "):
            return None  # R came from somewhere else
    return None


def _read_table(binary: GoBinary, table: int, fn: Function) -> list[int] | None:
    """Entries while they point into the function (a PIE's are relocations)."""
    ptr = binary.elf.ptrsize
    seg = binary.elf.segment_for(table, ptr)
    if seg is None:
        return None
    data = binary.elf.read_linked(table, min(ptr * MAX_TABLE, seg.vaddr + seg.filesz - table))
    if data is None:
        return None
    out = []
    for i in range(0, len(data) - ptr + 1, ptr):
        target = int.from_bytes(data[i : i + ptr], binary.elf.byteorder)
        if not fn.entry <= target < fn.end:
            break
        out.append(target)
    return out or None
