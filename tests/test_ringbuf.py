"""The binary ring-buffer pages, record layouts, value decoding and pairing, offline."""

from __future__ import annotations

import struct

import pytest

from goprobe_tui.events.text import format_duration, json_values
from goprobe_tui.pipeline.decoder import EventDecoder
from goprobe_tui.pipeline.merge import HOLDBACK_NS, RecordMerger
from goprobe_tui.pipeline.pairing import Pairing
from goprobe_tui.tracefs.formats import parse_format
from goprobe_tui.tracefs.ringbuf import PageError, page_records, parse_header_page
from goprobe_tui.tracefs.session import ProbeEvent, Site
from goprobe_tui.values.decoded import NIL
from goprobe_tui.values.fetch_args import valid_fetch_arg
from goprobe_tui.values.kinds import ValueSpec, decode_value

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

print fmt: "(%lx) ..."
"""


def record(type_id: int, tid: int, ip: int, ax: int, bx: int, text: bytes, g: int) -> bytes:
    return struct.pack("<HBBiQQQ32sQ", type_id, 0, 0, tid, ip, ax, bx, text.ljust(32, b"\0"), g)


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


def test_page_records_follow_the_kernel_layout() -> None:
    header = parse_header_page(HEADER_PAGE)
    assert header == (8, 8, 16)
    r = record(2326, 7, 0x401000, 5, 3, b"hi", 0xC000)
    pg = page(1_000, [(10, r[:40]), (20, r)], extend_first=1 << 28)
    spans = page_records(pg, header)
    assert [ts for ts, _, _ in spans] == [1_000 + (1 << 28) + 10, 1_000 + (1 << 28) + 30]
    (_, s0, e0), (_, s1, e1) = spans
    assert pg[s0:e0] == r[:40] and pg[s1:e1] == r


def test_page_after_lost_events_still_parses() -> None:
    """The kernel ORs RB_MISSED_EVENTS (`1 << 31`, sign-extended) into the 64-bit commit: as
    read on this kernel after an overflow, 0xffffffffc0000fd8 is 4,056 bytes of data."""
    r = record(2326, 7, 0x401000, 5, 3, b"hi", 0xC000)
    pg = bytearray(page(1_000, [(10, r)]))
    length = int.from_bytes(pg[8:16], "little")
    pg[8:16] = (length | 0xFFFFFFFFC0000000).to_bytes(8, "little")
    assert len(page_records(bytes(pg))) == 1


def test_corrupt_page_is_an_error_not_garbage() -> None:
    with pytest.raises(PageError):
        page_records(struct.pack("<QQ", 1, 5000) + b"\0" * 4080)
    with pytest.raises(PageError):
        page_records(b"\0" * 8)


def test_format_gives_one_struct_for_the_record() -> None:
    layout = parse_format(FORMAT)
    assert layout.type_id == 2326 and layout.names == ("ax", "bx", "ax_s", "g")
    r = record(2326, 7, 0x401000, 5, 3, b"hi", 0xC000)
    assert layout.struct.unpack_from(r) == (2326, 7, 0x401000, 5, 3, b"hi".ljust(32, b"\0"), 0xC000)
    import pickle

    assert pickle.loads(pickle.dumps(layout)).struct.size == layout.size
    # kernel 6.18 writes `u8 ax_s[]`: still an array of `size` bytes (was silently skipped)
    newer = parse_format(FORMAT.replace("ax_s[32]", "ax_s[]"))
    assert newer.names == layout.names and newer.struct.format == layout.struct.format


def test_merger_orders_cpus_and_holds_back_the_newest() -> None:
    r = record(2326, 7, 0x401000, 5, 3, b"", 0)
    m = RecordMerger()
    now = 10 * HOLDBACK_NS
    cpu0 = page(now - HOLDBACK_NS - 500, [(0, r), (600, r)])  # the second is held back
    cpu1 = page(now - HOLDBACK_NS - 300, [(0, r)])
    out = m.records([(0, cpu0), (1, cpu1)], lost=0, read_ns=now)
    assert [(x.ts, x.cpu) for x in out] == [(now - HOLDBACK_NS - 500, 0), (now - HOLDBACK_NS - 300, 1)]
    rest = m.records([], lost=2, read_ns=now, final=True)
    assert [(x.ts, x.cpu) for x in rest] == [(now - HOLDBACK_NS + 100, 0)]
    assert m.lost == 2


def _spec(kind: str, n: int, sizes: tuple[int, ...] = ()) -> ValueSpec:
    return ValueSpec("v", kind, tuple(f"k{i}" for i in range(n)), "", sizes)


def test_decode_values() -> None:
    f = {"k0": 0xC000010000, "k1": 5, "k2": b"hello\0\0"}
    assert decode_value(_spec("string", 3), f) == "hello"
    assert decode_value(_spec("string", 3), {"k0": 0, "k1": 0, "k2": b""}) == ""
    # bytes never asked of the probe (a mass attach) are not reported as a fault
    assert decode_value(_spec("string", 2), {"k0": 0xC000010000, "k1": 12}) == "<12 bytes, not read>"
    long = {"k0": 1, "k1": 40, "k2": b"a" * 32}
    assert decode_value(_spec("string", 3), long) == "a" * 32 + "…(+8)"
    assert decode_value(_spec("int", 1, (8,)), {"k0": (1 << 64) - 7}) == -7
    assert decode_value(_spec("int", 1, (4,)), {"k0": 0xDEAD_FFFF_FFF9}) == -7  # upper half ignored
    assert decode_value(_spec("uint", 1, (1,)), {"k0": 0x1FF}) == 0xFF
    assert decode_value(_spec("bool", 1, (1,)), {"k0": 0x100}) is False
    slice_ = decode_value(_spec("slice", 3), {"k0": 0x10, "k1": 2, "k2": 4})
    assert slice_ == {"ptr": "0x10", "len": 2, "cap": 4}
    assert decode_value(_spec("iface", 2), {"k0": 0, "k1": 0}) is NIL
    assert decode_value(_spec("ptr", 1), {"k0": 0xC000012345}) == "0xc000012345"
    assert decode_value(_spec("ptr", 1), {"k0": 0}) is NIL
    duration = ValueSpec("d", "int", ("k0",), "time.Duration", (8,))
    assert decode_value(duration, {"k0": 1_500_000_000}) == "1.5s"
    assert json_values({"p": NIL, "d": decode_value(duration, {"k0": 150_000})}) == {"p": None, "d": "150µs"}


def test_durations_adapt() -> None:
    assert [format_duration(n) for n in (850, 12_345, 50_612_000, 1_500_000_000)] == [
        "850ns", "12.3µs", "50.6ms", "1.50s"]


def test_pairing_unmatched_return_leaves_the_stack_alone() -> None:
    p = Pairing()
    key = (1, 0xA)
    p.push(key, "main.outer", 100)
    p.push(key, "main.inner", 200)
    assert p.pop(key, "main.stray") is None  # e.g. a probe attached mid-call
    assert p.pop(key, "main.inner") == 200
    assert p.pop(key, "main.outer") == 100
    assert (p.unmatched, p.pending) == (1, 0)


def test_pairing_skips_entries_that_never_returned() -> None:
    p = Pairing()
    key = (1, 0xA)
    p.push(key, "main.f", 1)
    p.push(key, "main.panics", 2)  # panicked: its return never comes
    assert p.pop(key, "main.f") == 1
    assert (p.abandoned, p.pending) == (1, 0)


def test_pairing_any_depth_under_a_global_bound() -> None:
    p = Pairing(limit=1000)
    key = (1, 0xA)
    for i in range(5000):  # deeper than the bound: the outermost entries go, counted
        p.push(key, "main.Deep", i)
    assert p.pending == 1000 and p.evicted == 4000
    got = [p.pop(key, "main.Deep") for _ in range(5000)]
    assert got[:1000] == list(range(4999, 3999, -1))
    assert got[1000:] == [None] * 4000 and p.unmatched == 4000


def test_decoder_maps_the_fired_address_to_its_function() -> None:
    layout = parse_format(FORMAT)
    f_spec = (ValueSpec("a", "int", ("ax",), "int", (8,)),)
    ev = ProbeEvent("gp1_0_main_F", "entry", "/bin/x", (), True, False,
                    [Site("main.F", "entry", 0x401000, 0x1000, f_spec),
                     Site("main.G", "entry", 0x402000, 0x2000, f_spec)], layout)
    dec = EventDecoder()
    dec.learn(ev)
    import os

    pid = os.getpid()
    pg = page(5_000, [(0, record(2326, pid, 0x402000, 9, 0, b"", 0xA)),
                      (5, record(2326, pid, 0x403000, 9, 0, b"", 0xA))])
    m = RecordMerger()
    recs = m.records([(0, pg)], 0, 10**12)
    first, second = (dec.decode(r) for r in recs)
    assert (first.function, first.args, first.pid) == ("main.G", {"a": 9}, pid)
    assert second is None and dec.unattributed == 1


def test_fetch_arg_whitelist() -> None:
    assert valid_fetch_arg("a=%ax:s64")
    assert valid_fetch_arg("a_s=+0(%ax):u8[32]")
    assert valid_fetch_arg("x=+8(+16(%sp)):x64")
    for bad in ["a=%ax:string", "a=%ax:s64 b=%bx:s64", "a=%ax:s64\n-:foo", "common_pid=%ax:s64",
                "a=$comm:string", "a=%ax:s64#", "a=@sym:s64"]:
        assert not valid_fetch_arg(bad), bad
