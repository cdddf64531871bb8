"""Messages posted by workers; handlers on the app own all state."""

from __future__ import annotations

import numpy as np
from textual.message import Message


class SearchDone(Message):
    def __init__(self, query: str, rows: np.ndarray, scope: int) -> None:
        super().__init__()
        self.query = query
        self.rows = rows
        self.scope = scope  # the list scope the rows answer (t cycles it)


class ProbeChanged(Message):
    """A function was attached (`attached=True`) or detached."""

    def __init__(
        self,
        name: str,
        attached: bool,
        returns: bool = False,
        probes: int = 0,
        note: str = "",
        untraced: int = 0,
    ) -> None:
        super().__init__()
        self.untraced = untraced  # its inlined calls without a probe: its count is partial
        self.name = name
        self.attached = attached
        self.returns = returns
        self.probes = probes
        self.note = note  # e.g. "entry probe only": shown to the user once


class ProbeFailed(Message):
    def __init__(self, name: str, error: str) -> None:
        super().__init__()
        self.name = name
        self.error = error


class EventsDrained(Message):
    """One batch of events taken from the engine, with its counters at that instant."""

    def __init__(self, rows: list, status) -> None:
        super().__init__()
        self.rows = rows
        self.status = status

    def can_replace(self, message: Message) -> bool:
        """A UI busy for longer than a drain tick handles the batches waiting as one: this
        (older) batch's rows go first into the newer one, whose counters are the latest."""
        if not isinstance(message, EventsDrained):
            return False
        message.rows = self.rows + message.rows
        return True


class Notice(Message):
    """Something a worker has to tell the user (a notification; plain text)."""

    def __init__(self, text: str, severity: str = "information", timeout: float = 8) -> None:
        super().__init__()
        self.text = text
        self.severity = severity
        self.timeout = timeout


class InliningRead(Message):
    """The binary's inlined calls are known: every traceable function (the table's, then those
    that exist only inlined) and each one's number of inlined calls; None, None: they could
    not be read (the table's functions stay the list)."""

    def __init__(self, catalog, inlined: np.ndarray | None) -> None:
        super().__init__()
        self.catalog = catalog
        self.inlined = inlined


class WorkProgress(Message):
    """How far a long attach is (stage, done, total); done == total with stage "done": over.
    Only the newest one matters: a queue of them is merged (can_replace)."""

    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage, self.done, self.total = stage, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkProgress)
