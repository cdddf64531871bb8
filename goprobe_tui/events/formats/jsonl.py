"""JSON lines: one object per event, or per function for stats (`--json` is its alias)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TextIO

from goprobe_tui.events import model
from goprobe_tui.events.formats.base import EventWriter, LineWriter, OutputFormat, Snapshot, register
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.events.text import by_function, json_values
from goprobe_tui.values.decoded import UNAVAILABLE, Marker

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
    "slower",
)


def json_line(ev: TraceEvent) -> str:
    return json.dumps(event_json(ev))


def event_json(ev: TraceEvent) -> dict[str, Any]:
    """An event as the JSON lines print it (the Chrome trace and the details screen too)."""
    if ev.kind == "line":
        return _line_json(ev)
    if ev.kind == "spawn":
        return _spawn_json(ev)
    return {
        **_json_head(ev),
        "function": ev.function,
        "kind": ev.kind,
        "args": json_values(ev.args),
        "returns": json_values(ev.returns),
        "latency_ns": ev.latency_ns,
        **({"registers": ev.registers} if ev.registers else {}),
        **({} if not ev.args_note else {"args_note": ev.args_note}),
        **(
            {}
            if not ev.inlined
            else {
                "inlined_in": ev.inlined[0][0],
                "file": ev.inlined[0][1],
                "line": ev.inlined[0][2],
                "inlined_chain": [f for f, _file, _line in ev.inlined],
            }
        ),
        **(
            {}
            if ev.stack is None
            else {
                "stack": [
                    {"function": f, "inlined": inl, "file": file, "line": line}
                    for f, inl, file, line in ev.stack
                ]
            }
        ),
    }


def _json_head(ev: TraceEvent) -> dict[str, Any]:
    """What every JSON event begins with: when, where, who."""
    wall = ev.ts_ns + model.WALL_OFFSET_NS
    return {
        "ts": ev.ts_ns / 1e9,
        "time": datetime.fromtimestamp(wall / 1e9, UTC).isoformat(timespec="microseconds"),
        "cpu": ev.cpu,
        "pid": ev.pid,
        "nspid": ev.nspid,
        "tid": ev.tid,
        "goid": ev.goid,
        "comm": ev.comm,
    }


def _spawn_json(ev: TraceEvent) -> dict[str, Any]:
    file, line = ev.source or ("", 0)
    return {
        **_json_head(ev),
        "kind": "spawn",
        "child_goid": ev.args.get("child_goid"),
        "function": ev.function,
        "file": file,
        "line": line,
        "start": ev.args.get("start"),
    }


def _line_json(ev: TraceEvent) -> dict[str, Any]:
    file, line = ev.source or ("", 0)
    return {
        **_json_head(ev),
        "kind": "line",
        "probe": ev.probe,
        "function": ev.function,
        "file": file,
        "line": line,
        "locals": json_values(ev.args),
        **(
            {}
            if not (gone := [k for k, v in ev.args.items() if v == UNAVAILABLE and isinstance(v, Marker)])
            else {"unavailable": gone}
        ),
        **({} if not ev.args_note else {"locals_note": ev.args_note}),
        **(
            {}
            if not ev.inlined
            else {
                "inlined_in": ev.inlined[0][0],
                "inlined_chain": [f for f, _file, _line in ev.inlined],
            }
        ),
        **(
            {}
            if ev.stack is None
            else {
                "stack": [
                    {"function": f, "inlined": inl, "file": file, "line": line}
                    for f, inl, file, line in ev.stack
                ]
            }
        ),
    }


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
            **(
                {"faster_calls": status.faster_calls, "no_latency": status.no_latency}
                if status.faster_calls or status.no_latency
                else {}
            ),
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
            keyed = {"key": s.key} if s.key is not None else {}
            if s.total:
                keyed["total"] = True  # --by: the function's sum over its keys
            out.write(
                json.dumps({"function": s.function, **keyed, **{k: getattr(s, k) for k in STATS_KEYS[1:]}})
                + "\n"
            )
        if status is not None:
            out.write(status_line(status) + "\n")
        out.flush()
