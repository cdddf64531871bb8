"""Ring-buffer pages, record layouts, merging CPUs, and which probe a record came from."""

from __future__ import annotations

import os
import struct
import time

import pytest

from goprobe_tui.pipeline.decoder import EventDecoder
from goprobe_tui.pipeline.merge import HOLDBACK_NS, RecordMerger
from goprobe_tui.tracefs.formats import parse_format
from goprobe_tui.tracefs.ringbuf import PageError, page_records, parse_header_page
from goprobe_tui.tracefs.session import ProbeEvent, Site
from goprobe_tui.values.kinds import ValueSpec
from tests.support.pages import FORMAT, HEADER_PAGE, page, record


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
    assert layout.type_id == 2326 and layout.names == ("ax", "bx", "ax_s", "g", "comm")
    r = record(2326, 7, 0x401000, 5, 3, b"hi", 0xC000)
    assert layout.struct.unpack_from(r) == (
        2326,
        7,
        0x401000,
        5,
        3,
        b"hi".ljust(32, b"\0"),
        0xC000,
        7 << 16 | 76,
    )  # $comm: "gotest\0" at offset 76
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


def test_decoder_maps_the_fired_address_to_its_function() -> None:
    layout = parse_format(FORMAT)
    f_spec = (ValueSpec("a", "int", ("ax",), "int", (8,)),)
    ev = ProbeEvent(
        "gp1_0_main_F",
        "entry",
        "/bin/x",
        (),
        True,
        False,
        [
            Site("main.F", "entry", 0x401000, 0x1000, f_spec),
            Site("main.G", "entry", 0x402000, 0x2000, f_spec),
        ],
        layout,
    )
    dec = EventDecoder()
    dec.learn(ev)
    pid = os.getpid()
    pg = page(  # written now, by this thread: not by an earlier thread of the same id
        time.monotonic_ns(),
        [(0, record(2326, pid, 0x402000, 9, 0, b"", 0xA)), (5, record(2326, pid, 0x403000, 9, 0, b"", 0xA))],
    )
    m = RecordMerger()
    recs = m.records([(0, pg)], 0, time.monotonic_ns() + 10**12)
    (first,), second = (dec.decode(r) for r in recs)
    assert (first.function, first.args, first.pid) == ("main.G", {"a": 9}, pid)
    assert second == () and dec.unattributed == 1
    # the thread's name is the record's own $comm, not the name /proc gives this test's thread
    assert first.comm == "gotest"
    renamed = m.records(
        [(0, page(time.monotonic_ns(), [(0, record(2326, pid, 0x402000, 9, 0, b"", 0xA, comm=b"a\nb"))]))],
        0,
        time.monotonic_ns() + 10**12,
    )
    assert [ev.comm for r in renamed for ev in dec.decode(r)] == ["a\nb"]
