"""The kinds of probe and event, one list for every layer: a probe at a function's entry, at
one of its RET instructions, at a source line, or at the return of runtime.newproc1 (a
goroutine created). The event a probe records has its probe's kind."""

from __future__ import annotations

from typing import Literal

EventKind = Literal["entry", "return", "line", "spawn"]
ENTRY: EventKind = "entry"
RETURN: EventKind = "return"
LINE: EventKind = "line"
SPAWN: EventKind = "spawn"
