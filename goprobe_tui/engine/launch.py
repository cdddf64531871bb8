"""A program started under trace (`trace BIN PATTERN -- ARGS`): held before its first
instruction until its probes are in place, then let go.

The child is a shell that waits on a pipe, then execs the program in its own place (same pid):
the perf events are opened on that pid while it waits, inherited by the threads and processes
it will create, and the kernel puts the breakpoints into the program's memory as exec maps it,
so its `init` functions are seen too. A shell, not a preexec_fn: the engine's threads already
run, and a fork of a threaded Python must not run Python before exec. It keeps goprobe-tui's
stdin, stdout and stderr."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from goprobe_tui.errors import BadInput

# FD is the pipe: one line on it, and the shell execs the program with FD closed; EOF
# (never started): it exits 1, having run nothing
_HOLD = 'read _ <&{fd} && exec {fd}<&- && exec "$0" "$@"'


class LaunchedProgram:
    def __init__(self, path: str, args: list[str]) -> None:
        if not os.access(path, os.X_OK):
            raise BadInput(f"{path}: not an executable file")
        read, self._go = os.pipe()
        try:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", _HOLD.format(fd=read), path, *args], pass_fds=(read,), close_fds=True
            )
        finally:
            os.close(read)
        self.status: int | None = None  # its exit status, once it ended (128+N: killed by N)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> None:
        """Let it run (its probes are in place)."""
        with contextlib.suppress(OSError):  # it died meanwhile: its status says so
            os.write(self._go, b"go\n")
        self._close_pipe()

    def ended(self) -> bool:
        if self.status is None and self.proc.poll() is not None:
            self.status = exit_status(self.proc.returncode)
        return self.status is not None

    def wait(self) -> int:
        self._close_pipe()  # never started: the shell reads EOF and execs nothing
        if self.status is None:
            self.status = exit_status(self.proc.wait())
        return self.status

    def forward(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signum)

    def shares_terminal_signals(self) -> bool:
        """Whether a Ctrl-C on the terminal reached the program already: it is in our process
        group, which is the terminal's foreground group (then a forwarded SIGINT would be a
        second one)."""
        try:
            return os.getpgid(self.proc.pid) == os.getpgrp() == os.tcgetpgrp(0)
        except OSError:
            return False

    def _close_pipe(self) -> None:
        if self._go >= 0:
            with contextlib.suppress(OSError):
                os.close(self._go)
            self._go = -1


def exit_status(returncode: int) -> int:
    """A shell's way: the code it exited with, or 128+N when signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


STOP_FORWARDED = (signal.SIGINT, signal.SIGTERM)
