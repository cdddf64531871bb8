"""Signals, for both front ends: INT, TERM and HUP are held (blocked, not lost) from start-up
until a handler is ready, and a handler only records the signal and writes a byte to a pipe.

A handler that did more could land anywhere (inside a kernel write, inside teardown) and leak
probes; one that took a lock (threading.Event.set) could interrupt its own thread inside that
lock and deadlock. The front end reads the pipe (a wait, or a thread) and tears down.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def hold_signals() -> None:
    """Hold INT/TERM/HUP pending (not lost) while nothing is ready to handle them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def release_signals() -> None:
    """Deliver what was held, now that handlers are in place."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def ignore_signals() -> None:
    """Torn down: a late signal must not turn the exit status into a kill, nor interrupt the
    interpreter's exit (it resets Python handlers then; SIG_IGN stays)."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def interrupt_raises() -> None:
    """Until a command's own handlers are in place, Ctrl-C is a KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def leave_stopping_to_the_parent() -> None:
    """A child (the decoder): Ctrl-C and hang-ups reach the whole process group, but the parent
    decides when it stops (it closes the child's stdin after disabling the probes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def hangup_status() -> int:
    """The exit status of a process ended by a hang-up, as a shell reports it."""
    return 128 + signal.SIGHUP


class SignalPipe:
    """Handlers for `signals` that record the first one (`received`) and wake whoever waits
    on the pipe; more signals change nothing but another wake-up."""

    def __init__(self, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        self.received: str | None = None
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        for s in signals:
            signal.signal(s, self._handle)
        release_signals()  # held since start-up: a pending one is handled now

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.wake(signum)

    def wake(self, code: int = 0) -> None:
        """Wake the waiter without a signal (something else happened)."""
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._w, bytes([code]))

    def __call__(self) -> bool:
        """Whether a stop signal came: the front end's `stop()` test."""
        return self.received is not None

    def wait(self, timeout: float | None) -> list[int]:
        """Up to `timeout` seconds (None: until woken); the codes that woke it."""
        ready = select.select([self._r], [], [], None if timeout is None else max(0.0, timeout))[0]
        if not ready:
            return []
        with contextlib.suppress(BlockingIOError):
            return list(os.read(self._r, 4096))
        return []

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)
