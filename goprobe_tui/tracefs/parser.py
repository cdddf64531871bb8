"""Parse trace_pipe text into raw events, a whole chunk at a time.

Layout (kernel/trace/trace_output.c): comm in exactly 16 columns, '-', tid, optional
(tgid), [cpu], optional flags, seconds.micros, ': ', event, ': ', (0xIP), fields.
comm is controlled by the traced process and may hold spaces and dashes, so it is sliced by
column, never split; only our own event names (gp<pid>_...) are accepted.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_EVENT_RE = re.compile(
    rb"^(.{16})-(\d+) +(?:\( *(\d+|-+)\) +)?\[(\d+)\] +(?:[^ \n]{4,5} +)?(\d+)(?:\.(\d+))?: "
    rb"(gp\d+_[A-Za-z0-9_]+): \(0x([0-9a-f]+)\)([^\n]*)$",
    re.M,
)
_LOST_RE = re.compile(rb"CPU:(\d+) \[LOST (\d+) EVENTS\]")


class RawEvent(NamedTuple):
    comm: str
    tid: int
    tgid: int  # 0 when record-tgid was off
    cpu: int
    ts_us: int  # microseconds of the trace clock
    event: str
    ip: int
    fields: bytes  # " k=v k=v ...", decoded on demand


class Chunk(NamedTuple):
    events: list[RawEvent]
    lost: int  # kernel-reported lost events ([LOST n EVENTS])
    malformed: int  # lines that matched no known layout


def _ts_us(secs: bytes, frac: bytes | None) -> int:
    if not frac:
        return int(secs)
    return int(secs) * 1_000_000 + int(frac[:6].ljust(6, b"0"))


def parse_chunk(data: bytes) -> Chunk:
    """Parse complete lines (the caller keeps any partial last line for the next chunk)."""
    events = [
        RawEvent(comm.strip().decode("utf-8", "replace"), int(tid),
                 int(tgid) if tgid and tgid[:1] != b"-" else 0, int(cpu),
                 _ts_us(secs, frac), name.decode("ascii"), int(ip, 16), fields)
        for comm, tid, tgid, cpu, secs, frac, name, ip, fields in _EVENT_RE.findall(data)
    ]
    lost = 0
    markers = 0
    if b"[LOST" in data:
        for _cpu, n in _LOST_RE.findall(data):
            lost += int(n)
            markers += 1
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    other = data.count(b"\n#") + data.startswith(b"#") + data.count(b"\n\n")
    malformed = max(0, lines - len(events) - markers - other)
    return Chunk(events, lost, malformed)


def parse_fields(fields: bytes) -> dict[str, str]:
    """' a=1 b=0x2 c={1,2}' -> {'a': '1', ...}. Our fetch types never print spaces."""
    out: dict[str, str] = {}
    for tok in fields.decode("ascii", "replace").split():
        key, sep, value = tok.partition("=")
        if sep:
            out[key] = value
    return out
