"""Go's pc-value tables (pcsp, pcfile, pcln): zig-zag value deltas and pc deltas as varints.

`first_values` decodes the first step of many tables at once with numpy: the value at a
function's entry is almost always that first step, which makes a full-table listing cheap.
"""

from __future__ import annotations

import numpy as np

from goprobe_tui.gobinary.errors import BinaryError

_MAX_VARINT = 5  # a uint32 varint never needs more bytes
_SHIFTS = np.arange(_MAX_VARINT, dtype=np.uint64) * np.uint64(7)


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise BinaryError("pc-value table runs past the end of the pclntab")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFF, pos
        shift += 7
        if shift > 28:
            raise BinaryError("overlong varint in a pc-value table")


def iter_steps(data: bytes, off: int, entry: int, quantum: int):
    """Yield (start_pc, end_pc, value) for each run of a pc-value table, like debug/gosym."""
    return _resume(data, off, entry, -1, entry, quantum)


def value_at(data: bytes, off: int, entry: int, target: int, quantum: int) -> int:
    """The table's value at `target` (-1 when the table does not cover it)."""
    for _start, end, val in iter_steps(data, off, entry, quantum):
        if target < end:
            return val
    return -1


def _uvarints(buf: np.ndarray, offs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode one uvarint at each offset; returns (values, lengths). Bounds are the caller's."""
    idx = offs[:, None] + np.arange(_MAX_VARINT)
    np.minimum(idx, len(buf) - 1, out=idx)
    raw = buf[idx].astype(np.uint64)
    stops = raw < 0x80
    if not stops.any(axis=1).all():
        raise BinaryError("overlong varint in a pc-value table")
    lengths = stops.argmax(axis=1) + 1
    used = np.arange(_MAX_VARINT) < lengths[:, None]
    values = (((raw & np.uint64(0x7F)) << _SHIFTS) * used).sum(axis=1) & np.uint64(0xFFFFFFFF)
    return values, lengths


def first_values(buf: np.ndarray, offs: np.ndarray, quantum: int) -> tuple[np.ndarray, np.ndarray]:
    """Value of the first step of each table, and a mask of rows where that step is empty.

    Rows in the mask (first pc delta 0) need the scalar `value_at`; everything else is exact.
    """
    if len(offs) and (offs.min() < 0 or offs.max() >= len(buf)):
        raise BinaryError("pc-value table offset outside the pclntab")
    uvdelta, length = _uvarints(buf, offs)
    pcdelta, _ = _uvarints(buf, offs + length)
    half = (uvdelta >> np.uint64(1)).astype(np.int64)
    vdelta = np.where((uvdelta & np.uint64(1)) == 1, ~half, half)
    values = ((vdelta - 1 + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)
    return values, (pcdelta * np.uint64(quantum)) == 0


SCALAR_BELOW = 24  # tables still being read: fewer than this, and each is read on its own
WINDOW = 32  # bytes of each table decoded per step (3 in 4 inline tables fit in one)


def decode_many(
    data: bytes, buf: np.ndarray, offs: np.ndarray, entries: np.ndarray, quantum: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every run of many pc-value tables, read side by side (each step decodes the next
    WINDOW bytes of every table at once): (table number, start pc, end pc, value), table by
    table in order."""
    n = len(offs)
    empty = np.zeros(0, dtype=np.int64)
    if not n:
        return empty, empty, empty, empty
    if offs.min() < 0 or offs.max() >= len(buf):
        raise BinaryError("pc-value table offset outside the pclntab")
    pos = offs.astype(np.int64).copy()
    pc = entries.astype(np.int64).copy()
    val = np.full(n, -1, dtype=np.int64)
    live = np.arange(n)
    out: list[tuple[np.ndarray, ...]] = []
    for _ in range(1 << 20):
        if len(live) < SCALAR_BELOW:
            break
        runs, consumed, ended = _window(buf, pos[live], pc[live], val[live], entries[live], quantum)
        rows, start, end, value = runs
        out.append((live[rows], start, end, value))
        if len(rows):  # each row's last run carries its pc and value on
            last = np.flatnonzero(np.r_[rows[1:] != rows[:-1], True])
            pc[live[rows[last]]] = end[last]
            val[live[rows[last]]] = value[last]
        pos[live] += consumed
        if (~ended & (consumed == 0)).any():
            raise BinaryError("malformed pc-value table")
        live = live[~ended]
        if len(live) and pos[live].max() >= len(buf):
            raise BinaryError("pc-value table runs past the end of the pclntab")
    else:
        raise BinaryError("pc-value table does not terminate")
    for t in live.tolist():  # the long tables left: one by one
        steps = list(_resume(data, int(pos[t]), int(pc[t]), int(val[t]), int(entries[t]), quantum))
        if steps:
            arr = np.array(steps, dtype=np.int64)
            out.append((np.full(len(steps), t), arr[:, 0], arr[:, 1], arr[:, 2]))
    if not out:
        return empty, empty, empty, empty
    table, start, end, value = (np.concatenate(col) for col in zip(*out, strict=True))
    order = np.lexsort((start, table))
    return table[order], start[order], end[order], value[order]


def _window(
    buf: np.ndarray, pos: np.ndarray, pc: np.ndarray, val: np.ndarray, entries: np.ndarray, quantum: int
):
    """Decode the (value delta, pc delta) pairs wholly inside the next WINDOW bytes of each
    table. Returns ((row, start, end, value) of the runs found, bytes consumed per row,
    whether the row's table ended)."""
    rows_n = len(pos)
    idx = pos[:, None] + np.arange(WINDOW)
    b = buf[np.minimum(idx, len(buf) - 1)]
    term = (b < 0x80) & (idx < len(buf))  # the last byte of each varint
    after = np.where(term, np.arange(1, WINDOW + 1, dtype=np.int16), np.int16(0))
    begins = np.maximum.accumulate(after, axis=1)  # where the varint after each byte begins
    begins = np.concatenate([np.zeros((rows_n, 1), dtype=np.int16), begins[:, :-1]], axis=1)
    shift = np.arange(WINDOW, dtype=np.int16) - begins  # each byte's place in its varint
    part = (b & 0x7F).astype(np.uint32) << (7 * np.minimum(shift, 4)).astype(np.uint32)
    total = np.cumsum(part, axis=1, dtype=np.uint32)  # wraps mod 2**32, as the values do
    r, c = np.nonzero(term)  # every whole varint, row by row, in order
    start = begins[r, c].astype(np.int64)
    if (c - start >= _MAX_VARINT).any():
        raise BinaryError("overlong varint in a pc-value table")
    word = total[r, c] - np.where(start > 0, total[r, np.maximum(start - 1, 0)], np.uint32(0))
    word = word.astype(np.int64)
    per_row = np.bincount(r, minlength=rows_n)
    k = np.arange(len(r)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    # pairs: a value delta (even k) and the pc delta after it, when both are whole
    even = np.flatnonzero(k % 2 == 0)
    has_pc = k[even] + 1 < per_row[r[even]]
    row_e = r[even]
    pcd = np.where(has_pc, word[np.minimum(even + 1, len(word) - 1)], 0) * quantum
    before = np.cumsum(pcd) - pcd  # pc advance of the earlier pairs (over all rows)
    row_first = np.searchsorted(row_e, np.arange(rows_n))
    base = before[np.minimum(row_first, max(len(before) - 1, 0))] if len(before) else before
    starts = pc[row_e] + before - base[row_e]
    uv = word[even]
    # a zero value delta ends the table, except in the first pair (as pc == entry says)
    stop = (uv == 0) & (starts != entries[row_e])
    ended = np.zeros(rows_n, dtype=bool)
    first_stop = np.full(rows_n, len(even), dtype=np.int64)
    if stop.any():
        at = np.flatnonzero(stop)
        rows_stopped, first = np.unique(row_e[at], return_index=True)
        ended[rows_stopped] = True
        first_stop[rows_stopped] = at[first]
    runs = has_pc & (np.arange(len(even)) < first_stop[row_e])
    zig = uv >> 1
    vdelta = np.where(uv & 1 == 1, ~zig, zig) * runs
    vbefore = np.cumsum(vdelta)
    vbase = (vbefore - vdelta)[np.minimum(row_first, max(len(even) - 1, 0))] if len(even) else vbefore
    values = (val[row_e] + vbefore - vbase[row_e] + (1 << 31)) % (1 << 32) - (1 << 31)
    # bytes used: through the end marker, or through the last whole pair before the window ends
    consumed = np.zeros(rows_n, dtype=np.int64)
    last = np.flatnonzero(runs)
    if len(last):
        consumed[row_e[last]] = c[even[last] + 1] + 1  # rows in order: the last write wins
    stop_rows = np.flatnonzero(ended)
    consumed[stop_rows] = c[even[first_stop[stop_rows]]] + 1
    sel = np.flatnonzero(runs)
    return (row_e[sel], starts[sel], starts[sel] + pcd[sel], values[sel]), consumed, ended


def _resume(data: bytes, pos: int, pc: int, val: int, entry: int, quantum: int):
    """iter_steps, from the middle of a table."""
    first = pc == entry
    for _ in range(1 << 20):
        uvdelta, pos = _read_uvarint(data, pos)
        if uvdelta == 0 and not first:
            return
        vdelta = ~(uvdelta >> 1) if uvdelta & 1 else uvdelta >> 1
        pcdelta, pos = _read_uvarint(data, pos)
        start = pc
        pc += pcdelta * quantum
        val = _to_int32(val + vdelta)
        first = pc == entry
        yield start, pc, val
    raise BinaryError("pc-value table does not terminate")
