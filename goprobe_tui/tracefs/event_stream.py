"""Where decoded events come from: a child process (the TUI) or a thread (headless).

Both run the same DecodeLoop and hand batches to `on_batch(count, batch, stats)`; a batch is a
list of event rows or, from the child, the pickled list (unpickled only when it is drained,
so events waiting in a backlog cost the parent neither CPU nor garbage-collector time).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import goprobe_tui
from goprobe_tui.tracefs.decode import EventRow
from goprobe_tui.tracefs.decode_loop import DecodeLoop
from goprobe_tui.tracefs.frames import FrameBuffer, write_frame
from goprobe_tui.tracefs.reader import ReadStats
from goprobe_tui.tracefs.session import Probe

Batch = list[EventRow] | bytes
OnBatch = Callable[[int, Batch, ReadStats], None]


class EventStream(Protocol):
    error: str | None

    def announce(self, probe: Probe) -> None: ...
    def wait_ready(self, timeout: float = 10.0) -> str | None: ...
    def stop(self) -> None: ...


class ThreadEventStream:
    """In-process: cheapest for the traced program, but its decoding competes for our GIL."""

    def __init__(self, trace_pipe: str, instance: str, pid_filter: int | None, on_batch: OnBatch) -> None:
        self.on_batch = on_batch
        self.error: str | None = None
        self._announced: queue.SimpleQueue[Probe] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._args = (trace_pipe, instance, pid_filter)
        self._thread = threading.Thread(target=self._run, name="goprobe-events", daemon=True)
        self._thread.start()

    def announce(self, probe: Probe) -> None:
        self._announced.put(probe)

    def _drain_announced(self) -> list[Probe]:
        out = []
        while not self._announced.empty():
            out.append(self._announced.get_nowait())
        return out

    def wait_ready(self, timeout: float = 10.0) -> str | None:
        self._ready.wait(timeout)
        return self.error

    def _run(self) -> None:
        try:
            loop = DecodeLoop(*self._args)
        except OSError as exc:
            self.error = f"cannot open {self._args[0]}: {exc.strerror}"
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                events, stats = loop.step(self._drain_announced)
                if stats is not None:
                    self.on_batch(len(events), events, stats)
        except OSError as exc:
            self.error = f"reading {self._args[0]}: {exc.strerror}"
        finally:
            loop.close()

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)


class ProcessEventStream:
    """A child process decodes; this side only receives pickled batches (the TUI's choice)."""

    def __init__(self, trace_pipe: str, instance: str, pid_filter: int | None, on_batch: OnBatch) -> None:
        self.on_batch = on_batch
        self.error: str | None = None
        self._ready = threading.Event()
        self._write_lock = threading.Lock()
        self._stopping = False
        env = dict(os.environ)
        # the child runs this very package, wherever it was imported from
        root = str(Path(goprobe_tui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "goprobe_tui.tracefs.decoder_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True)
        self._send(("start", trace_pipe, instance, pid_filter))
        self._thread = threading.Thread(target=self._receive, name="goprobe-events", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 10.0) -> str | None:
        """None once the child reads trace_pipe, else why it does not."""
        if not self._ready.wait(timeout):
            return self.error or "event decoder did not start"
        return self.error

    def announce(self, probe: Probe) -> None:
        self._send(("probe", probe))

    def _send(self, msg: tuple) -> None:
        with self._write_lock:
            try:
                write_frame(self._proc.stdin.fileno(), msg)
            except (OSError, ValueError):
                self.error = self.error or "event decoder is not running"

    def _receive(self) -> None:
        fd = self._proc.stdout.fileno()
        frames = FrameBuffer()
        while True:
            try:
                data = os.read(fd, 1 << 20)  # blocks without the GIL
            except OSError:
                data = b""
            if not data:
                break
            for msg in frames.feed(data):
                kind = msg[0]
                if kind == "events":
                    self.on_batch(msg[1], msg[2], ReadStats(*msg[3]))
                elif kind == "stats":
                    self.on_batch(0, [], ReadStats(*msg[1]))
                elif kind == "ready":
                    self._ready.set()
                elif kind == "error":
                    self.error = msg[1]
        if self.error is None and not self._stopping:
            self.error = f"event decoder exited (status {self._proc.wait()})"
        self._ready.set()

    def stop(self) -> None:
        """Close the child's stdin (its signal to stop) and wait; trace_pipe is closed after."""
        self._stopping = True
        with self._write_lock, contextlib.suppress(OSError, ValueError):
            self._proc.stdin.close()
        try:
            self._proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        with contextlib.suppress(OSError, ValueError):
            self._proc.stdout.close()
