"""`replay PLAN RECORDS`: decode what a probe script (probe_script.py) saved on its target.

The records folder is shaped like tracefs (events/*/format, per_cpu/cpuN/trace_pipe_raw and
stats), so the live decoder reads it as it is: the same merge, pairing and value decoding as a
live trace, with the target's own record layouts. Loss is the target kernel's count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from goprobe_tui.engine.probe_script import Plan, read_plan
from goprobe_tui.errors import BadInput
from goprobe_tui.events.model import TraceEvent, set_wall_offset
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.pipeline.decode_loop import DecodeLoop
from goprobe_tui.tracefs.formats import parse_format
from goprobe_tui.tracefs.page_reader import read_loss
from goprobe_tui.tracefs.ringbuf import DEFAULT_HEADER, parse_header_page

BATCH_PAGES = 256


@dataclass
class Replay:
    plan: Plan
    missing: list[str]  # events with no format: the script stopped before making them
    events: Iterator[TraceEvent]
    loop: DecodeLoop

    def status(self) -> TraceStatus:
        return self.loop.status()


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def replay(plan_folder: str, records: str, binary: str | None = None) -> Replay:
    """binary: the file to read values from, if the plan's is no longer where it was."""
    plan = read_plan(plan_folder)
    if not os.path.isdir(os.path.join(records, "per_cpu")):
        raise BadInput(f"{records}: no per_cpu/ records (the folder a probe script saved)")
    path = binary or plan.binary
    if not os.path.isfile(path):
        raise BadInput(f"{path}: the traced binary is not here (give it with --binary)")
    try:
        header = parse_header_page(_read(os.path.join(records, "events", "header_page")).decode())
    except (OSError, ValueError):
        header = DEFAULT_HEADER
    set_wall_offset(_target_clock(records))
    loop = DecodeLoop(header, records, None, live=False)
    missing = []
    for ev in plan.events:
        try:
            text = _read(os.path.join(records, "events", plan.group, ev.name, "format"))
            ev.layout = parse_format(text.decode())
        except (OSError, ValueError):
            missing.append(ev.name)
            continue
        ev.path = path
        loop.learn(ev)
    return Replay(plan, missing, _decode(loop, records), loop)


def _target_clock(records: str) -> int:
    """The target's wall clock minus its monotonic clock, as its script saw them; 0 (times
    from 1970: plainly not real) when it saved none, rather than this machine's offset."""
    try:
        real, mono = _read(os.path.join(records, "clock")).decode().split()[:2]
        return int(float(real) * 1e9) - int(mono) if "N" not in real else 0
    except (OSError, ValueError):
        return 0


def _pages(records: str) -> Iterator[tuple[int, bytes]]:
    base = os.path.join(records, "per_cpu")
    try:
        size = int(_read(os.path.join(records, "buffer_subbuf_size_kb")).split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        size = 4096
    for name in sorted(os.listdir(base)):
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        try:
            data = _read(os.path.join(base, name, "trace_pipe_raw"))
        except OSError:
            continue
        for at in range(0, len(data) - size + 1, size):
            yield int(name[3:]), data[at:at + size]


def _decode(loop: DecodeLoop, records: str) -> Iterator[TraceEvent]:
    # Every page at once: the merge orders all CPUs by time, as a live final drain does.
    pages = list(_pages(records))
    rows = loop.step(pages, read_loss(records), 0, final=True)
    for row in rows:
        yield TraceEvent.from_row(row)
