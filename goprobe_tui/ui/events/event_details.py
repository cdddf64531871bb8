"""One event in full, for the detail screen (Enter on an event)."""

from __future__ import annotations

import json

from goprobe_tui.events.formats.jsonl import event_json
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.text import format_duration, format_value
from goprobe_tui.textsafe import printable


def event_details(ev: TraceEvent, created_by: str = "") -> str:
    """created_by: who created the event's goroutine, where it is known."""
    lines = [
        f"{ev.function} ({ev.kind})",
        f"time {ev.clock_text()} · pid {ev.pid} · thread {ev.tid} · "
        f"goroutine {'?' if ev.goid is None else ev.goid} · cpu {ev.cpu} · {ev.comm}",
    ]
    if created_by:
        lines.append(created_by)
    if ev.kind == "spawn":
        lines.append(
            f"goroutine {ev.args.get('child_goid')} created, running "
            f"{ev.args.get('start')}: {ev.spawn_text()}"
        )
    if ev.kind == "return":
        lines.append(f"latency {format_duration(ev.latency_ns)}")
    values = ev.returns if ev.kind == "return" else {} if ev.kind == "spawn" else ev.args
    if ev.inlined:
        lines.append(ev.inlined_text())
    if ev.args_note:
        lines.append(ev.args_note)
    if values:
        lines.append("" if ev.kind != "line" else "\nlocals:")
        lines += [f"  {name} = {format_value(value)}" for name, value in values.items()]
    if ev.registers:
        lines.append(
            "results unknown; registers: "
            + ", ".join(f"{k}={v:#x}" if isinstance(v, int) else f"{k}=?" for k, v in ev.registers.items())
        )
    if ev.stack is not None:
        lines += ["", "stack (direct caller first):"]
        lines += [f"  {f}{' (inlined)' if inl else ''}  {file}:{line}" for f, inl, file, line in ev.stack]
    lines += ["", "JSON:", *json.dumps(event_json(ev), indent=1).splitlines()[:200]]
    return "\n".join(printable(line) for line in lines)  # each line made safe, not the breaks
