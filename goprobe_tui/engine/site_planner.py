"""What the planners of probes away from a function's entry share (inlined calls,
inline_sites.py; source lines, line_sites.py): the binary, how to read the goroutine in the
function holding the code, and the DWARF scopes that place variables at a pc."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from goprobe_tui.errors import GoprobeError
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.dwarf_vars import DwarfScopes
from goprobe_tui.gobinary.frame_pointer import frame_set_at
from goprobe_tui.gobinary.type_shapes import POINTER_DEPTH
from goprobe_tui.values.conditions import compile_condition
from goprobe_tui.values.kinds import ValueSpec

UNREADABLE = object()  # condition_tree's answer where the condition's names cannot be read here


class SitePlanner:
    def __init__(
        self,
        binary: GoBinary,
        goroutine: Callable[[Function], tuple[str, ...]],
        types_base: Callable[[], int | None],
        pointer_depth: int = POINTER_DEPTH,
    ) -> None:
        """goroutine(holder): the fetch args that read the goroutine in that function."""
        self.binary = binary
        self._goroutine = goroutine
        self._types_base = types_base
        self.pointer_depth = pointer_depth
        self._frames: dict[int, int | None] = {}  # frame_pointer.frame_set_at per function

    @cached_property
    def _scopes(self) -> DwarfScopes:
        return DwarfScopes(self.binary.dwarf, self.binary.arch, self.binary.elf.ptrsize)

    def _frame_ready(self, index: int) -> int | None:
        """frame_pointer.frame_set_at of a function, worked out once."""
        if index not in self._frames:
            self._frames[index] = frame_set_at(self.binary, self.binary.functions[index])
        return self._frames[index]

    @staticmethod
    def condition_tree(condition: str, values: tuple[ValueSpec, ...], function: str):
        """The compiled --where for one place whose readable values are `values`: None with
        no condition, UNREADABLE where its names cannot be read there (that place is left
        out and counted, never filtered wrongly)."""
        if not condition:
            return None
        try:
            return compile_condition(condition, values, (), function).tree
        except GoprobeError:
            return UNREADABLE
