"""One goroutine's calls as a tree, nested by depth with their latencies (insight/call_tree.py)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from goprobe_tui.events.text import format_duration
from goprobe_tui.insight.call_tree import CallNode
from goprobe_tui.textsafe import printable

MAX_NODES = 5_000  # a tree widget this large is still quick to open and scroll


def node_label(node: CallNode) -> Text:
    if node.spawned is not None:
        child = f"goroutine {node.spawned}" if node.spawned >= 0 else "a goroutine (id not read)"
        head = f"go {node.function} → {child}"
    elif not node.entered:
        head = f"{node.function} (entered earlier) = ({node.returns})"
    elif node.returns is None:
        head = f"{node.function}({node.args}) … (no return yet)"
    else:
        head = f"{node.function}({node.args}) = ({node.returns})"
    # the latency first: a long call's label is cut at the right, and the latency must stay
    lat = "—" if node.latency_ns is None else format_duration(node.latency_ns)
    text = Text()
    text.append(f"{lat:>7} ", style="bold")
    text.append(printable(head))
    return text


class CallTreeView(Tree[None]):
    def __init__(self, **kwargs) -> None:
        super().__init__("no goroutine chosen: press g on an event", **kwargs)
        self.show_root = True

    def show(self, title: str, roots: list[CallNode]) -> int:
        """Replace the tree; returns the number of calls shown."""
        self.clear()
        self.root.set_label(Text(printable(title)))
        shown = 0
        stack = [(self.root, node) for node in reversed(roots)]
        while stack and shown < MAX_NODES:
            parent, node = stack.pop()
            branch = parent.add(node_label(node), expand=True, allow_expand=bool(node.children))
            shown += 1
            stack.extend((branch, child) for child in reversed(node.children))
        self.root.expand()
        return shown
