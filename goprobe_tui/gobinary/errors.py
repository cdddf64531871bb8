"""The one exception type the binary reader raises for bad input."""

from goprobe_tui.errors import BadInput


class BinaryError(BadInput):
    """The file is not a readable Go ELF binary, or one of its tables is corrupt."""
