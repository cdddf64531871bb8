"""Source lines to probe addresses, from the pclntab's line tables (stripped binaries too),
inlined copies of the line included.

A line's code is every pc whose file and line are that line's (pcfile, pcln), in every
function whose compile unit lists the file: the function of that file, and those it was
inlined into. Where a probe fires once per execution of the statement:
- with DWARF, the line table's `is_stmt` rows of the line (where the compiler says the
  statement begins);
- without, the first pc of each run of the line per function and inline context (a line
  whose code the compiler split into several runs fires once per run).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary import pcvalue
from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.inline import inline_index
from goprobe_tui.gobinary.pclntab import gather_u32

MAX_CANDIDATES = 12  # files listed when a suffix names several
# FILE:LINE, FILE a path suffix with an extension (`main.go:41`, `server/handler.go:88`)
LINE_SPEC = re.compile(r"^(?P<file>[^\s*?\[\]:]+\.\w+):(?P<line>\d+)$")


class LineError(BadInput):
    """A FILE:LINE that names no code: one line that says why."""


@dataclass(frozen=True)
class LineSite:
    address: int
    function: int  # index of the out-of-line function holding the pc
    inline: int  # the inline tree index at the pc (-1: the function's own code)


def is_line_spec(text: str) -> bool:
    return LINE_SPEC.match(text) is not None


def line_target(binary: GoBinary, spec: str) -> Function:
    """FILE:LINE as a probe target (a Function that is a source line), checked: LineError if
    the file is unknown or ambiguous, or the line has no code."""
    m = LINE_SPEC.match(spec)
    if m is None:
        raise LineError(f"{spec!r}: expected FILE:LINE, e.g. main.go:41")
    table = LineTable(binary)
    file, line = table.resolve(m.group("file")), int(m.group("line"))
    table.sites(file, line)
    key = f"{table.shortest_suffix(file)}:{line}"
    return Function(-1, key, 0, 0, -1, file, line, key, source_line=True)


class LineTable:
    def __init__(self, binary: GoBinary) -> None:
        self._b = binary
        self._tab = binary.pclntab

    # -- files --------------------------------------------------------------------
    def files(self) -> list[str]:
        """Every source file the line tables name."""
        tab, hdr = self._tab, self._tab.header
        if hdr.version == "1.2":
            offs = (
                gather_u32(tab.buf, hdr.filetab_off + 4 * np.arange(1, max(hdr.nfiles, 1)), hdr.order)
                if hdr.nfiles > 1
                else np.zeros(0, dtype=np.int64)
            )
            return sorted({tab.cstring(int(o)) for o in offs.tolist() if 0 < o < len(tab.table)})
        region = tab.table[hdr.filetab_off : hdr.pctab_off]
        return sorted({f.decode("utf-8", "replace") for f in region.split(b"\0") if f})

    def resolve(self, suffix: str) -> str:
        """The one file whose path ends with `suffix` (at a / boundary). LineError if none or
        several do (the several are named)."""
        suffix = suffix.lstrip("./") if suffix.startswith("./") else suffix
        found = [f for f in self.files() if f == suffix or f.endswith("/" + suffix)]
        if not found:
            raise LineError(f"no source file ends with {suffix!r}")
        if len(found) > 1:
            shown = ", ".join(found[:MAX_CANDIDATES]) + (", …" if len(found) > MAX_CANDIDATES else "")
            raise LineError(f"{suffix!r} names {len(found)} files: {shown}; give more of the path")
        return found[0]

    def shortest_suffix(self, file: str) -> str:
        """The shortest end of `file`'s path that names it alone (main.go, or server/main.go)."""
        parts = file.split("/")
        files = self.files()
        for n in range(1, len(parts) + 1):
            tail = "/".join(parts[-n:])
            if sum(1 for f in files if f == tail or f.endswith("/" + tail)) == 1:
                return tail
        return file

    # -- lines ------------------------------------------------------------------
    def code(self, file: str) -> dict[int, list[tuple[int, int, int, int]]]:
        """Every pc run of `file`: line -> [(function, start, end, inline index)]."""
        out: dict[int, list[tuple[int, int, int, int]]] = {}
        fns, fnos = self._functions_of(file)
        if not len(fns):
            return out
        tab = self._tab
        entries = np.asarray(self._b.functions.entry, dtype=np.int64)[fns]
        func_off = np.asarray(self._b.functions.func_off, dtype=np.int64)[fns]
        lay, q = tab.layout, tab.header.quantum
        file_t = gather_u32(tab.buf, func_off + lay.pcfile, tab.header.order) + tab.header.pctab_off
        line_t = gather_u32(tab.buf, func_off + lay.pcln, tab.header.order) + tab.header.pctab_off
        ft, fs, fe, fv = pcvalue.decode_many(tab.table, tab.buf, file_t, entries, q)
        lt, ls, le, lv = pcvalue.decode_many(tab.table, tab.buf, line_t, entries, q)
        index = inline_index(self._b)
        for k in range(len(fns)):
            fn = int(fns[k])
            mine = np.flatnonzero(ft == k)
            in_file = [(int(fs[i]), int(fe[i])) for i in mine if int(fv[i]) == int(fnos[k])]
            if not in_file:
                continue
            lo, hi = np.searchsorted(lt, [k, k + 1])
            inl = index.runs(fn)
            inl_starts = [s for s, _e, _v in inl]
            for i in range(lo, hi):
                start, end, line = int(ls[i]), int(le[i]), int(lv[i])
                for a, b in in_file:
                    s, e = max(start, a), min(end, b)
                    if s >= e:
                        continue
                    # split where the inline context changes
                    for piece_s, piece_e, ctx in _split(s, e, inl, inl_starts):
                        out.setdefault(line, []).append((fn, piece_s, piece_e, ctx))
        return out

    def sites(self, file: str, line: int, stmt_rows: set[int] | None = None) -> list[LineSite]:
        """Where to probe `line` of `file`: stmt_rows (DWARF's is_stmt addresses of the line,
        if it has them) or the first pc of each run per function and inline context.
        LineError if the line has no code."""
        code = self.code(file)
        if not code:
            raise LineError(f"{file}: no code of this file is in the binary")
        if line not in code:
            last = max(code)
            if line > last:
                raise LineError(
                    f"{file}:{line}: past the end of its code (the last line with code is {last})"
                )
            lines = sorted(code)
            at = bisect.bisect_left(lines, line)
            near = sorted({lines[max(0, at - 1)], lines[min(at, len(lines) - 1)]})
            raise LineError(
                f"{file}:{line}: no code at this line (nearest lines with code: {', '.join(map(str, near))})"
            )
        runs = sorted(code[line], key=lambda r: (r[0], r[1]))
        out: list[LineSite] = []
        if stmt_rows:
            for fn, start, end, ctx in runs:
                out.extend(LineSite(pc, fn, ctx) for pc in sorted(stmt_rows) if start <= pc < end)
            if out:
                return _unique(out)
        previous: dict[tuple[int, int], int] = {}
        for fn, start, end, ctx in runs:  # merge what touches: one run per place
            if previous.get((fn, ctx)) == start:
                previous[(fn, ctx)] = end
                continue
            previous[(fn, ctx)] = end
            out.append(LineSite(start, fn, ctx))
        return _unique(out)

    def lines_of(self, fn_index: int) -> list[tuple[str, int]]:
        """(file, line) of a function's own code (not what was inlined into it), in order."""
        fns = self._b.functions
        tab = self._tab
        entry, func_off = int(fns.entry[fn_index]), int(fns.func_off[fn_index])
        q = tab.header.quantum
        try:

            def table(field: int) -> int:
                return (
                    int.from_bytes(tab.table[func_off + field : func_off + field + 4], tab.header.byteorder)
                    + tab.header.pctab_off
                )

            lines = list(pcvalue.iter_steps(tab.table, table(tab.layout.pcln), entry, q))
            inl = inline_index(self._b).runs(fn_index)
        except BinaryError:
            return []
        own = [(s, e) for s, e, v in inl if v >= 0]
        seen: dict[int, None] = {}
        for start, _end, line in lines:
            if line > 0 and not any(s <= start < e for s, e in own):
                seen.setdefault(line)
        return [(fns.files[fn_index], ln) for ln in sorted(seen)]

    def lines_of_inlined(self, name: str) -> list[tuple[str, int]]:
        """(file, line) of the code of a function's inlined copies (the first copy's)."""
        index = inline_index(self._b)
        calls = index.calls_of(name)
        if not calls:
            return []
        seen: dict[tuple[str, int], None] = {}
        for start, end in index.body_ranges(calls[0].row):
            pc = start
            while pc < end:  # a body run is a few instructions: their lines one by one
                where = index.position(calls[0].function, pc)
                if where[1] > 0:
                    seen.setdefault(where)
                pc += self._tab.header.quantum
        return sorted(seen)

    # -- which functions can hold the file's code ---------------------------------
    def _functions_of(self, file: str) -> tuple[np.ndarray, np.ndarray]:
        """(function indexes, the file's number in each one's pcfile) of every function whose
        compile unit lists the file."""
        tab, hdr, fns = self._tab, self._tab.header, self._b.functions
        if hdr.version == "1.2":
            offs = gather_u32(tab.buf, hdr.filetab_off + 4 * np.arange(hdr.nfiles), hdr.order)
            names = [tab.cstring(int(o)) if 0 < o < len(tab.table) else "" for o in offs.tolist()]
            numbers = [i for i, n in enumerate(names) if n == file]
            if not numbers:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            everyone = np.arange(len(fns))
            return everyone, np.full(len(fns), numbers[0], dtype=np.int64)
        region = tab.table[hdr.filetab_off : hdr.pctab_off]
        pos = region.find(file.encode() + b"\0")
        while pos > 0 and region[pos - 1] != 0:  # a longer name ending with it: keep looking
            pos = region.find(file.encode() + b"\0", pos + 1)
        if pos < 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        n = (hdr.filetab_off - hdr.cu_off) // 4
        cutab = np.frombuffer(tab.table, dtype=hdr.order + "u4", count=n, offset=hdr.cu_off)
        slots = np.flatnonzero(cutab == pos)
        cu = gather_u32(tab.buf, np.asarray(fns.func_off, dtype=np.int64) + tab.layout.cu, hdr.order)
        starts = np.unique(cu)
        out_f, out_n = [], []
        for slot in slots.tolist():
            start = int(starts[np.searchsorted(starts, slot, side="right") - 1])
            members = np.flatnonzero(cu == start)
            out_f.append(members)
            out_n.append(np.full(len(members), slot - start, dtype=np.int64))
        if not out_f:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(out_f), np.concatenate(out_n)


def _split(start: int, end: int, inl: list[tuple[int, int, int]], starts: list[int]):
    """[start, end) cut where the inline context changes: (start, end, context)."""
    if not inl:
        yield start, end, -1
        return
    i = max(0, bisect.bisect_right(starts, start) - 1)
    pc = start
    while pc < end:
        if i < len(inl) and inl[i][0] <= pc < inl[i][1]:
            stop, ctx = min(end, inl[i][1]), inl[i][2]
            i += 1
        else:
            nxt = inl[i][0] if i < len(inl) else end
            stop, ctx = min(end, max(nxt, pc + 1)), -1
        yield pc, stop, ctx
        pc = stop


def _unique(sites: list[LineSite]) -> list[LineSite]:
    seen: dict[int, LineSite] = {}
    for s in sites:
        seen.setdefault(s.address, s)
    return sorted(seen.values(), key=lambda s: s.address)
