"""Output formats: one registry for `trace`, `stats`, `-o FILE` and the TUI's save.

A format is one class (base.OutputFormat) in one module of this package, registered with
`@register`; the imports at the end of this file load them. Adding a format is one module and
one line there.
"""

from __future__ import annotations

from goprobe_tui.errors import BadInput
from goprobe_tui.events.formats.base import (
    FORMATS,
    EventWriter,
    LineWriter,
    OutputFormat,
    Snapshot,
    register,
)

__all__ = [
    "FORMATS",
    "EventWriter",
    "LineWriter",
    "OutputFormat",
    "Snapshot",
    "format_for_path",
    "get_format",
    "register",
]


def get_format(name: str) -> OutputFormat:
    """The format of that name; BadInput listing the known ones otherwise."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise BadInput(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    return fmt


def format_for_path(path: str, default: str = "json") -> OutputFormat:
    """The format whose suffix ends `path`, else the default."""
    return next((f for f in FORMATS.values() if path.endswith(f.suffix)), FORMATS[default])


# Registration: one line per format module.
from goprobe_tui.events.formats import chrome, folded, jsonl, pprof, text  # noqa: E402, F401 (they register)
