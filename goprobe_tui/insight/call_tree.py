"""One goroutine's calls nested by depth, from its entry and return events (top-down, like a
flame graph read from the root)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from goprobe_tui.events.calls import CallMatcher, OpenCall, goroutine_of
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
    """The goroutine the Calls view shows for an event (events/calls.py's key), None where
    the goroutine id is unknown (a thread is not a goroutine)."""
    return None if ev.goid is None else goroutine_of(ev)


def build_tree(events: Iterable[TraceEvent]) -> list[CallNode]:
    """Top-level calls of the events (one goroutine's, in time order), matched by the one call
    matcher: still-open calls stay in the tree without a return."""
    roots: list[CallNode] = []

    def place(node: CallNode, enclosing: OpenCall | None) -> CallNode:
        (enclosing.extra.children if enclosing is not None else roots).append(node)
        return node

    def opened(ev: TraceEvent, enclosing: OpenCall | None) -> CallNode:
        return place(CallNode(ev.function, ev.values_text(), ts_ns=ev.ts_ns), enclosing)

    matcher = CallMatcher(with_stacks=False, annotate=opened)
    for ev in events:
        if ev.kind == "line" or ev.inlined:  # no return ends them: leaves where they happen
            text = ev.call_text() if ev.kind == "line" else ev.values_text()
            name = ev.probe if ev.kind == "line" else ev.function
            place(CallNode(name, text, ts_ns=ev.ts_ns, returns="" if ev.inlined else None), matcher.top(ev))
        elif ev.kind == "spawn":  # a `go` statement here: a leaf naming the child, never a return
            child = ev.args.get("child_goid")
            start = str(ev.args.get("start") or "?")
            spawned = child if isinstance(child, int) else -1
            place(CallNode(start, ts_ns=ev.ts_ns, returns="", spawned=spawned), matcher.top(ev))
        elif ev.kind == "entry" and ev.has_return is False:  # no return probe: never closes
            place(CallNode(ev.function, ev.values_text(), ts_ns=ev.ts_ns), matcher.top(ev))
        elif ev.kind == "entry":
            matcher.feed(ev)
        elif ev.kind == "return":
            enclosing = matcher.top(ev)
            call = matcher.feed(ev)
            if call is not None and call.entry is not None:
                node: CallNode = call.extra
                node.returns, node.latency_ns = ev.values_text() or "", ev.latency_ns
            else:  # its entry came before the events we hold
                returned = ev.values_text()
                place(
                    CallNode(
                        ev.function, returns=returned, latency_ns=ev.latency_ns, ts_ns=ev.ts_ns, entered=False
                    ),
                    enclosing,
                )
    return roots
