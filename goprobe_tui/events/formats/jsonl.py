"""JSON lines: one object per event, or per function for stats (`--json` is its alias)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from goprobe_tui.events.formats.base import EventWriter, OutputFormat, Snapshot, register
from goprobe_tui.events.model import TraceEvent

STATS_KEYS = ("function", "calls", "errors", "p50_ns", "p90_ns", "p99_ns", "max_ns", "min_ns",
              "mean_ns", "returns", "unpaired_returns", "histogram", "slowest", "callers")


class JsonLinesWriter(EventWriter):
    def write(self, events: Iterable[TraceEvent]) -> None:
        lines = [json.dumps(ev.to_json_dict()) for ev in events]
        if lines:
            self.out.write("\n".join(lines) + "\n")


@register
class JsonLinesFormat(OutputFormat):
    name = "json"
    suffix = ".jsonl"
    summary = "one JSON object per event (per function for stats)"

    def writer(self, out: TextIO) -> EventWriter:
        return JsonLinesWriter(out)

    def write_stats(self, snapshot: Snapshot, out: TextIO) -> None:
        for s in sorted(snapshot, key=lambda s: (-s["calls"], s["function"])):
            out.write(json.dumps({k: s[k] for k in STATS_KEYS}) + "\n")
        out.flush()
