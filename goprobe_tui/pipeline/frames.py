"""Length-prefixed pickle frames on a pipe between goprobe-tui and its own decoder process.

Pickle is only ever exchanged with a child we started from our own package; nothing from the
traced program is unpickled (it arrives as text and is decoded in the child).
"""

from __future__ import annotations

import os
import pickle
import struct
from typing import Any

_HEADER = struct.Struct("<I")


def write_frame(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


class FrameBuffer:
    """Bytes in, whole objects out; a partial frame waits for the next feed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        out = []
        pos = 0
        while len(self._buf) - pos >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buf, pos)
            end = pos + _HEADER.size + size
            if len(self._buf) < end:
                break
            out.append(pickle.loads(self._buf[pos + _HEADER.size : end]))
            pos = end
        del self._buf[:pos]
        return out
