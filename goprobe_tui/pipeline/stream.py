"""Where decoded events come from: pages read here, decoded by a low-priority child process.

Three threads, none of them waiting inside the kernel:
- reader: every PACE, copies whatever pages the per-CPU buffers hold (non-blocking) into an
  outbox. Cheap, at full priority: the kernel buffer is emptied whatever the decoder does.
- writer: sends the outbox (event announcements and pages, in order) to the child's stdin.
- receiver: takes the child's frames and hands batches to `on_batch(count, batch, stats)`; a
  batch is the pickled list of rows, unpickled only when drained (backlog.py).
The outbox is bounded (OUTBOX_BYTES); pages beyond it are dropped and their records counted
as lost, never hidden.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import goprobe_tui
from goprobe_tui.events.model import EventRow
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.pipeline.decoder_messages import (
    Announce,
    Done,
    Eof,
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
    ToDecoder,
    WalkedStacks,
)
from goprobe_tui.pipeline.frames import FrameBuffer, write_frame
from goprobe_tui.pipeline.output_writer import OutputWriter
from goprobe_tui.tracefs.page_reader import PACE, PageReader
from goprobe_tui.tracefs.ringbuf import PageError, page_records
from goprobe_tui.tracefs.session import ProbeEvent

Batch = list[EventRow] | bytes
OnBatch = Callable[[int, Batch, TraceStatus], None]
OUTBOX_BYTES = 512 << 20  # ~8M small events waiting for a starved decoder; beyond: counted lost
MAX_RESTARTS = 5  # a decoder that keeps dying is a bug, not bad luck: stop reading, say so
HEARTBEAT = 0.5  # seconds: statistics stay fresh when no event comes


class EventStream:
    def __init__(
        self,
        instance: str,
        root: str,
        pid_filter: int | None,
        on_batch: OnBatch,
        print_to: tuple[int, str, int | None] | None = None,
        stop_timeout: float | None = 5.0,
        rows: bool = True,
        on_insight: Callable[[list[StatsRow], list | None], None] | None = None,
        reader: PageReader | None = None,
        by: str | None = None,
        otlp: tuple[str, str, str] | None = None,
    ) -> None:
        """print_to=(fd, format name, count): the child writes events to fd itself (headless trace)
        and only stats come back; otherwise rows come back for the UI (unless rows=False).
        on_insight: the child also aggregates per-function statistics and sends snapshots.
        stop_timeout: how long stop() lets the child finish decoding (None: until every event
        is out). reader: where records come from (default: the instance's buffers)."""
        self.on_batch = on_batch
        self._by = by  # statistics per value of this (stats --by)
        self._show_walked = True  # the frames the probes walk are shown
        self._slower_than: int | None = None  # --slower-than, in ns
        self._threads_known: dict[int, int] = {}  # tid -> pid, from perf (a launched program)
        self._goroutines: tuple[int, ...] | None = None  # only these goroutines' events (None: all)
        self._otlp = otlp  # (url, binary, Go version): spans to a collector
        self.on_insight = on_insight
        self._rows = rows
        self.stop_timeout = stop_timeout
        self.error: str | None = None  # events are not read any more, and why
        self.restarts: list[str] = []  # what each decoder restart cost, for the user
        self.done = threading.Event()  # the child printed `count` events
        self.finished = threading.Event()  # the child exited
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._outbox: deque[ToDecoder] = deque()
        self._outbox_bytes = 0
        self._dropped = 0  # records lost on our side: full outbox, a decoder that died
        self._lost_now = 0  # the kernel's and our losses as last sent to the child
        self._unsent = 0  # records the writer could not send once stopping
        self._root, self._pid_filter, self._print_to = root, pid_filter, print_to
        # the events' output is written here, whole records only, whatever child dies
        self._output = OutputWriter(print_to[0], print_to[1]) if print_to else None
        self._events: dict[str, ProbeEvent] = {}  # what a restarted decoder must learn again
        self._gen = 0  # decoder generation: messages popped for a dead one are lost, counted
        self._seq = 0  # page messages written to this generation
        self._inflight: deque[tuple[int, list]] = deque()  # written, not yet acknowledged
        self._base = TraceStatus()  # totals of the decoders that died
        self._last = TraceStatus()  # the current decoder's latest figures
        # events the current decoder had written since its latest figures: should it die now,
        # they are written, not lost (its figures could not say so)
        self._printed_since = 0
        self.reader = reader or PageReader(instance, root)  # OSError goes to the caller
        self._proc = self._spawn()
        self._threads = [
            threading.Thread(target=t, name=f"goprobe-{t.__name__[1:]}", daemon=True)
            for t in (self._write, self._receive, self._read)
        ]
        for t in self._threads:
            t.start()

    def _spawn(self) -> subprocess.Popen:
        """A decoder child; its first message (start) goes to the front of the outbox."""
        env = dict(os.environ)
        # the child runs this very package, wherever it was imported from
        pkg_root = str(Path(goprobe_tui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([pkg_root, *filter(None, [env.get("PYTHONPATH")])])
        print_to = self._print_to
        if print_to is None:
            output: RowsOutput | PrintOutput = RowsOutput(self._rows, self.on_insight is not None, self._by)
        else:
            left = None if print_to[2] is None else max(0, print_to[2] - self._base.decoded)
            output = PrintOutput(print_to[1], left)
        proc = subprocess.Popen(
            [sys.executable, "-m", "goprobe_tui.pipeline.decoder_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        with self._cond:
            for ev in reversed(list(self._events.values())):
                self._outbox.appendleft(Announce(ev))
            if self._goroutines is not None:
                self._outbox.appendleft(OnlyGoroutines(self._goroutines))
            if not self._show_walked:
                self._outbox.appendleft(WalkedStacks(False))
            if self._slower_than is not None:
                self._outbox.appendleft(SlowerThan(self._slower_than))
            if self._threads_known:  # a restarted decoder: every thread told so far
                self._outbox.appendleft(Threads(dict(self._threads_known)))
            self._outbox.appendleft(
                Start(
                    self.reader.header,
                    self._root,
                    self._pid_filter,
                    output,
                    getattr(self.reader, "one_process", None),
                    self._otlp,
                )
            )
            self._cond.notify()
        return proc

    # -- parent -> child ------------------------------------------------------------
    def _put(self, msg: ToDecoder, size: int = 0) -> None:
        with self._cond:
            self._outbox.append(msg)
            self._outbox_bytes += size
            self._cond.notify()

    def set_by(self, by: str | None) -> None:
        """Statistics by this parameter or field from now on (a restarted decoder too)."""
        self._by = by
        self._put(StatsBy(by))

    def only_goroutines(self, goids: tuple[int, ...] | None) -> None:
        """Events of these goroutines only from now on (None: all), a restarted decoder too:
        where a kernel filter cannot be changed (a perf event takes one filter, once)."""
        self._goroutines = goids
        self._put(OnlyGoroutines(goids))

    def only_slower_than(self, ns: int | None) -> None:
        """Only calls slower than ns from now on (None: every event), a restarted decoder too."""
        self._slower_than = ns
        self._put(SlowerThan(ns))

    def show_walked_stacks(self, on: bool) -> None:
        """Events decoded from now on carry the frames their probes walked, or not (a restarted
        decoder too)."""
        self._show_walked = on
        self._put(WalkedStacks(on))

    def announce(self, event: ProbeEvent) -> None:
        with self._cond:
            self._events[event.name] = event
        self._put(Announce(event))

    def _read(self) -> None:
        sent_pages = False
        last_lost = 0
        last_put = 0.0
        try:
            while True:
                final = self._stop.is_set()  # set once the probes are disabled: read it all
                pages, lost, read_ns = self.reader.read()
                take = getattr(self.reader, "take_tgids", None)
                threads = take() if take is not None else None
                if threads:  # before the pages whose records they name
                    self._threads_known.update(threads)
                    self._put(Threads(threads))
                size = sum(len(p) for _, p in pages)
                if pages and (self.error or self._outbox_bytes + size > OUTBOX_BYTES):
                    self._dropped += _records(pages, self.reader)
                    pages, size = [], 0
                # An empty message after data still matters: its later read time releases the
                # records the merger holds back. With statistics, one at least every
                # HEARTBEAT: the decoder sends them when it gets a message (calls/s decays).
                heartbeat = self.on_insight is not None and time.monotonic() - last_put >= HEARTBEAT
                if pages or final or sent_pages or heartbeat or lost + self._dropped != last_lost:
                    last_put = time.monotonic()
                    self._put(Pages(pages, lost + self._dropped, read_ns), size)
                sent_pages, last_lost = bool(pages), lost + self._dropped
                self._lost_now = last_lost  # the newest figure, should the child never see it
                if final:
                    break
                if not self.reader.more:
                    self._stop.wait(PACE)
        except OSError as exc:
            self.error = f"reading the trace buffers: {exc.strerror}"
        finally:
            self.reader.close()
            self._put(Eof())

    def _write(self) -> None:
        while True:
            with self._cond:
                while not self._outbox:
                    self._cond.wait()
                msg = self._outbox.popleft()
                if isinstance(msg, Pages):
                    self._outbox_bytes -= sum(len(p) for _, p in msg.pages)
                gen, stdin = self._gen, self._proc.stdin
            if isinstance(msg, Eof):
                break
            assert stdin is not None  # Popen(stdin=PIPE)
            try:
                write_frame(stdin.fileno(), msg)
            except (OSError, ValueError):
                written = False  # the decoder died: the receiver restarts it
            except Exception as exc:  # a bug here must not leave the child waiting for ever
                self.error = f"cannot feed the event decoder: {exc}"
                break
            else:
                written = True
            if not isinstance(msg, Pages):
                continue
            with self._cond:
                if written and gen == self._gen:
                    self._seq += 1
                    self._inflight.append((self._seq, msg.pages))
                elif self._stop.is_set():  # the reader has sent its last figure: count here
                    self._unsent += _records(msg.pages, self.reader)
                else:
                    self._dropped += _records(msg.pages, self.reader)
        stdin = self._proc.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()

    # -- child -> parent --------------------------------------------------------------
    def _status(self, last: TraceStatus) -> TraceStatus:
        """The current decoder's figures, acknowledged; totals over every decoder so far."""
        self._last = last
        self._printed_since = 0
        with self._cond:
            while self._inflight and self._inflight[0][0] <= last.messages:
                self._inflight.popleft()
        return last.after(self._base)

    def _receive(self) -> None:
        while True:
            status = self._receive_from(self._proc)
            if self._stop.is_set() or self.done.is_set() or self.error is not None:
                break
            if len(self.restarts) >= MAX_RESTARTS:
                self.error = (
                    f"event decoder exited (status {status}) {len(self.restarts) + 1} "
                    "times: events are no longer read (and counted lost)"
                )
                break
            self._restart(status)
        self._ready.set()
        self.finished.set()

    def _receive_from(self, proc: subprocess.Popen) -> int:
        assert proc.stdout is not None  # Popen(stdout=PIPE)
        fd = proc.stdout.fileno()
        frames = FrameBuffer()
        while True:
            try:
                data = os.read(fd, 1 << 20)  # blocks without the GIL
            except OSError:
                data = b""
            if not data:
                break
            for msg in frames.feed(data):
                match msg:
                    case PrintText() | PrintRows() if self._output is not None:
                        self._print(msg)
                        self._printed_since += msg.count
                    case Events(count, rows, status):
                        self.on_batch(count, rows, self._status(status))
                    case Status(status):
                        self.on_batch(0, [], self._status(status))
                    case Insight(stats, flame) if self.on_insight is not None:
                        self.on_insight(stats, flame)
                    case Ready():
                        self._ready.set()
                    case Done():
                        self.done.set()
                    case Failed(why):
                        self.error = why
        with contextlib.suppress(OSError, ValueError):
            proc.stdout.close()
        return proc.wait()

    def _restart(self, status: int) -> None:
        """The decoder died (killed, out of memory): what it had not passed on is counted lost,
        and a new one learns every event and goes on from the next page."""
        with self._cond:
            lost = sum(_records(pages, self.reader) for _, pages in self._inflight) + self._last.held
            written = min(self._printed_since, lost)  # decoded from those pages and written out
            lost -= written
            self._printed_since = 0
            self._inflight.clear()
            self._dropped += lost
            self._base = self._last.after(self._base)
            self._base = replace(self._base, decoded=self._base.decoded + written)
            self._last = TraceStatus()
            self._gen += 1
            self._seq = 0
            self._proc = self._spawn()
        self.restarts.append(
            f"event decoder exited (status {status}) and was restarted; "
            f"{lost:,} events it held were lost (counted)"
        )
        self.on_batch(0, [], self._last.after(self._base))

    @property
    def ready(self) -> bool:
        """The child decodes, or will never (it died: error says why)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float = 120.0) -> str | None:
        """None once the child decodes, else why it does not. A child that dies sets _ready
        too, so the long timeout is only for a child slow to start (a loaded machine: 10 s was
        seen to be too short)."""
        if not self._ready.wait(timeout):
            return self.error or "event decoder did not start"
        return self.error

    def _print(self, msg: PrintText | PrintRows) -> None:
        output = self._output
        if output is None:  # the child prints only when told where
            return
        try:
            if isinstance(msg, PrintText):
                output.write_text(msg.data)
            else:
                output.write_rows(msg.rows)
        except OSError as exc:
            self.error = f"writing the events: {exc.strerror}"
        if output.closed:  # the reader went away (`| head`): as if the count was reached
            self.done.set()

    def _close_output(self) -> None:
        """Once the child is gone: the output's last part (a Chrome file's end, the folded stacks), with
        the final counts."""
        if self._output is not None and not self._output.closed:
            try:
                self._output.close(self._last.after(self._base))
            except OSError as exc:
                self.error = f"writing the events: {exc.strerror}"

    def stop(self) -> None:
        """After the probes were disabled: one last read, then the child finishes what it has
        (up to stop_timeout seconds in all; None waits for every event to be decoded). A child
        that cannot (starved, stopped, dead) is killed, and what it held is counted lost."""
        timeout = self.stop_timeout
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self._stop.set()
        me = threading.current_thread()
        # the writer blocks on a child that reads nothing: never wait for it past the deadline
        others = [t for t in self._threads if t is not me and t.name != "goprobe-receive"]
        for t in others:
            t.join(left())
        if not self.finished.wait(left()):
            self._proc.kill()
            for t in others:
                t.join(5.0)
            self.finished.wait(5.0)
        self._count_unfinished()
        self._close_output()

    def _count_unfinished(self) -> None:
        """What the child never passed on (it was killed at the stop, or died during it) is
        counted lost, never just gone: pages written and not acknowledged, pages never sent,
        the records it held back."""
        if self.done.is_set():
            return  # it wrote its --count: the rest was not asked for, nothing is lost
        with self._cond:
            pages = [p for _, p in self._inflight] + [m.pages for m in self._outbox if isinstance(m, Pages)]
            uncounted = sum(_records(p, self.reader) for p in pages) + self._last.held + self._unsent
            written = min(self._printed_since, uncounted)  # written out: not lost
            uncounted -= written
            self._printed_since = 0
            self._inflight.clear()
            self._outbox = deque(m for m in self._outbox if not isinstance(m, Pages))
            self._unsent = 0
            lost = max(self._last.lost, self._lost_now) + uncounted
            if lost == self._last.lost and not self._last.held and not written:
                return
            self._last = replace(self._last, lost=lost, held=0, decoded=self._last.decoded + written)
        if uncounted:
            self.restarts.append(
                f"the event decoder did not finish by the stop: {uncounted:,} "
                "events it had not decoded were lost (counted)"
            )
        self.on_batch(0, [], self._last.after(self._base))


def _records(pages: list[tuple[int, bytes]], reader: PageReader) -> int:
    return sum(_count(p, reader) for _, p in pages)


def _count(page: bytes, reader: PageReader) -> int:
    try:
        return len(page_records(page, reader.header))
    except PageError:
        return 1
