"""The one exception type the binary reader raises for bad input."""


class BinaryError(Exception):
    """The file is not a readable Go ELF binary, or one of its tables is corrupt."""
