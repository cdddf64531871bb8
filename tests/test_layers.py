"""The import rules of the layers (README, "Architecture"), checked on the source: imports only
go down, there are no cycles, the front ends see only the engine and the event model, and the
core never imports Textual."""

from __future__ import annotations

import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parent.parent / "goprobe_tui"
# Modules at the top of the package everyone may import: errors, exit codes, text safety,
# the disk cache.
BASE = {
    "errors",
    "exit_codes",
    "textsafe",
    "safe_read",
    "durations",
    "event_kinds",
    "atomic_file",
    "signals",
    "cache",
    "__main__",
    "__init__",
}
LOWER = {
    "gobinary": set(),
    "values": {"gobinary"},
    "tracefs": {"values", "gobinary"},
    "events": {"values", "gobinary"},
    "insight": {"events", "values", "gobinary"},
    "pipeline": {"tracefs", "insight", "events", "values", "gobinary"},
    "engine": {"pipeline", "tracefs", "insight", "events", "values", "gobinary"},
    # the front ends: the engine, the event model, insight and the binary's names only
    "ui": {"engine", "events", "insight", "gobinary"},
    "cli": {"engine", "events", "insight", "gobinary", "ui"},  # cli starts the TUI
}
UI_LIBRARIES = ("textual", "rich")


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: pathlib.Path) -> set[str]:
    """Every module of ours this one imports, at the top or inside a function."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found


GRAPH = {
    name: {m for m in _imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_only_go_down() -> None:
    wrong = []
    for name, deps in GRAPH.items():
        layer = _layer(name)
        if layer == "__main__":
            allowed = {"cli"}  # the program: it runs the command line
        elif layer in BASE or layer == "":
            allowed: set[str] = set()
        else:
            allowed = LOWER[layer] | {layer}
        for dep in deps:
            target = _layer(dep)
            if target and target not in BASE and target not in allowed:
                wrong.append(f"{name} -> {dep}")
    assert wrong == []


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


def test_only_the_ui_imports_textual() -> None:
    wrong = []
    for name, path in MODULES.items():
        if _layer(name) == "ui":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            wrong += [f"{name} -> {m}" for m in mods if m.split(".")[0] in UI_LIBRARIES]
    assert wrong == []


def test_every_layer_says_what_it_may_import() -> None:
    for layer in LOWER:
        doc = ast.get_docstring(ast.parse((PKG / layer / "__init__.py").read_text())) or ""
        assert "May import" in doc, layer
