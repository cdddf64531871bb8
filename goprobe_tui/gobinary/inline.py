"""Every call the compiler inlined, from the pclntab alone (stripped binaries too).

Each function's FUNCDATA_InlTree lists the calls inlined into it; PCDATA_InlTreeIndex says
which of its pcs run which inlined call. A call's `parentPc` is its inline mark: an
instruction of the caller at the call's line (tracebacks use it). Several calls can share one
mark (`f(x) + f(y)` on one line); a mark can be the caller's first instruction. Where a
probe fires once per call is inline_probes.py's question. A call whose body folded away
entirely leaves no entry: it cannot be seen.

Tables before Go 1.16 are not read (their _func records differ per release): no calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from goprobe_tui import cache
from goprobe_tui.gobinary import pcvalue
from goprobe_tui.gobinary.binary import Function, FunctionTable, GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.funcdata import FUNCDATA_INLTREE, PCDATA_INLTREEINDEX, FuncData

CACHE_FORMAT = "inline-2"  # bump when the cached columns change meaning
MAX_DEPTH = 32  # inlining never nests this deep; bounds the walk on corrupt tables

# inlinedCall: Go 1.20+ {funcID u8, _ [3]u8, nameOff, parentPc, startLine int32} (16 bytes);
# Go 1.16-1.19 {parent int16, funcID u8, _ u8, file, line, nameOff, parentPc int32} (20)
_LAYOUT = {"1.20": (16, 4, 8, None), "1.18": (20, 12, 16, 0), "1.16": (20, 12, 16, 0)}


def inline_index(binary: GoBinary) -> InlineIndex:
    """The binary's index, built on first use (~0.4 s for 88,000 functions) and kept with it."""
    idx = getattr(binary, "_inline_index", None)
    if idx is None:
        idx = InlineIndex(binary)
        binary._inline_index = idx  # type: ignore[attr-defined]
    return idx


def inlined_only_functions(binary: GoBinary) -> list[Function]:
    """Functions that exist only inlined, by name, as Function rows after the table's."""
    return inline_index(binary).only_functions


def catalog(binary: GoBinary) -> FunctionTable:
    """Every traceable function: the pclntab's, then those that exist only inlined (no
    entry, no offset, no size, and no file:line here: declared_at finds one when asked)."""
    idx = inline_index(binary)
    fns = binary.functions
    only = sorted(idx.inlined_only())
    n = len(only)
    zeros = np.zeros(n, dtype=np.uint64)
    return FunctionTable(
        fns.names + only,
        np.concatenate([fns.entry, zeros]),
        np.concatenate([fns.end, zeros]),
        np.concatenate([fns.offset, np.full(n, -1, dtype=np.int64)]),
        fns.files + [""] * n,
        np.concatenate([fns.lines, np.zeros(n, dtype=fns.lines.dtype)]),
        np.concatenate([fns.func_off, np.full(n, -1, dtype=fns.func_off.dtype)]),
        np.concatenate([fns.args, np.zeros(n, dtype=fns.args.dtype)]),
        inlined_only_from=len(fns),
    )


def find_function(binary: GoBinary, name: str) -> Function | None:
    """GoBinary.find, and the functions that exist only inlined."""
    fn = binary.find(name)
    if fn is None and name in inline_index(binary).inlined_only():
        fn = next(f for f in inlined_only_functions(binary) if f.name == name)
    return fn


@dataclass(frozen=True)
class InlinedCall:
    """One call of `name` that the compiler inlined into the code of function `function`."""

    row: int  # in the index
    name: str
    function: int  # index of the out-of-line function whose code holds it
    address: int  # its inline mark
    parent: int  # row of the inlined call it sits in, -1 if directly in `function`


class InlineIndex:
    """All inlined calls of a binary, one row each, ordered by function then mark address."""

    def __init__(self, binary: GoBinary, use_cache: bool = True) -> None:
        """use_cache: read the rows from the disk cache when this binary's are there, and
        write them there when they had to be built."""
        self._b = binary
        self._funcdata = FuncData(binary)
        self._order = binary.pclntab.header.order
        empty = np.zeros(0, dtype=np.int64)
        self.fn, self.address, self.parent, self.name_id = empty, empty, empty, empty
        self.tree_index = empty  # the call's index in its function's inline tree
        self.names: list[str] = []
        self._name_off = empty  # of each name, in the pclntab
        self._runs = (empty, empty, empty, empty)  # while building: every function's runs
        self._fn_runs: dict[int, list[tuple[int, int, int]]] = {}
        layout = _LAYOUT.get(binary.pclntab.header.version)
        if layout is None or not len(binary.functions):
            return
        identity = (CACHE_FORMAT, *binary.cache_key)
        if use_cache and self._load(identity):
            return
        try:
            self._build(*layout)
        except (ValueError, IndexError, OverflowError) as exc:
            raise BinaryError(f"corrupt inline tree: {exc}") from None
        self._runs = (empty, empty, empty, empty)
        if use_cache:
            cache.store("inline", identity, self._save)

    # -- the disk cache (decoding every table costs ~0.25 s on 60,000 functions) -------
    def _save(self, f) -> None:
        small = {k: getattr(self, k).astype(np.int32) for k in ("fn", "tree_index", "parent", "name_id")}
        # the names themselves too: finding them in the pclntab costs more than reading them
        text = np.frombuffer("\0".join(self.names).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        np.savez(f, address=self.address, name_off=self._name_off, names=text, **small)

    def _load(self, identity: tuple) -> bool:
        path = cache.load("inline", identity)
        if path is None:
            return False
        try:
            with np.load(path, allow_pickle=False) as z:
                cols = {
                    k: np.asarray(z[k], dtype=np.int64)
                    for k in ("fn", "tree_index", "address", "parent", "name_id", "name_off")
                }
                names = z["names"].tobytes().decode("utf-8", "surrogatepass").split("\0")
        except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError):
            return False
        if len(names) != len(cols["name_off"]):
            return False
        if not self._plausible(cols):
            return False
        for key in ("fn", "tree_index", "address", "parent", "name_id"):
            setattr(self, key, cols[key])
        self._name_off = cols["name_off"]
        self.names = names
        return True

    def _plausible(self, cols: dict[str, np.ndarray]) -> bool:
        """A cache file is ours, but checked like any input: every row must make sense."""
        n, fns = len(cols["fn"]), self._b.functions
        if any(len(cols[k]) != n for k in ("tree_index", "address", "parent", "name_id")):
            return False
        if not n:
            return True
        fn = cols["fn"]
        if fn.min() < 0 or fn.max() >= len(fns):
            return False
        entry = np.asarray(fns.entry, dtype=np.int64)[fn]
        end = np.asarray(fns.end, dtype=np.int64)[fn]
        names = cols["name_off"]
        return bool(
            (cols["address"] >= entry).all()
            and (cols["address"] < end).all()
            and cols["parent"].min() >= -1
            and cols["parent"].max() < n
            and cols["name_id"].min() >= 0
            and cols["name_id"].max() < len(names)
            and names.min() >= 0
            and names.max() < len(self._b.pclntab.table)
        )

    # -- building -----------------------------------------------------------------
    def _build(self, size: int, name_at: int, parent_pc_at: int, parent_at: int | None) -> None:
        tab, fns = self._b.pclntab, self._b.functions
        trees = self._funcdata.all_addresses(FUNCDATA_INLTREE)
        tables = self._funcdata.all_pcdata_offsets(PCDATA_INLTREEINDEX)
        fn_ids = np.flatnonzero((trees >= 0) & (tables >= 0))
        entries = np.asarray(fns.entry, dtype=np.int64)
        t, start, end, value = pcvalue.decode_many(
            tab.table, tab.buf, tables[fn_ids], entries[fn_ids], tab.header.quantum
        )
        fn_of_run = fn_ids[t]
        self._runs = (fn_of_run, start - entries[fn_of_run], end - entries[fn_of_run], value)
        # the calls that own code, then (by their marks) the calls they sit in
        used = value >= 0
        keys = np.unique((fn_of_run[used] << 32) + value[used])
        fn, index = keys >> 32, keys & 0xFFFFFFFF
        records = self._records(trees, fn, index, size)
        for _ in range(MAX_DEPTH):
            parent = self._parents(records, fn, parent_pc_at, parent_at)
            wanted = np.unique(((fn << 32) + parent)[parent >= 0])
            new = wanted[~np.isin(wanted, (fn << 32) + index)]
            if not len(new):
                break
            fn = np.concatenate([fn, new >> 32])
            index = np.concatenate([index, new & 0xFFFFFFFF])
            records = np.concatenate([records, self._records(trees, new >> 32, new & 0xFFFFFFFF, size)])
        parent = self._parents(records, fn, parent_pc_at, parent_at)
        name_off = _u32(records, name_at, self._order) + tab.header.funcname_off
        parent_pc = _u32(records, parent_pc_at, self._order)
        sizes = np.asarray(fns.end, dtype=np.int64)[fn] - entries[fn]
        ok = (name_off < len(tab.table)) & (parent_pc >= 0) & (parent_pc < sizes)
        address = entries[fn] + parent_pc
        order = np.lexsort((index, address, fn))
        order = order[ok[order]]
        self.fn = fn[order]
        self.tree_index = index[order]
        self.address = address[order]
        # parents are tree indexes; rows are renumbered: find the row of (fn, parent)
        own = (self.fn << 32) + self.tree_index
        by_key = np.argsort(own, kind="stable")
        want = (self.fn << 32) + parent[order]
        at = np.minimum(np.searchsorted(own[by_key], want), len(own) - 1)
        found = (parent[order] >= 0) & (own[by_key][at] == want) if len(own) else want < 0
        self.parent = np.where(found, by_key[at] if len(own) else -1, -1).astype(np.int64)
        self._name_off, self.name_id = np.unique(name_off[order], return_inverse=True)
        self.name_id = self.name_id.ravel().astype(np.int64)
        self.names = tab.names(self._name_off)

    def _records(self, trees: np.ndarray, fn: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
        """The inlinedCall records, one row of `size` bytes each."""
        if not len(fn):
            return np.zeros((0, size), dtype=np.uint8)
        if index.min() < 0 or index.max() > 1 << 20:
            raise BinaryError("inline tree index out of range")
        vaddr = trees[fn] + index * size
        out = np.zeros((len(fn), size), dtype=np.uint8)
        elf = self._b.elf
        done = np.zeros(len(fn), dtype=bool)
        for seg in elf.segments:
            inside = (vaddr >= seg.vaddr) & (vaddr + size <= seg.vaddr + seg.filesz)
            if not inside.any():
                continue
            lo = int(vaddr[inside].min())
            hi = int(vaddr[inside].max()) + size
            region = np.frombuffer(elf.read_vaddr(lo, hi - lo), dtype=np.uint8)
            out[inside] = region[(vaddr[inside] - lo)[:, None] + np.arange(size)]
            done |= inside
        if not done.all():
            raise BinaryError("inline tree outside the file")
        return out

    def _parents(
        self, records: np.ndarray, fn: np.ndarray, parent_pc_at: int, parent_at: int | None
    ) -> np.ndarray:
        """Tree index of the call each call sits in, -1 for the function itself. Before Go
        1.20 a record says; since, it is the inline index in force at the call's mark."""
        if parent_at is not None:
            raw = records[:, parent_at : parent_at + 2].copy()
            return raw.view(self._order + "i2").ravel().astype(np.int64)
        return self._value_at(fn, _u32(records, parent_pc_at, self._order))

    def _value_at(self, fn: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The inline index of each function `fn` at byte `offset` from its entry (-1: none)."""
        run_fn, run_start, run_end, run_value = self._runs
        if not len(run_fn) or not len(fn):
            return np.full(len(fn), -1, dtype=np.int64)
        keys = (run_fn << 32) + run_start
        at = np.searchsorted(keys, (fn << 32) + offset, side="right") - 1
        ok = at >= 0
        at = np.maximum(at, 0)
        ok &= (run_fn[at] == fn) & (offset < run_end[at])
        return np.where(ok, run_value[at], -1)

    # -- queries ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.fn)

    def call(self, row: int) -> InlinedCall:
        return InlinedCall(
            row,
            self.names[int(self.name_id[row])],
            int(self.fn[row]),
            int(self.address[row]),
            int(self.parent[row]),
        )

    @cached_property
    def _rows_by_name(self) -> dict[str, np.ndarray]:
        order = np.argsort(self.name_id, kind="stable")
        bounds = np.searchsorted(self.name_id[order], np.arange(len(self.names) + 1))
        return {name: order[bounds[i] : bounds[i + 1]] for i, name in enumerate(self.names)}

    def calls_of(self, name: str) -> list[InlinedCall]:
        """Every inlined call of the function named `name`."""
        return [self.call(int(r)) for r in self._rows_by_name.get(name, ())]

    @cached_property
    def _counts(self) -> dict[str, int]:
        per = np.bincount(self.name_id, minlength=len(self.names))
        return dict(zip(self.names, per.tolist(), strict=True))

    def counts(self) -> dict[str, int]:
        """Inlined calls per function name."""
        return self._counts

    @cached_property
    def _only(self) -> dict[str, int]:
        bodies = set(self._b.functions.names)
        return {n: c for n, c in self._counts.items() if n not in bodies}

    def inlined_only(self) -> dict[str, int]:
        """Functions that exist only inlined (no out-of-line body), with their call counts."""
        return self._only

    @cached_property
    def only_functions(self) -> list[Function]:
        base = len(self._b.functions)
        return [
            Function(base + i, name, 0, 0, -1, "", 0, name, inlined_only=True)
            for i, name in enumerate(sorted(self._only))
        ]

    def row_of(self, fn: int, tree_index: int) -> int | None:
        """The row of function `fn`'s inlined call number `tree_index`, or None."""
        lo, hi = np.searchsorted(self.fn, [fn, fn + 1])  # rows are ordered by function
        hit = np.flatnonzero(self.tree_index[lo:hi] == tree_index)
        return int(lo + hit[0]) if len(hit) else None

    def chain(self, row: int) -> list[str]:
        """The callers a call was inlined through, innermost first, the out-of-line one last."""
        out = []
        parent = int(self.parent[row])
        for _ in range(MAX_DEPTH):
            if parent < 0:
                break
            out.append(self.names[int(self.name_id[parent])])
            parent = int(self.parent[parent])
        out.append(self._b.functions.names[int(self.fn[row])])
        return out

    def declared_at(self, name: str) -> tuple[str, int]:
        """file:line of a function's first inlined code ("", 0 if none): where it is."""
        for row in self._rows_by_name.get(name, ())[:1]:
            ranges = self.body_ranges(int(row))
            if ranges:
                return self.position(int(self.fn[row]), ranges[0][0])
        return "", 0

    def call_site(self, row: int) -> tuple[str, int]:
        """file:line of the call (the position of its mark)."""
        return self.position(int(self.fn[row]), int(self.address[row]))

    def position(self, fn: int, pc: int) -> tuple[str, int]:
        """file:line of `pc` in function `fn` (innermost inlined context); ("", 0) unknown."""
        fns = self._b.functions
        try:
            return self._b.pclntab.file_line(int(fns.func_off[fn]), int(fns.entry[fn]), pc)
        except (BinaryError, IndexError):
            return "", 0

    def frames(
        self, row: int, call_site: Callable[[int], tuple[str, int]] | None = None
    ) -> tuple[tuple[str, str, int], ...]:
        """Where a call sits: (the function it was inlined into, file, line of the call), then
        that call's own caller and position, out to the out-of-line function. call_site: where
        each call is known already (a cache), else it is read from the pc tables."""
        site = call_site or self.call_site
        out = []
        for _ in range(MAX_DEPTH):
            file, line = site(row)
            parent = int(self.parent[row])
            caller = (
                self.names[int(self.name_id[parent])]
                if parent >= 0
                else self._b.functions.names[int(self.fn[row])]
            )
            out.append((caller, file, line))
            if parent < 0:
                break
            row = parent
        return tuple(out)

    @cached_property
    def _children(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for row, parent in enumerate(self.parent.tolist()):
            if parent >= 0:
                out.setdefault(parent, []).append(row)
        return out

    def code_ranges(self, row: int) -> list[tuple[int, int]]:
        """The call's code: its own and that of the calls inlined into it."""
        out, todo = [], [row]
        for _ in range(1 << 16):
            if not todo:
                break
            r = todo.pop()
            out.extend(self.body_ranges(r))
            todo.extend(self._children.get(r, ()))
        return sorted(out)

    def body_ranges(self, row: int) -> list[tuple[int, int]]:
        """[start, end) addresses whose innermost inlined call is this one."""
        index = int(self.tree_index[row])
        return [(start, end) for start, end, value in self.runs(int(self.fn[row])) if value == index]

    def runs(self, fn: int) -> list[tuple[int, int, int]]:
        """(start, end, inline tree index) of function `fn`'s code, -1 for its own."""
        runs = self._fn_runs.get(fn)
        if runs is None:
            if len(self._fn_runs) > 4096:
                self._fn_runs.clear()
            tab, fns = self._b.pclntab, self._b.functions
            table = self._funcdata.pcdata_offset(fn, PCDATA_INLTREEINDEX)
            entry = int(fns.entry[fn])
            runs = (
                [] if table is None else list(pcvalue.iter_steps(tab.table, table, entry, tab.header.quantum))
            )
            self._fn_runs[fn] = runs
        return runs


def _u32(records: np.ndarray, at: int, order: str = "<") -> np.ndarray:
    return np.ascontiguousarray(records[:, at : at + 4]).view(order + "u4").ravel().astype(np.int64)
