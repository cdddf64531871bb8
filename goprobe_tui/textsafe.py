"""Untrusted text made safe to show: names, strings, comm and paths come from the traced
program or binary, and may hold ESC sequences, newlines or bidi overrides."""

from __future__ import annotations


def printable(text: str) -> str:
    """Control and format characters shown escaped (`\\x1b`, `\\n`, `\\u202e`); letters of any
    script as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
