"""The child process that decodes events: `python -m` this module, at low CPU priority.

The session's process only copies pages out of the kernel (cheap, full priority, so the
buffer never overflows); merging, decoding and formatting are Python work that would compete
with the traced program for CPU. Here they run at nice 19: when the machine is saturated, the
traced program comes first and events arrive later, never lost (they wait in memory, bounded).

Protocol: the classes of decoder_messages.py, in frames (frames.py). Parent -> child on stdin:
Start first, then in order Announce before each event is enabled, StatsBy, WalkedStacks,
OnlyGoroutines, SlowerThan, Threads as they change, and Pages; EOF: the probes are disabled,
finish and exit. Child -> parent on stdout: Ready or Failed, then with RowsOutput: Events
(if rows), Status, and with insight Insight at most every INSIGHT_EVERY s and at the end;
with PrintOutput: PrintText (line formats) or PrintRows (the others), which the parent
writes (output_writer.py), Status, and Done at the count.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import time
import traceback

from goprobe_tui.events.formats import get_format
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.exit_codes import FAILED, OK
from goprobe_tui.pipeline.decode_loop import DecodeLoop
from goprobe_tui.pipeline.decoder_messages import (
    Announce,
    Done,
    Events,
    Failed,
    Insight,
    OnlyGoroutines,
    Pages,
    PrintOutput,
    PrintRows,
    PrintText,
    Ready,
    RowsOutput,
    SlowerThan,
    Start,
    StatsBy,
    Status,
    Threads,
    WalkedStacks,
)
from goprobe_tui.pipeline.frames import FrameBuffer, write_frame
from goprobe_tui.pipeline.output_writer import formats_lines
from goprobe_tui.signals import leave_stopping_to_the_parent

FRAME_EVENTS = 1000  # unpickling one batch is one uninterruptible call in the parent: keep it short
NICE = 19
INSIGHT_EVERY = 0.5  # seconds between statistics snapshots


def messages(fd: int):
    frames = FrameBuffer()
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            return
        yield from frames.feed(data)


class _Printer:
    """Events for the headless output, sent to the parent, which writes them (output_writer.py):
    whole records only, whatever process dies. Line formats go as their text."""

    def __init__(self, out: int, format_name: str, count: int | None) -> None:
        self.out = out
        self.lines = formats_lines(format_name)
        self.text = io.StringIO()
        self.writer = get_format(format_name).writer(self.text) if self.lines else None
        self.count = count
        self.seen = 0

    @property
    def done(self) -> bool:
        return self.count is not None and self.seen >= self.count

    def write(self, rows: list) -> None:
        if self.count is not None:
            rows = rows[: self.count - self.seen]
        if not rows:
            return
        self.seen += len(rows)
        for i in range(0, len(rows), FRAME_EVENTS):
            batch = rows[i : i + FRAME_EVENTS]
            if self.writer is None:
                payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                write_frame(self.out, PrintRows(payload, len(batch)))
                continue
            self.writer.write(map(TraceEvent.from_row, batch))
            data = self.text.getvalue().encode("utf-8", "backslashreplace")
            self.text.seek(0)
            self.text.truncate()
            write_frame(self.out, PrintText(data, len(batch)))


def serve(inp: int, out: int) -> None:
    stream = messages(inp)
    start = next(stream)
    if not isinstance(start, Start):
        raise RuntimeError(f"unexpected first message {start!r}")  # the parent's bug, not input
    output = start.output
    printing = isinstance(output, PrintOutput)
    rows_back = output if isinstance(output, RowsOutput) else None
    send_rows = printing or (rows_back is not None and rows_back.rows)  # printed here, or sent back
    loop = DecodeLoop(
        start.header,
        start.root,
        start.pid_filter,
        insight=rows_back is not None and rows_back.insight,
        one_process=start.one_process,
        by=rows_back.by if rows_back is not None else None,
        otlp=start.otlp,
    )
    printer = _Printer(out, output.format, output.count) if isinstance(output, PrintOutput) else None
    if isinstance(output, PrintOutput) and get_format(output.format).callers:
        loop.decoder.keep_call_args()  # each entry's direct caller, for the format to use
    write_frame(out, Ready())
    last: TraceStatus | None = None
    lost, read_ns = 0, 0
    done = False
    next_insight = 0.0
    sent_changes = -1
    sent_flame = -1
    for msg in stream:
        if done:
            continue  # read on to EOF, so the parent's writes never fail
        match msg:
            case Announce(event):
                loop.learn(event)
                continue
            case StatsBy(by):  # statistics by another key from now on
                if loop.table is not None:
                    loop.table.set_by(by)
                continue
            case WalkedStacks(on):
                loop.decoder.show_walked = on
                continue
            case OnlyGoroutines(goids):
                loop.goroutines = None if goids is None else frozenset(goids)
                continue
            case SlowerThan(ns):
                loop.only_slower_than(ns)
                continue
            case Threads(pids):
                loop.decoder.procs.learn_threads(pids)
                continue
            case Pages():
                pages, lost, read_ns = msg.pages, msg.lost, msg.read_ns
            case _:
                raise RuntimeError(f"unexpected message {msg!r}")  # the parent's bug, not input
        rows = loop.step(pages, lost, read_ns)
        last = _report(out, rows if send_rows else [], loop, printer, last)
        if printer is not None and printer.done:
            write_frame(out, Done())
            done = True
        table = loop.table
        if table is not None and time.monotonic() >= next_insight:
            now = time.monotonic_ns()
            # only what changed: an idle session with 2,000 functions would otherwise send
            # megabytes twice a second for the parent to unpickle
            if table.changes != sent_changes or table.moving(now):
                next_insight = time.monotonic() + INSIGHT_EVERY
                sent_changes = table.changes
                flame = loop.flame
                flame_rows = flame.snapshot() if flame is not None and flame.changes != sent_flame else None
                sent_flame = flame.changes if flame is not None else -1
                write_frame(out, Insight(table.snapshot(now), flame_rows))
    if not done:
        rows = loop.step([], lost, read_ns, final=True)  # EOF: nothing more can arrive
        if loop.sink is not None:
            loop.sink.close()  # what waits is sent now; the final counts go out below
        if loop.table is not None:
            final_flame = loop.flame.snapshot() if loop.flame is not None else None
            write_frame(out, Insight(loop.table.snapshot(time.monotonic_ns()), final_flame))
        _report(out, rows if send_rows else [], loop, printer, last, force=True)


def _report(
    out: int,
    rows: list,
    loop: DecodeLoop,
    printer: _Printer | None,
    last: TraceStatus | None,
    force: bool = False,
) -> TraceStatus:
    counts = loop.status()
    if printer is not None:
        printer.write(rows)
    else:
        for i in range(0, len(rows), FRAME_EVENTS):
            batch = rows[i : i + FRAME_EVENTS]
            payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            write_frame(out, Events(len(batch), payload, counts))
        if rows:
            return counts
    if counts != last or force:
        write_frame(out, Status(counts))
    return counts


def main() -> int:
    # Ctrl-C and hang-ups reach the whole process group; the parent decides when we stop
    # (it closes our stdin after disabling the probes), so every record gets decoded.
    leave_stopping_to_the_parent()
    with contextlib.suppress(OSError):
        os.nice(NICE)
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the frames
    try:
        serve(0, out)
    except (EOFError, BrokenPipeError, StopIteration):
        pass  # the parent went away: nothing to report to
    except Exception:
        with contextlib.suppress(OSError):
            write_frame(out, Failed("event decoder failed: " + traceback.format_exc(limit=4)))
        return FAILED
    return OK


if __name__ == "__main__":
    raise SystemExit(main())
