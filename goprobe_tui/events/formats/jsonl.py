"""JSON lines: one object per event, or per function for stats (`--json` is its alias)."""

from __future__ import annotations

import json
from typing import TextIO

from goprobe_tui.events.formats.base import EventWriter, LineWriter, OutputFormat, Snapshot, register
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.events.text import by_function

STATS_KEYS = (
    "function",
    "calls",
    "inlined",
    "untraced_inlined_sites",
    "errors",
    "p50_ns",
    "p90_ns",
    "p99_ns",
    "max_ns",
    "min_ns",
    "mean_ns",
    "returns",
    "unpaired_returns",
    "histogram",
    "slowest",
    "callers",
)


def json_line(ev: TraceEvent) -> str:
    return json.dumps(ev.to_json_dict())


def status_line(status: TraceStatus) -> str:
    """The last line of every JSON-lines output: whether anything is missing, and why."""
    return json.dumps(
        {
            "kind": "status",
            "decoded": status.decoded,
            "lost": status.lost,
            "malformed": status.malformed,
            "unattributed": status.unattributed,
            "unpaired_returns": status.unpaired_returns,
            "filtered": status.filtered,
            "complete": status.lost == 0 and status.malformed == 0 and status.error is None,
            **({"error": status.error} if status.error else {}),
        }
    )


@register
class JsonLinesFormat(OutputFormat):
    name = "json"
    suffix = ".jsonl"
    summary = "one JSON object per event (per function for stats)"

    def writer(self, out: TextIO) -> EventWriter:
        return LineWriter(out, json_line)

    def trailer(self, status: TraceStatus) -> str:
        return status_line(status) + "\n"

    def write_stats(self, snapshot: Snapshot, out: TextIO, status: TraceStatus | None = None) -> None:
        for s in by_function(snapshot):
            keyed = {"key": s["key"]} if "key" in s else {}
            if s.get("total"):
                keyed["total"] = True  # --by: the function's sum over its keys
            out.write(
                json.dumps({"function": s["function"], **keyed, **{k: s.get(k, 0) for k in STATS_KEYS[1:]}})
                + "\n"
            )
        if status is not None:
            out.write(status_line(status) + "\n")
        out.flush()
