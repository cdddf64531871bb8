"""Go's pclntab (runtime.pcHeader and what follows), every layout from Go 1.2 to today.

All version differences live in `parse_header` and `FuncLayout`, the way Go's own
src/debug/gosym/pclntab.go keeps them in one switch. Every read is bounds-checked.
"""

from __future__ import annotations

import bisect
import contextlib
from dataclasses import dataclass

import numpy as np

from goprobe_tui.gobinary import pcvalue
from goprobe_tui.gobinary.elffile import ByteOrder
from goprobe_tui.gobinary.errors import BinaryError

VERSIONS = {0xFFFFFFFB: "1.2", 0xFFFFFFFA: "1.16", 0xFFFFFFF0: "1.18", 0xFFFFFFF1: "1.20"}
STEP_TABLES = 4096  # decoded pc-value tables kept (each a few runs to a few thousand)
MAX_FUNCS = 5_000_000  # far above any real program; bounds memory on corrupt counts


@dataclass(frozen=True)
class Header:
    version: str  # "1.2" (Go 1.2-1.15), "1.16" (1.16-1.17), "1.18" (1.18-1.19), "1.20" (1.20+)
    order: str  # numpy byte-order prefix, "<" or ">"
    quantum: int
    ptrsize: int
    nfunc: int
    nfiles: int
    text_start: int  # header word (1.18+); 0 when absent or zeroed (Go 1.26+)
    funcname_off: int
    cu_off: int
    filetab_off: int
    pctab_off: int
    functab_off: int  # start of (entry, funcoff) pairs
    func_base: int  # funcoff values are relative to this
    entry_size: int  # bytes per functab field

    @property
    def relative_entries(self) -> bool:
        """From Go 1.18 functab holds offsets from runtime.text, not addresses."""
        return self.version in ("1.18", "1.20")

    @property
    def byteorder(self) -> ByteOrder:
        return "little" if self.order == "<" else "big"


def detect(table: bytes) -> tuple[str, str] | None:
    """(version, order) if the first 8 bytes look like a pcHeader, else None."""
    if len(table) < 16 or table[4] or table[5]:
        return None
    if table[6] not in (1, 2, 4) or table[7] not in (4, 8):
        return None
    byteorder: ByteOrder
    for order, byteorder in (("<", "little"), (">", "big")):
        version = VERSIONS.get(int.from_bytes(table[:4], byteorder))
        if version:
            return version, order
    return None


def parse_header(table: bytes) -> Header:
    found = detect(table)
    if found is None:
        raise BinaryError("no valid pclntab header")
    version, order = found
    byteorder: ByteOrder = "little" if order == "<" else "big"
    quantum, ptrsize = table[6], table[7]

    def word(k: int) -> int:
        start = 8 + k * ptrsize
        if start + ptrsize > len(table):
            raise BinaryError("pclntab header is truncated")
        return int.from_bytes(table[start : start + ptrsize], byteorder)

    nfunc = word(0)
    if not 0 < nfunc <= MAX_FUNCS:
        raise BinaryError(f"pclntab claims {nfunc} functions")
    if version == "1.2":
        functab_off = 8 + ptrsize
        ftab_end = functab_off + (2 * nfunc + 1) * ptrsize
        if ftab_end + 4 > len(table):
            raise BinaryError("pclntab function table runs past the end")
        filetab_off = int.from_bytes(table[ftab_end : ftab_end + 4], byteorder)
        if filetab_off + 4 > len(table):
            raise BinaryError("pclntab file table offset is out of bounds")
        nfiles = int.from_bytes(table[filetab_off : filetab_off + 4], byteorder)
        hdr = Header(
            version, order, quantum, ptrsize, nfunc, nfiles, 0, 0, 0, filetab_off, 0, functab_off, 0, ptrsize
        )
    elif version == "1.16":
        pcln = word(6)
        hdr = Header(
            version,
            order,
            quantum,
            ptrsize,
            nfunc,
            word(1),
            0,
            word(2),
            word(3),
            word(4),
            word(5),
            pcln,
            pcln,
            ptrsize,
        )
    else:
        pcln = word(7)
        hdr = Header(
            version,
            order,
            quantum,
            ptrsize,
            nfunc,
            word(1),
            word(2),
            word(3),
            word(4),
            word(5),
            word(6),
            pcln,
            pcln,
            4,
        )
    for name in ("funcname_off", "cu_off", "filetab_off", "pctab_off", "functab_off"):
        if getattr(hdr, name) >= len(table):
            raise BinaryError(f"pclntab {name.removesuffix('_off')} offset is out of bounds")
    if hdr.nfiles > len(table):
        raise BinaryError(f"pclntab claims {hdr.nfiles} files")
    if hdr.functab_off + (2 * nfunc + 1) * hdr.entry_size > len(table):
        raise BinaryError("pclntab function table runs past the end")
    return hdr


@dataclass(frozen=True)
class FuncLayout:
    """Byte offsets of the _func fields we read. Field 0 is a pointer before Go 1.18."""

    name: int
    args: int
    pcsp: int
    pcfile: int
    pcln: int
    cu: int  # -1 before Go 1.16
    size: int  # bytes we touch

    @classmethod
    def for_header(cls, hdr: Header) -> FuncLayout:
        sz0 = 4 if hdr.relative_entries else hdr.ptrsize
        field = lambda n: sz0 + (n - 1) * 4  # noqa: E731 - mirrors Go's funcData.field
        cu = field(8) if hdr.version != "1.2" else -1
        return cls(field(1), field(2), field(4), field(5), field(6), cu, field(9))


@dataclass
class RawFunctions:
    """Columns straight from the table, one row per function, in table order."""

    entry: np.ndarray  # uint64 absolute entry pc
    end: np.ndarray  # uint64 next function's entry (includes padding)
    name_off: np.ndarray  # into the table
    func_off: np.ndarray  # _func start, into the table
    args: np.ndarray


def gather_u32(buf: np.ndarray, offs: np.ndarray, order: str) -> np.ndarray:
    """The u32 at each offset, as int64. BinaryError if one runs past the buffer."""
    if len(offs) and (offs.min() < 0 or offs.max() + 4 > len(buf)):
        raise BinaryError("table reference out of bounds")
    raw = buf[offs[:, None] + np.arange(4)]
    return np.ascontiguousarray(raw).view(order + "u4").ravel().astype(np.int64)


class PcLnTable:
    """A validated pclntab. `text_start` must be the true runtime.text for Go 1.18+ tables."""

    def __init__(self, table: bytes, vaddr: int) -> None:
        self.table = table
        self.vaddr = vaddr
        self.header = parse_header(table)
        self.layout = FuncLayout.for_header(self.header)
        self.buf = np.frombuffer(table, dtype=np.uint8)
        self._steps: dict[tuple[int, int], tuple[list[int], list[int]]] = {}  # decoded tables
        self._file_names: dict[tuple[int, int], str] = {}  # (func_off, file number) -> name
        hdr = self.header
        ftab = np.frombuffer(
            table, dtype=f"{hdr.order}u{hdr.entry_size}", count=2 * hdr.nfunc + 1, offset=hdr.functab_off
        )
        self._entry_raw = ftab[0::2].astype(np.uint64)
        funcoff = ftab[1::2].astype(np.int64)
        hole = (1 << (8 * hdr.entry_size)) - 1  # multi-text-section marker, not a function
        self._keep = np.flatnonzero(funcoff != hole)
        if len(self._keep) and np.any(np.diff(self._entry_raw.astype(np.int64)) < 0):
            raise BinaryError("pclntab function table is not sorted")
        self._func_off = funcoff[self._keep] + hdr.func_base
        if len(self._func_off) and (
            self._func_off.min() < 0 or self._func_off.max() + self.layout.size > len(table)
        ):
            raise BinaryError("pclntab function record out of bounds")

    @property
    def first_entry_offset(self) -> int:
        """functab's first value: an address before Go 1.18, an offset from runtime.text after."""
        return int(self._entry_raw[0])

    def first_name(self) -> str:
        if not len(self._func_off):
            raise BinaryError("pclntab lists no functions")
        off = int(gather_u32(self.buf, self._func_off[:1] + self.layout.name, self.header.order)[0])
        return self.cstring(off + self.header.funcname_off)

    def raw_functions(self, text_start: int) -> RawFunctions:
        base = np.uint64(text_start if self.header.relative_entries else 0)
        entries = self._entry_raw + base
        keep = self._keep
        fo = self._func_off
        order = self.header.order
        name_off = gather_u32(self.buf, fo + self.layout.name, order) + self.header.funcname_off
        if len(name_off) and name_off.max() >= len(self.table):
            raise BinaryError("function name offset out of bounds")
        args = gather_u32(self.buf, fo + self.layout.args, order)
        return RawFunctions(entries[keep], entries[keep + 1], name_off, fo, args)

    # -- strings ---------------------------------------------------------------
    def cstring(self, off: int) -> str:
        end = self.table.find(b"\0", off)
        if end < 0:
            raise BinaryError("unterminated string in pclntab")
        return self.table[off:end].decode("utf-8", "replace")

    def names(self, name_off: np.ndarray) -> list[str]:
        """Decode all names with one decode and one split: names are NUL-separated runs."""
        if not len(name_off):
            return []
        lo = int(name_off.min())
        hi = self.table.find(b"\0", int(name_off.max()))
        if hi < 0:
            raise BinaryError("unterminated function name in pclntab")
        region = self.table[lo:hi]
        nuls = np.flatnonzero(self.buf[lo:hi] == 0)
        starts = np.concatenate(([lo], nuls + lo + 1))
        idx = np.searchsorted(starts, name_off)
        idx_ok = np.minimum(idx, len(starts) - 1)
        if not np.array_equal(starts[idx_ok], name_off):
            return [self.cstring(off) for off in name_off.tolist()]  # names overlap: slow path
        # 'replace' never creates or eats a NUL, so pieces line up with `starts`.
        pieces = region.decode("utf-8", "replace").split("\0")
        return [pieces[i] for i in idx.tolist()]

    # -- file and line at entry ---------------------------------------------------
    def _pc_data_base(self) -> int:
        return self.header.pctab_off

    def values_at_entry(self, raw: RawFunctions, field: int) -> np.ndarray:
        order = self.header.order
        offs = gather_u32(self.buf, raw.func_off + field, order) + self._pc_data_base()
        values, slow = pcvalue.first_values(self.buf, offs, self.header.quantum)
        for i in np.flatnonzero(slow).tolist():
            entry = int(raw.entry[i])
            values[i] = pcvalue.value_at(self.table, int(offs[i]), entry, entry, self.header.quantum)
        return values

    def lines_at_entry(self, raw: RawFunctions) -> np.ndarray:
        return self.values_at_entry(raw, self.layout.pcln)

    def files_at_entry(self, raw: RawFunctions) -> list[str]:
        fno = self.values_at_entry(raw, self.layout.pcfile)
        fileoffs = self.file_name_offsets(raw.func_off, fno)
        uniq, inverse = np.unique(fileoffs, return_inverse=True)
        names = ["" if off < 0 else self.cstring(int(off)) for off in uniq.tolist()]
        return [names[i] for i in inverse.ravel().tolist()]

    # -- one pc -------------------------------------------------------------------
    def _table_offset(self, func_off: int, field: int) -> int:
        return (
            int.from_bytes(self.table[func_off + field : func_off + field + 4], self.header.byteorder)
            + self.header.pctab_off
        )

    def preload(self, functions: list[tuple[int, int]]) -> None:
        """Decode the pcsp, pcfile and pcln tables of many functions ((func_off, entry) each)
        side by side with numpy (pcvalue.decode_many), for pc_value to look up: an attach of
        thousands of inlined calls asks about thousands of functions (3.5 million steps read
        one by one took 13 s). At most STEP_TABLES are kept; a corrupt table is left to
        pc_value, which says so when asked."""
        fields = (self.layout.pcsp, self.layout.pcfile, self.layout.pcln)
        keys = list(
            dict.fromkeys(
                (self._table_offset(func_off, f), entry)
                for func_off, entry in functions[: STEP_TABLES // 3]
                for f in fields
                if 0 <= func_off <= len(self.table) - f - 4
            )
        )
        keys = [k for k in keys if k not in self._steps and 0 <= k[0] < len(self.table)]
        if not keys:
            return
        offs = np.array([off for off, _e in keys], dtype=np.int64)
        entries = np.array([entry for _o, entry in keys], dtype=np.int64)
        try:
            table, _start, end, value = pcvalue.decode_many(
                self.table, self.buf, offs, entries, self.header.quantum
            )
        except BinaryError:
            return
        bounds = np.searchsorted(table, np.arange(len(keys) + 1))
        ends, values = end.tolist(), value.tolist()
        room = STEP_TABLES - len(self._steps)
        for i, key in enumerate(keys):
            if room <= 0:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    self._steps.pop(next(iter(self._steps)))  # the oldest
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            self._steps[key] = (ends[lo:hi], values[lo:hi])
            room -= 1

    def pc_value(self, func_off: int, field: int, entry: int, pc: int) -> int:
        """The value of a function's table `field` (layout.pcsp, pcfile, pcln) at `pc`: each
        table is decoded once, then looked up by binary search (an attach asks one function's
        tables thousands of times, once per inlined call in it)."""
        off = self._table_offset(func_off, field)
        key = (off, entry)
        steps = self._steps.get(key)
        if steps is None:
            runs = list(pcvalue.iter_steps(self.table, off, entry, self.header.quantum))
            steps = ([end for _s, end, _v in runs], [v for _s, _e, v in runs])
            if len(self._steps) >= STEP_TABLES:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    self._steps.pop(next(iter(self._steps)))  # the oldest (threads may race)
            self._steps[key] = steps
        ends, values = steps
        at = bisect.bisect_right(ends, pc)
        return values[at] if at < len(values) else -1

    def file_line(self, func_off: int, entry: int, pc: int) -> tuple[str, int]:
        """file:line at `pc` of the function whose _func is at `func_off` (innermost inlined
        context). BinaryError on a corrupt table."""
        line = self.pc_value(func_off, self.layout.pcln, entry, pc)
        fno = self.pc_value(func_off, self.layout.pcfile, entry, pc)
        key = (func_off, fno)
        name = self._file_names.get(key)
        if name is None:  # one file of one function: plain integers (numpy costs more here)
            off = self._file_name_offset(func_off, fno)
            name = self._file_names[key] = self.cstring(off) if off >= 0 else ""
        return name, line

    def _file_name_offset(self, func_off: int, fno: int) -> int:
        """file_name_offsets for one function and file number."""
        hdr, order = self.header, self.header.byteorder

        def u32(at: int) -> int:
            if not 0 <= at <= len(self.table) - 4:
                raise BinaryError("file table out of bounds")
            return int.from_bytes(self.table[at : at + 4], order)

        if hdr.version == "1.2":
            return u32(hdr.filetab_off + 4 * fno) if 0 < fno < hdr.nfiles else -1
        if fno < 0:
            return -1
        fnoff = u32(hdr.cu_off + (u32(func_off + self.layout.cu) + fno) * 4)
        if fnoff == 0xFFFFFFFF:
            return -1
        if fnoff + hdr.filetab_off >= len(self.table):
            raise BinaryError("file name offset out of bounds")
        return fnoff + hdr.filetab_off

    def file_name_offsets(self, func_off: np.ndarray, fno: np.ndarray) -> np.ndarray:
        """Table offset of each file name, -1 for none (mirrors gosym's go12PCToFile)."""
        hdr = self.header
        out = np.full(len(fno), -1, dtype=np.int64)
        if hdr.version == "1.2":
            ok = (fno > 0) & (fno < hdr.nfiles)
            slot = hdr.filetab_off + 4 * fno[ok]
            if len(slot) and slot.max() + 4 > len(self.table):
                raise BinaryError("file table out of bounds")
            out[ok] = gather_u32(self.buf, slot, hdr.order)
        else:
            cu = gather_u32(self.buf, func_off + self.layout.cu, hdr.order)
            ok = fno >= 0
            slot = hdr.cu_off + (cu[ok] + fno[ok]) * 4
            if len(slot) and slot.max() + 4 > len(self.table):
                raise BinaryError("compilation-unit table out of bounds")
            fnoff = gather_u32(self.buf, slot, hdr.order)
            fnoff = np.where(fnoff == 0xFFFFFFFF, -1, fnoff + hdr.filetab_off)
            out[ok] = fnoff
        if len(out) and out.max() >= len(self.table):
            raise BinaryError("file name offset out of bounds")
        return out
