"""Waiting on a condition in a Textual pilot test, never on a fixed time: a loaded machine
(another suite beside this one) can take seconds where a quiet one takes milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable


async def until(pilot, ready: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)
