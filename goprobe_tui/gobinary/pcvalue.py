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
    val = -1
    pc = entry
    first = True
    pos = off
    for _ in range(1 << 20):  # bounded: corrupt tables must not spin forever
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


def decode_many(data: bytes, buf: np.ndarray, offs: np.ndarray, entries: np.ndarray,
                quantum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every run of many pc-value tables, read side by side (one numpy step per run, for all
    tables at once): (table number, start pc, end pc, value), table by table in order."""
    n = len(offs)
    if not n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    if offs.min() < 0 or offs.max() >= len(buf):
        raise BinaryError("pc-value table offset outside the pclntab")
    pos = offs.astype(np.int64).copy()
    pc = entries.astype(np.int64).copy()
    val = np.full(n, -1, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    live = np.arange(n)
    out: list[tuple[np.ndarray, ...]] = []
    for _ in range(1 << 20):
        if len(live) < SCALAR_BELOW:
            break
        uv, length = _uvarints(buf, pos[live])
        going = ~((uv == 0) & ~first[live])
        live, uv, length = live[going], uv[going], length[going]
        if not len(live):
            break
        half = (uv >> np.uint64(1)).astype(np.int64)
        vdelta = np.where((uv & np.uint64(1)) == 1, ~half, half)
        pcd, length2 = _uvarints(buf, pos[live] + length)
        start = pc[live]
        end = start + pcd.astype(np.int64) * quantum
        value = (val[live] + vdelta + (1 << 31)) % (1 << 32) - (1 << 31)
        out.append((live, start, end, value))
        pc[live], val[live] = end, value
        first[live] = end == entries[live]
        pos[live] += length + length2
        if pos[live].max(initial=0) >= len(buf):
            raise BinaryError("pc-value table runs past the end of the pclntab")
    else:
        raise BinaryError("pc-value table does not terminate")
    for t in live.tolist():  # the long tables left: one by one
        steps = list(_resume(data, int(pos[t]), int(pc[t]), int(val[t]), int(entries[t]), quantum))
        if steps:
            arr = np.array(steps, dtype=np.int64)
            out.append((np.full(len(steps), t), arr[:, 0], arr[:, 1], arr[:, 2]))
    if not out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    table, start, end, value = (np.concatenate(col) for col in zip(*out, strict=True))
    order = np.lexsort((start, table))
    return table[order], start[order], end[order], value[order]


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
