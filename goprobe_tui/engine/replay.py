"""`replay PLAN RECORDS`: decode what a probe script (probe_script.py) saved on its target.

The records folder is shaped like tracefs (events/*/format, per_cpu/cpuN/trace_pipe_raw and
stats), so the live decoder reads it as it is: the same merge, pairing and value decoding as a
live trace, with the target's own record layouts. Loss is the target kernel's count.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from goprobe_tui.engine.probe_script import Plan, read_plan
from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.events.model import TraceEvent, set_wall_offset
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.pipeline.decode_loop import DecodeLoop
from goprobe_tui.pipeline.merge import HOLDBACK_NS
from goprobe_tui.safe_read import NotReadable, open_regular, read_small
from goprobe_tui.tracefs.formats import parse_format
from goprobe_tui.tracefs.page_reader import read_loss
from goprobe_tui.tracefs.ringbuf import DEFAULT_HEADER, parse_header_page

SMALL_FILE = 1 << 20  # formats, header_page, stats, clock: a few hundred bytes each
MAX_CPUS = 4096
SUBBUF_KB = (4, 8, 16, 32, 64, 128, 256, 512, 1024)  # what the kernel's sub-buffers can be
BATCH_PAGES = 64  # decoded and written at a time: memory stays bounded whatever the files' size


@dataclass
class Replay:
    plan: Plan
    missing: list[str]  # events with no format: the script stopped before making them
    events: Iterator[list[TraceEvent]]  # in batches, oldest first
    loop: DecodeLoop
    skipped: list[str] = field(default_factory=list)  # what was not read, and why

    def status(self) -> TraceStatus:
        return self.loop.status()


def _read(path: str) -> bytes:
    return read_small(path, SMALL_FILE)


def replay(plan_folder: str, records: str, binary: str | None = None) -> Replay:
    """binary: the file to read values from, if the plan's is no longer where it was."""
    plan = read_plan(plan_folder)
    if not os.path.isdir(os.path.join(records, "per_cpu")):
        raise BadInput(f"{records}: no per_cpu/ records (the folder a probe script saved)")
    path = binary or plan.binary
    if not os.path.isfile(path):
        raise BadInput(f"{path}: the traced binary is not here (give it with --binary)")
    skipped: list[str] = []
    try:
        header = parse_header_page(_read(os.path.join(records, "events", "header_page")).decode())
    except (OSError, ValueError, GoprobeError) as exc:
        header = DEFAULT_HEADER
        skipped.append(f"events/header_page: {exc}; the usual page layout assumed")
    size = _subbuf_size(records)
    set_wall_offset(_target_clock(records))
    loop = DecodeLoop(header, records, None, live=False)
    missing = []
    for ev in plan.events:
        try:
            text = _read(os.path.join(records, "events", plan.group, ev.name, "format"))
            ev.layout = parse_format(text.decode())
        except (OSError, ValueError, GoprobeError):
            missing.append(ev.name)
            continue
        ev.path = path
        loop.learn(ev)
    files = _cpu_files(records, size, skipped)
    lost = _loss(records, skipped)
    return Replay(plan, missing, _decode(loop, files, size, lost), loop, skipped)


def _subbuf_size(records: str) -> int:
    """The target's sub-buffer size in bytes (a page where the file is absent: kernels before
    6.8 have none); a number the kernel cannot have is refused, never guessed around."""
    path = os.path.join(records, "buffer_subbuf_size_kb")
    try:
        text = _read(path).decode("ascii", "replace").split()
    except NotReadable as exc:
        if os.path.lexists(path):
            raise BadInput(f"{path}: {exc}") from None
        return 4096
    if not text or not text[0].isdigit() or int(text[0]) not in SUBBUF_KB:
        shown = text[0][:20] if text else "empty"
        raise BadInput(
            f"{path}: {shown} is not a sub-buffer size the kernel has ({', '.join(map(str, SUBBUF_KB))} KiB)"
        )
    return int(text[0]) * 1024


def _target_clock(records: str) -> int:
    """The target's wall clock minus its monotonic clock, as its script saw them; 0 (times
    from 1970: plainly not real) when it saved none, rather than this machine's offset."""
    try:
        real, mono = _read(os.path.join(records, "clock")).decode().split()[:2]
        return int(float(real) * 1e9) - int(mono) if "N" not in real else 0
    except (OSError, ValueError):
        return 0


def _loss(records: str, skipped: list[str]) -> int:
    def read(path: str) -> str:
        try:
            return _read(path).decode("utf-8", "replace")
        except NotReadable as exc:
            skipped.append(f"{os.path.relpath(path, records)}: {exc}; its loss count is not known")
            raise

    try:
        return read_loss(records, read)
    except (ValueError, GoprobeError) as exc:
        skipped.append(f"per_cpu/*/stats: {exc}; the loss count is not known")
        return 0


def _cpu_files(records: str, size: int, skipped: list[str]) -> list[tuple[int, int, int]]:
    """(cpu, descriptor, pages) of every readable per_cpu/cpuN/trace_pipe_raw."""
    base = os.path.join(records, "per_cpu")
    names = sorted(os.listdir(base))
    out = []
    for name in names:
        if not name.startswith("cpu") or not name[3:].isdigit() or int(name[3:]) >= MAX_CPUS:
            skipped.append(f"per_cpu/{name[:40]}: not a CPU's folder")
            continue
        rel = f"per_cpu/{name}/trace_pipe_raw"
        try:
            fd = open_regular(os.path.join(base, name, "trace_pipe_raw"))
        except NotReadable as exc:
            skipped.append(f"{rel}: {exc}; skipped")
            continue
        length = os.fstat(fd).st_size
        if length % size:
            skipped.append(
                f"{rel}: {length % size} bytes after its last whole {size // 1024} KiB page; skipped"
            )
        out.append((int(name[3:]), fd, length // size))
    return out


def _cpu_pages(fd: int, pages: int, size: int) -> Iterator[bytes]:
    """One CPU's pages in order, skipping the holes of a sparse file (pages of zeros hold no
    record) without reading them."""
    at, end = 0, pages * size
    while at < end:
        try:
            data_at = os.lseek(fd, at, os.SEEK_DATA)
        except OSError:  # ENXIO: nothing but a hole to the end
            return
        at = data_at - data_at % size
        if at >= end:
            return
        page = os.pread(fd, size, at)
        if len(page) < size:  # shrank while read
            return
        yield page
        at += size


def _decode(
    loop: DecodeLoop, files: list[tuple[int, int, int]], size: int, lost: int
) -> Iterator[list[TraceEvent]]:
    """Pages merged across CPUs as a live reader would see them: always the CPU whose next page
    is oldest, and each record let out once no unread page can hold an older one."""
    streams = {cpu: _cpu_pages(fd, pages, size) for cpu, fd, pages in files}
    try:
        heads: list[tuple[int, int, bytes]] = []  # (page timestamp, cpu, page)
        for cpu, pages in streams.items():
            _push(heads, cpu, pages)
        while heads:
            batch: list[tuple[int, bytes]] = []
            while heads and len(batch) < BATCH_PAGES:
                _ts, cpu, page = heapq.heappop(heads)
                batch.append((cpu, page))
                _push(heads, cpu, streams[cpu])
            final = not heads
            # records newer than the oldest unread page wait for it (merge.HOLDBACK_NS)
            read_ns = heads[0][0] + HOLDBACK_NS if heads else 0
            rows = loop.step(batch, lost, read_ns, final=final)
            if rows:
                yield [TraceEvent.from_row(row) for row in rows]
    finally:
        for _cpu, fd, _pages in files:
            os.close(fd)


def _push(heads: list[tuple[int, int, bytes]], cpu: int, pages: Iterator[bytes]) -> None:
    page = next(pages, None)
    if page is not None:
        heapq.heappush(heads, (int.from_bytes(page[:8], "little"), cpu, page))
