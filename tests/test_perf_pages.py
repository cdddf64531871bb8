"""perf samples rewritten as ring-buffer pages: the decoder's one input. Every sample comes out
as a record with its time and bytes, in order; perf's lost-record counts are added up."""

from __future__ import annotations

import struct

from goprobe_tui.tracefs import perf
from goprobe_tui.tracefs.ringbuf import page_records


class _Targets:
    pid = 10  # the target: the samples below are its own
    stacks = True
    stack_depth = 8  # callchain entries kept (the probe's address and 7 frames)
    rings: dict = {}
    children = False  # a launched program's forks: traced too


def _sample(pid: int, tid: int, ts: int, raw: bytes, ips: tuple[int, ...] = ()) -> bytes:
    chain = struct.pack("<Q", len(ips) + 1) + struct.pack(f"<{len(ips) + 1}Q", perf.CONTEXT_USER, *ips)
    body = struct.pack("<IIQII", pid, tid, ts, 1, 0) + chain + struct.pack("<I", len(raw)) + raw
    body += b"\0" * (-len(body) % 8)
    return struct.pack("<IHH", perf.RECORD_SAMPLE, 0, 8 + len(body)) + body


def _lost(n: int) -> bytes:
    return struct.pack("<IHHQQ", perf.RECORD_LOST, 0, 24, 7, n)


def test_samples_become_records_in_order_and_loss_is_counted() -> None:
    reader = perf.PerfReader(_Targets(), stack_type=13)
    raws = [bytes([i % 256]) * (12 + 4 * (i % 50)) for i in range(300)]  # enough to fill several pages
    # times far apart too: an absolute stamp precedes each record
    times = [1_000_000_000 + i * 50_000_000_000 for i in range(300)]
    data = b"".join(_sample(10, 11, t, r) for t, r in zip(times, raws, strict=True))
    data += _lost(5) + _sample(10, 11, times[-1] + 1, b"last-record!") + _lost(2)
    pages = reader._pages(data)
    assert len(pages) > 1 and all(len(p) <= reader.page_size for p in pages)
    got = [(ts, page[start:end]) for page in pages for ts, start, end in page_records(page)]
    assert [ts for ts, _ in got] == [*times, times[-1] + 1]
    assert [body[: len(raw)] for (_, body), raw in zip(got, [*raws, b"last-record!"], strict=True)] == [
        *raws,
        b"last-record!",
    ]
    assert reader.lost == 7


def test_stack_records_follow_their_sample_when_asked() -> None:
    reader = perf.PerfReader(_Targets(), stack_type=13)
    reader.emit_stacks = True
    data = _sample(10, 11, 5_000, b"\x2a\x00" + b"\0" * 10, ips=(0x401000, 0x402000))
    (page,) = reader._pages(data)
    (_, s1, _e1), (ts2, s2, _e2) = page_records(page)
    assert ts2 == 5_000
    kind, _flags, _preempt, tid, tgid = struct.unpack_from("<HBBiI", page, s2)
    assert (kind, tid, tgid) == (13, 11, 10)
    assert struct.unpack_from("<3Q", page, s2 + 16) == (0x401000, 0x402000, 0)
    assert page[s1 : s1 + 2] == b"\x2a\x00"


def test_a_sample_of_another_process_is_never_the_targets() -> None:
    reader = perf.PerfReader(_Targets(), stack_type=13)
    assert reader._pages(_sample(11, 12, 5_000, b"\x2a\x00" + b"\0" * 10)) == []
    assert reader.foreign == 1


def test_a_launched_programs_children_are_kept_each_with_its_process() -> None:
    """trace BIN -- ARGS: the processes it forks inherit its events; each sample's process id
    is passed on (tid -> pid), since /proc may name another process by the time it is read."""
    targets = _Targets()
    targets.children = True
    reader = perf.PerfReader(targets, stack_type=13)
    raw = b"\x2a\x00" + b"\0" * 10
    pages = reader._pages(_sample(10, 10, 5_000, raw) + _sample(11, 12, 6_000, raw))
    assert pages and reader.foreign == 0
    assert reader.take_tgids() == {10: 10, 12: 11}
    assert reader.take_tgids() == {}  # each told once


def test_a_deep_callchain_keeps_every_frame_asked_for() -> None:
    """--stack-depth with --pid: more than 8 callers, their count in the record's padding."""
    targets = _Targets()
    targets.stack_depth = 12
    reader = perf.PerfReader(targets, stack_type=13)
    reader.emit_stacks = True
    ips = tuple(0x401000 + i for i in range(15))
    (page,) = reader._pages(_sample(10, 11, 5_000, b"\x2a\x00" + b"\0" * 10, ips=ips))
    (_, _s1, _e1), (_ts2, s2, _e2) = page_records(page)
    (count,) = struct.unpack_from("<I", page, s2 + 12)
    assert count == 12  # (never 0 from perf: the kernel's own records leave it 0)
    assert struct.unpack_from("<12Q", page, s2 + 16) == ips[:12]
