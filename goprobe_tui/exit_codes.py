"""Exit statuses of every command, and the one way an error is reported on the terminal."""

from __future__ import annotations

import sys

OK = 0
FAILED = 1  # tracing stopped for a reason the user must know (teardown incomplete, binary changed)
BAD_INPUT = 2  # one line naming the cause; nothing was attached
INTERRUPTED = 130  # a signal before anything could be set up


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"goprobe-tui: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = BAD_INPUT) -> int:
    """Report and return the exit status: `return fail("...")`."""
    say(message)
    return code
