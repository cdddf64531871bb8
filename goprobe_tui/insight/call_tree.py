"""One goroutine's calls nested by depth, from its entry and return events (top-down, like a
flame graph read from the root)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from goprobe_tui.events.model import TraceEvent


@dataclass
class CallNode:
    function: str
    args: str = ""  # as the trace shows them
    returns: str | None = None  # None: its return was not seen (still running, or no probe)
    latency_ns: int | None = None
    ts_ns: int = 0
    entered: bool = True  # False: only its return was seen (entered before these events)
    spawned: int | None = None  # a `go` statement: the goroutine it created (function: its start)
    children: list[CallNode] = field(default_factory=list)


def goroutine_key(ev: TraceEvent) -> tuple[int, int] | None:
    """(pid, goid) of an event, None where the goroutine id is unknown."""
    return None if ev.goid is None else (ev.pid, ev.goid)


def build_tree(events: Iterable[TraceEvent]) -> list[CallNode]:
    """Top-level calls of the events (one goroutine's, in time order)."""
    roots: list[CallNode] = []
    stack: list[CallNode] = []
    for ev in events:
        if ev.kind == "line" or ev.inlined:  # no return ends them: leaves where they happen
            text = ev.call_text() if ev.kind == "line" else ev.values_text()
            name = ev.probe if ev.kind == "line" else ev.function
            (stack[-1].children if stack else roots).append(
                CallNode(name, text, ts_ns=ev.ts_ns, returns="" if ev.inlined else None)
            )
            continue
        if ev.kind == "spawn":  # a `go` statement here: a leaf naming the child, never a return
            child = ev.args.get("child_goid")
            (stack[-1].children if stack else roots).append(
                CallNode(
                    str(ev.args.get("start") or "?"),
                    ts_ns=ev.ts_ns,
                    returns="",
                    spawned=child if isinstance(child, int) else -1,
                )
            )
            continue
        if ev.kind == "entry":
            node = CallNode(ev.function, ev.values_text(), ts_ns=ev.ts_ns)
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
            continue
        depth = next(
            (
                i
                for i in range(len(stack) - 1, -1, -1)
                if stack[i].function == ev.function and stack[i].returns is None
            ),
            None,
        )
        if depth is None:  # its entry came before the events we hold
            node = CallNode(
                ev.function, returns=ev.values_text(), latency_ns=ev.latency_ns, ts_ns=ev.ts_ns, entered=False
            )
            (stack[-1].children if stack else roots).append(node)
            continue
        node = stack[depth]
        node.returns, node.latency_ns = ev.values_text() or "", ev.latency_ns
        del stack[depth:]  # calls above it returned without a probe seeing it (panics)
    return roots
