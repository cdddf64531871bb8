"""Headless output, written by goprobe-tui's own process, never by the decoder child: a
decoder killed mid-write (out of memory, a signal) must not leave half a record behind, and a
restarted one must not start a second Chrome header or lose the stacks a folded file holds.

Formats of one line per event (text, JSON lines) are formatted in the decoder, which sends the
text of whole records; the others get the rows, and their one writer lives here.
"""

from __future__ import annotations

import errno
import io
import os
import pickle

from goprobe_tui.events.formats import LineWriter, get_format
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus


def formats_lines(format_name: str) -> bool:
    """Whether each event is its own line(s) of text: the decoder may format those."""
    fmt = get_format(format_name)
    return not fmt.binary and isinstance(fmt.writer(io.StringIO()), LineWriter)


class OutputWriter:
    def __init__(self, fd: int, format_name: str) -> None:
        self.fd = fd
        self.closed = False  # the reader went away (EPIPE): nothing more is written
        fmt = self._format = get_format(format_name)
        self._text: io.StringIO | io.BytesIO = io.BytesIO() if fmt.binary else io.StringIO()
        self._writer = None if formats_lines(format_name) else fmt.writer(self._text)

    def write_text(self, data: bytes) -> None:
        """Whole records, as the decoder formatted them."""
        view = memoryview(data)
        while view and not self.closed:
            try:
                view = view[os.write(self.fd, view) :]
            except InterruptedError:
                continue
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
                self.closed = True

    def write_rows(self, payload: bytes) -> None:
        if self._writer is not None:
            self._writer.write(map(TraceEvent.from_row, pickle.loads(payload)))
            self._drain()

    def close(self, status: TraceStatus) -> None:
        if self._writer is not None:
            self._writer.close(status)
            self._drain()
        else:
            self.write_text(self._format.trailer(status).encode())

    def _drain(self) -> None:
        text = self._text.getvalue()
        if text:
            self._text.seek(0)
            self._text.truncate()
            self.write_text(text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace"))
