"""The child process that reads trace_pipe and decodes events: `python -m` this module.

Reading and decoding a full-rate event stream is Python work that, on a thread, would hold the
GIL the UI's event loop needs. Here it has its own interpreter; the parent only stores the
pickled batches and unpickles what it shows. Protocol (frames.py), parent -> child on stdin:
  ("start", trace_pipe, instance, pid_filter), then ("probe", Probe) for each probe before it
  is enabled; EOF means stop.
child -> parent on stdout:
  ("ready",) | ("error", text) | ("events", count, pickled [EventRow], stats tuple)
  | ("stats", stats tuple)
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import signal
import traceback

from goprobe_tui.tracefs.decode_loop import DecodeLoop
from goprobe_tui.tracefs.frames import FrameBuffer, write_frame
from goprobe_tui.tracefs.session import Probe

FRAME_EVENTS = 1000  # unpickling one batch is one uninterruptible call in the parent: keep it short


class _Control:
    """Frames from the parent, read without blocking once started."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.frames = FrameBuffer()
        self.closed = False
        self._rest: list[tuple] = []

    def first(self) -> tuple:
        while True:
            data = os.read(self.fd, 1 << 16)
            if not data:
                raise EOFError
            msgs = self.frames.feed(data)
            if msgs:
                self._rest = msgs[1:]
                os.set_blocking(self.fd, False)
                return msgs[0]

    def probes(self) -> list[Probe]:
        msgs, self._rest = self._rest, []
        while not self.closed:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise
            if not data:
                self.closed = True
                break
            msgs += self.frames.feed(data)
        return [m[1] for m in msgs if m[0] == "probe"]


def serve(ctrl: _Control, out: int) -> None:
    kind, trace_pipe, instance, pid_filter = ctrl.first()
    if kind != "start":
        raise ValueError(f"unexpected first message {kind!r}")
    try:
        loop = DecodeLoop(trace_pipe, instance, pid_filter)
    except OSError as exc:
        write_frame(out, ("error", f"cannot open {trace_pipe}: {exc.strerror}"))
        return
    loop.also_wake_on(ctrl.fd)
    write_frame(out, ("ready",))
    while not ctrl.closed:
        events, stats = loop.step(ctrl.probes)
        if stats is None:
            continue
        counts = stats.as_tuple()
        for i in range(0, len(events), FRAME_EVENTS):
            batch = events[i:i + FRAME_EVENTS]
            payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            write_frame(out, ("events", len(batch), payload, counts))
        if not events:
            write_frame(out, ("stats", counts))
    loop.close()


def main() -> int:
    # Ctrl-C and hang-ups reach the whole process group; the parent decides when we stop
    # (it closes our stdin), so the pipe stays open until its probes are disabled.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the frames
    try:
        serve(_Control(0), out)
    except (EOFError, BrokenPipeError):
        pass  # the parent went away: nothing to report to
    except Exception:
        with contextlib.suppress(OSError):
            write_frame(out, ("error", "event decoder failed: " + traceback.format_exc(limit=4)))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
