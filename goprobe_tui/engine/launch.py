"""A program started under trace (`trace BIN PATTERN -- ARGS`): held before its first
instruction until its probes are in place, then let go.

The child is a small Python that waits on a pipe, then execs the program in its own place
(same pid): the perf events are opened on that pid while it waits, inherited by the threads
and processes it will create, and the kernel puts the breakpoints into the program's memory
as exec maps it, so its `init` functions are seen too. A process of its own, not a preexec_fn:
the engine's threads already run, and a fork of a threaded Python must not run Python before
exec. It keeps goprobe-tui's stdin, stdout and stderr (the TUI's: a log file)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys

from goprobe_tui.errors import BadInput

# argv: FD PATH ARG...; a line on FD, then exec PATH (same pid); EOF (never started): exit 1,
# having run nothing. Python, not sh: dash reads no fd number above 9 ("Bad fd number").
_HOLD = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "if not os.read(fd, 1):\n"
    "    sys.exit(1)\n"
    "os.close(fd)\n"
    "try:\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
    "except OSError as e:\n"
    "    sys.exit(f'{sys.argv[2]}: {e.strerror}')\n"
)


class LaunchedProgram:
    def __init__(self, path: str, args: list[str], output: int | None = None) -> None:
        """output: where its stdout and stderr go, with stdin from /dev/null (the TUI owns
        the terminal); None: it keeps ours, stdin included."""
        if not os.access(path, os.X_OK):
            raise BadInput(f"{path}: not an executable file")
        read, self._go = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _HOLD, str(read), path, *args],
                pass_fds=(read,),
                close_fds=True,
                stdin=None if output is None else subprocess.DEVNULL,
                stdout=output,  # None: ours
                stderr=output,
            )
        finally:
            os.close(read)
        self.status: int | None = None  # its exit status, once it ended (128+N: killed by N)
        self.started = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> None:
        """Let it run (its probes are in place)."""
        with contextlib.suppress(OSError):  # it died meanwhile: its status says so
            os.write(self._go, b"go\n")
        self._close_pipe()
        self.started = True

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


class ProgramRuns:
    """The TUI's program (`goprobe-tui BINARY -- ARG...`): one held run at a time, run again
    on request; stdin from /dev/null, stdout and stderr appended to one log file (the screen
    is the TUI's), each run headed by a line of its own."""

    def __init__(self, path: str, args: list[str], log_path: str) -> None:
        self.path, self.args, self.log_path = path, args, log_path
        self.runs = 0
        self.program = self._held()

    def _held(self) -> LaunchedProgram:
        # as root, in a directory others may write: never through a symlink, never a FIFO
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(self.log_path, flags, 0o644)
        except OSError as exc:
            raise BadInput(f"{self.log_path}: cannot write the program's output ({exc.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise BadInput(f"{self.log_path}: not a regular file: the program's output is not written there")
        try:
            program = LaunchedProgram(self.path, self.args, output=fd)
        finally:
            os.close(fd)
        return program

    def start(self) -> None:
        self.runs += 1
        command = " ".join([self.path, *self.args])
        line = f"=== goprobe-tui run {self.runs}: pid {self.program.pid}: {command}\n"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            os.write(fd, line.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        self.program.start()

    def next(self) -> LaunchedProgram:
        """A new held run (the last one has ended): its pid for the new probes."""
        self.program.wait()
        self.program = self._held()
        return self.program

    def close(self) -> None:
        """A held run never started exits at once; a running one runs on (it is not ours
        to kill)."""
        if not self.program.started:
            self.program.wait()

    def state(self) -> str:
        p = self.program
        if not p.started:
            return f"program pid {p.pid} held: R runs it"
        if p.ended():
            return f"program pid {p.pid} exited with status {p.status}: R runs it again"
        return f"program pid {p.pid} running"
