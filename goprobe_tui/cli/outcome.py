"""What `trace`, `stats` and `replay` share about their output: the format chosen, and the
one summary line at the end."""

from __future__ import annotations

from goprobe_tui.events.formats import format_for_path
from goprobe_tui.events.status import TraceStatus

NOT_MATCHING = "records of calls not matching --where, dropped by the decoder"
NO_LATENCY = "events without a latency not shown (inlined calls, lines, returns without their entry)"


def chosen_format(name: str | None, output: str | None) -> str:
    """--format, else the output file's suffix, else text."""
    if name is not None:
        return name
    return format_for_path(output, "json").name if output else "text"


def summary(shown: int, status: TraceStatus) -> str:
    """`N events, L lost, M malformed` and every other count that is not zero."""
    extra = "".join(
        f", {v} {k}"
        for k, v in (
            ("unattributed", status.unattributed),
            ("returns without latency", status.unpaired_returns),
            (NOT_MATCHING, status.filtered),
        )
        if v
    )
    # --slower-than: not shown by request, said so (the issue's own wording: "4,812 faster
    # calls not shown")
    if status.faster_calls:
        extra += f", {status.faster_calls:,} faster calls not shown"
    if status.no_latency:
        extra += f", {status.no_latency:,} {NO_LATENCY}"
    return f"{shown} events, {status.lost} lost, {status.malformed} malformed{extra}"
