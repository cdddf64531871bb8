"""Chrome trace event JSON (opens in ui.perfetto.dev, chrome://tracing and speedscope): one
process per traced process, one track per goroutine (tid = goid, named `goroutine N`), each
paired call one complete event ("X", ts and dur in µs, arguments and results in args); entries
without a return, inlined calls and lines are instant events; lost events are marked; a
goroutine's creation (--goroutines) is an instant on its creator's track and a flow from there
to the new goroutine's track.

Streamed: the header goes out first, each call when it returns, the rest at close, so memory
holds only the calls still open."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from goprobe_tui.events.calls import CallMatcher
from goprobe_tui.events.formats.base import EventWriter, OutputFormat, register
from goprobe_tui.events.formats.jsonl import event_json
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.events.text import json_values


def _us(ns: int) -> float:
    return ns / 1000


class ChromeWriter(EventWriter):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.calls = CallMatcher(with_stacks=False)
        self._started = False  # an item was written: the next is preceded by a comma
        self._header_done = False
        self._tracks: dict[tuple[int, int], None] = {}
        self._processes: dict[int, str] = {}
        self._last_ns = 0
        self._flows: dict[tuple[int, int], tuple[int, int]] = {}  # new track -> (flow id, ts)
        self._next_flow = 0

    def _emit(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        text = ",\n".join(json.dumps(i, separators=(",", ":")) for i in items)
        self.out.write(("" if not self._started else ",\n") + text)
        self._started = True

    def _header(self) -> None:
        if not self._header_done:
            self._header_done = True
            self.out.write('{"displayTimeUnit":"ns","traceEvents":[\n')

    def _track(self, ev: TraceEvent) -> tuple[int, int]:
        pid, tid = ev.pid, ev.goid if ev.goid is not None else -ev.tid
        self._tracks.setdefault((pid, tid))
        self._processes.setdefault(pid, ev.comm)
        return pid, tid

    def write(self, events: Iterable[TraceEvent]) -> None:
        self._header()
        items: list[dict[str, Any]] = []
        for ev in events:
            self._last_ns = max(self._last_ns, ev.ts_ns)
            pid, tid = self._track(ev)
            flow = self._flows.pop((pid, tid), None)
            if flow is not None:  # the new goroutine's first event: the flow ends here
                items.append(self._flow_end(pid, tid, flow[0], ev.ts_ns))
            if ev.kind == "spawn":
                items.extend(self._spawn(ev, pid, tid))
                continue
            if not CallMatcher.is_call_edge(ev) or (ev.kind == "entry" and ev.has_return is False):
                items.append(self._instant(ev, pid, tid))  # nothing will close it: shown now
                continue
            call = self.calls.feed(ev)
            if call is None:
                continue
            args: dict[str, Any] = {}
            if call.entry is not None:
                args["args"] = json_values(call.entry.args)
            if call.ret.returns:
                args["returns"] = json_values(call.ret.returns)
            items.append(
                {
                    "name": ev.function,
                    "cat": "go",
                    "ph": "X",
                    "ts": _us(call.start_ns),
                    "dur": _us(call.dur_ns),
                    "pid": pid,
                    "tid": tid,
                    "args": args,
                }
            )
        self._emit(items)

    def _spawn(self, ev: TraceEvent, pid: int, tid: int) -> list[dict[str, Any]]:
        child = ev.args.get("child_goid")
        self._next_flow += 1
        flow_id = self._next_flow
        data = event_json(ev)
        out = [
            {
                "name": f"go {ev.args.get('start')}",
                "cat": "spawn",
                "ph": "i",
                "s": "t",
                "ts": _us(ev.ts_ns),
                "pid": pid,
                "tid": tid,
                "args": {k: data[k] for k in ("child_goid", "function", "file", "line", "start")},
            }
        ]
        if isinstance(child, int):
            self._tracks.setdefault((pid, child))
            self._flows[(pid, child)] = (flow_id, ev.ts_ns)
            out.append(
                {
                    "name": "go",
                    "cat": "spawn",
                    "ph": "s",
                    "id": flow_id,
                    "ts": _us(ev.ts_ns),
                    "pid": pid,
                    "tid": tid,
                }
            )
        return out

    @staticmethod
    def _flow_end(pid: int, tid: int, flow_id: int, ts_ns: int) -> dict[str, Any]:
        return {
            "name": "go",
            "cat": "spawn",
            "ph": "f",
            "bp": "e",
            "id": flow_id,
            "ts": _us(ts_ns),
            "pid": pid,
            "tid": tid,
        }

    @staticmethod
    def _instant(ev: TraceEvent, pid: int, tid: int, what: str = "") -> dict[str, Any]:
        data = event_json(ev)
        args = {k: data[k] for k in ("args", "locals", "file", "line", "inlined_in") if k in data}
        name = ev.function + (f" {what}" if what else "")
        if ev.kind == "line":
            name = f"{ev.probe or ev.function} (line)"
        elif ev.inlined:
            name = f"{ev.function} (inlined)"
        return {
            "name": name,
            "cat": "go",
            "ph": "i",
            "s": "t",
            "ts": _us(ev.ts_ns),
            "pid": pid,
            "tid": tid,
            "args": args,
        }

    def close(self, status: TraceStatus | None = None) -> None:
        self._header()
        items = [self._instant(ev, *self._track(ev), "(no return seen)") for ev in self.calls.still_open()]
        # a goroutine that did nothing traced: its flow ends where it was created
        items += [self._flow_end(pid, tid, flow_id, ts) for (pid, tid), (flow_id, ts) in self._flows.items()]
        self._flows.clear()
        lost = status.lost if status is not None else 0
        dropped = self.calls.unfinished_count  # entries whose return never came, beyond the bound
        if dropped:
            items.append(
                {
                    "name": f"{dropped:,} entries without a return not drawn",
                    "cat": "goprobe",
                    "ph": "i",
                    "s": "g",
                    "ts": _us(self._last_ns),
                    "pid": 0,
                    "tid": 0,
                    "args": {"not_drawn": dropped},
                }
            )
        if lost:
            items.append(
                {
                    "name": f"{lost:,} events lost",
                    "cat": "goprobe",
                    "ph": "i",
                    "s": "g",
                    "ts": _us(self._last_ns),
                    "pid": 0,
                    "tid": 0,
                    "args": {"lost": lost},
                }
            )
        for pid, comm in self._processes.items():
            items.append(
                {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": comm}}
            )  # viewers add the pid themselves
        for pid, tid in self._tracks:
            name = f"goroutine {tid}" if tid >= 0 else f"thread {-tid} (goroutine unknown)"
            items.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}})
            if tid >= 0:
                items.append(
                    {
                        "name": "thread_sort_index",
                        "ph": "M",
                        "pid": pid,
                        "tid": tid,
                        "args": {"sort_index": tid},
                    }
                )
        self._emit(items)
        self.out.write(
            '\n],"otherData":'
            + json.dumps({"producer": "goprobe-tui", "lost_events": lost, "entries_not_drawn": dropped})
            + "}\n"
        )
        self.out.flush()


@register
class ChromeFormat(OutputFormat):
    name = "chrome"
    suffix = ".trace.json"  # plain .json stays JSON lines
    summary = "Chrome trace event JSON: a track per goroutine (Perfetto, chrome://tracing, speedscope)"

    def writer(self, out: TextIO) -> EventWriter:
        return ChromeWriter(out)
