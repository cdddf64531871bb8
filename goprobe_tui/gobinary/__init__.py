"""The Go binary, read without running it: ELF, pclntab (every layout from Go 1.2), runtime.text,
buildinfo, DWARF parameters, the register ABI, FUNCDATA, runtime type metadata, RET sweeps.
No UI and no kernel code.

May import: nothing of goprobe-tui but the base modules (errors, textsafe).
"""

from goprobe_tui.gobinary.binary import Function, FunctionTable, GoBinary
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.names import package_of

__all__ = ["BinaryError", "Function", "FunctionTable", "GoBinary", "package_of"]
