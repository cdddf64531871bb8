"""The kernel ring buffer's binary sub-buffer pages, as read from `per_cpu/cpuN/trace_pipe_raw`.

Layout (kernel/trace/ring_buffer.c, described by `events/header_page` and `header_event`):
a page header (u64 timestamp, local_t commit: data length plus two flag bits), then events.
Each event starts with a u32: type_len (low 5 bits) and time_delta (27 bits).
  type_len 1..28  data of type_len*4 bytes follows;
  type_len 0      array[0] = data length + 4, data follows it;
  29 padding      time_delta 0: the rest of the page is empty; else skip array[0] bytes;
  30 time extend  time_delta += array[0] << 27;
  31 time stamp   absolute timestamp (array[0] << 27 | time_delta).
Reading binary pages spares the kernel its text formatting and the reader its text parsing,
and a record holds no comm: a traced process cannot forge or break lines.
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

from goprobe_tui.errors import GoprobeError

_U32 = struct.Struct("<I")
_TS_SHIFT = 27
_TYPE_PADDING, _TYPE_EXTEND, _TYPE_STAMP = 29, 30, 31
# The commit field: data length in the low 30 bits, then RB_MISSED_STORED and RB_MISSED_EVENTS.
# The kernel ORs `1 << 31` (an int, so sign-extended) into a 64-bit local_t: every upper bit is
# set on a page that follows lost events. Keep the length bits only.
_COMMIT_LENGTH = (1 << 30) - 1


class PageHeader(NamedTuple):
    commit_offset: int
    commit_size: int
    data_offset: int


def parse_header_page(text: str) -> PageHeader:
    """`events/header_page` -> where the commit field and the data start (8 vs 4 byte local_t)."""
    fields = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"field: \S+ (\w+);\s*offset:(\d+);\s*size:(\d+);", text)
    }
    try:
        return PageHeader(fields["commit"][0], fields["commit"][1], fields["data"][0])
    except KeyError:
        raise PageError("unrecognised ring buffer page header") from None


DEFAULT_HEADER = PageHeader(8, 8, 16)


class PageError(GoprobeError):
    """A page that does not follow the ring buffer layout."""


def page_records(page: bytes, header: PageHeader = DEFAULT_HEADER) -> list[tuple[int, int, int]]:
    """(timestamp, start, end) of every data record in one page, in order.

    Raises PageError on a corrupt page; the records before the corruption are lost with it,
    which the caller counts.
    """
    if len(page) < header.data_offset:
        raise PageError("short page")
    ts = int.from_bytes(page[0:8], "little")
    commit = (
        int.from_bytes(page[header.commit_offset : header.commit_offset + header.commit_size], "little")
        & _COMMIT_LENGTH
    )
    pos = header.data_offset
    end = pos + commit
    if end > len(page):
        raise PageError(f"commit {commit} beyond the page")
    out: list[tuple[int, int, int]] = []
    unpack = _U32.unpack_from
    while pos + 4 <= end:
        (word,) = unpack(page, pos)
        type_len = word & 0x1F
        delta = word >> 5
        if type_len == 0:
            (length,) = unpack(page, pos + 4)
            ts += delta
            start, pos = pos + 8, pos + 4 + ((length + 3) & ~3)
            if length < 4 or pos > end:
                raise PageError("bad record length")
            out.append((ts, start, start + length - 4))
        elif type_len <= 28:
            ts += delta
            start = pos + 4
            pos = start + type_len * 4
            out.append((ts, start, pos))
        elif type_len == _TYPE_PADDING:
            if delta == 0:
                break  # nothing more on this page
            (length,) = unpack(page, pos + 4)
            ts += delta
            pos += 4 + length
        elif type_len == _TYPE_EXTEND:
            (high,) = unpack(page, pos + 4)
            ts += (high << _TS_SHIFT) + delta
            pos += 8
        else:  # absolute time stamp
            (high,) = unpack(page, pos + 4)
            ts = (high << _TS_SHIFT) | delta
            pos += 8
    return out
