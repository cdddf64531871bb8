"""Names of Go symbols: which package a function belongs to."""

from __future__ import annotations


def package_of(name: str) -> str:
    """The package path of a Go symbol name, as debug/gosym.Sym.PackageName does it."""
    if name.startswith(("go:", "type:", "go.")):
        return ""
    slash = name.rfind("/", 0, name.find("[") if "[" in name else len(name))
    dot = name.find(".", slash + 1)
    return name[:dot] if dot >= 0 else ""
