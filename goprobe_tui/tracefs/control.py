"""The writes a probe session makes to tracefs, behind one small interface.

`LIVE` makes them on this machine's kernel. `script.ScriptControl` writes the same commands,
in the same order, into a shell script instead: for a machine where goprobe-tui cannot run
(no Python, another architecture), whose records come back to be decoded here.
"""

from __future__ import annotations

import os
from typing import Protocol

from goprobe_tui.tracefs import fs


class Control(Protocol):
    live: bool  # the kernel answers: formats can be read and refusals are known at once

    def mkdir(self, path: str) -> None: ...

    def rmdir(self, path: str) -> None: ...

    def write_value(self, path: str, value: str) -> None: ...

    def append_command(self, root: str, command: str) -> None: ...

    def append_commands(self, root: str, commands: list[str]) -> None: ...

    def read_text(self, path: str) -> str: ...


class LiveControl:
    live = True

    def mkdir(self, path: str) -> None:
        os.mkdir(path)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def write_value(self, path: str, value: str) -> None:
        fs.write_value(path, value)

    def append_command(self, root: str, command: str) -> None:
        fs.append_command(root, command)

    def append_commands(self, root: str, commands: list[str]) -> None:
        fs.append_commands(root, commands)

    def read_text(self, path: str) -> str:
        return fs.read_text(path)


LIVE = LiveControl()
