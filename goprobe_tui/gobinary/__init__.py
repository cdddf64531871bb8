"""Go ELF binary reader: pclntab, runtime.text, buildinfo. No UI and no kernel code."""

from goprobe_tui.gobinary.binary import Function, FunctionTable, GoBinary, package_of
from goprobe_tui.gobinary.errors import BinaryError

__all__ = ["BinaryError", "Function", "FunctionTable", "GoBinary", "package_of"]
