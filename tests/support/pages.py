"""Ring-buffer pages and records built by hand, laid out as the kernel writes them."""

from __future__ import annotations

import struct

HEADER_PAGE = """\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;
\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;
"""

FORMAT = """name: gp1_0_main_F
ID: 2326
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;
\tfield:u64 ax;\toffset:16;\tsize:8;\tsigned:0;
\tfield:u64 bx;\toffset:24;\tsize:8;\tsigned:0;
\tfield:u8 ax_s[32];\toffset:32;\tsize:32;\tsigned:0;
\tfield:u64 g;\toffset:64;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] comm;\toffset:72;\tsize:4;\tsigned:1;

print fmt: "(%lx) ..."
"""


def record(
    type_id: int, tid: int, ip: int, ax: int, bx: int, text: bytes, g: int, comm: bytes = b"gotest"
) -> bytes:
    """Its $comm follows the fixed fields, as the kernel appends a probe's strings."""
    name = comm + b"\0"
    data = (
        struct.pack(
            "<HBBiQQQ32sQI", type_id, 0, 0, tid, ip, ax, bx, text.ljust(32, b"\0"), g, len(name) << 16 | 76
        )
        + name
    )
    return data.ljust((len(data) + 3) & ~3, b"\0")  # the kernel's records are 4-byte aligned


def page(ts: int, items: list[tuple[int, bytes]], extend_first: int = 0) -> bytes:
    """A ring-buffer page: (time delta, data) records, data > 112 bytes as type_len 0."""
    body = b""
    if extend_first:  # a time-extend record: a delta too large for 27 bits
        body += struct.pack("<II", 30 | ((extend_first & ((1 << 27) - 1)) << 5), extend_first >> 27)
    for delta, data in items:
        data = data.ljust((len(data) + 3) & ~3, b"\0")
        if len(data) <= 112:
            body += struct.pack("<I", (len(data) // 4) | (delta << 5)) + data
        else:
            body += struct.pack("<II", delta << 5, len(data) + 4) + data
    body += struct.pack("<II", 29 | (7 << 5), 12) + b"\0" * 8  # discarded: array[0] + 4 bytes
    return struct.pack("<QQ", ts, len(body)) + body.ljust(4080, b"\0")
