"""Which functions a pattern names (those that exist only inlined too), and which conditions
apply to a function."""

from __future__ import annotations

import fnmatch
import re

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.inline import inline_index, inlined_only_functions
from goprobe_tui.gobinary.lines import LineError, LineTable, is_line_spec, line_target

# `main.F: i > 3` or `net/http.*: r != nil`: a condition for the functions a pattern names. The
# pattern holds no space or quote, and a condition never starts with NAME:, so a plain
# condition (`path == "a:b"` too) is never read as scoped.
_SCOPED = re.compile(r'^\s*([^\s"]+?)\s*:\s*(.*)$', re.S)

Where = tuple[str | None, str]  # (the pattern it is for, None: every function; the condition)


def matches(name: str, pattern: str) -> bool:
    """A shell glob, but a full name matches itself: `main.Gen[go.shape.int]` would otherwise
    read `[go.shape.int]` as a character class."""
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def _matcher(patterns: list[str]):
    """matches() against any of the patterns, as one regular expression (a Python loop of
    fnmatch calls over hugo's 100,000 names took 0.4 s of every start)."""
    exact = set(patterns)
    either = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)", re.S)
    return lambda name: name in exact or either.match(name) is not None


def parse_where(texts: tuple[str, ...]) -> tuple[Where, ...]:
    out = []
    for text in texts:
        m = _SCOPED.match(text)
        out.append((m.group(1), m.group(2).strip()) if m else (None, text.strip()))
    return tuple(out)


def condition_for(name: str, wheres: tuple[Where, ...]) -> str:
    """Every condition that applies to a function, joined with && ("": none)."""
    texts = [text for pattern, text in wheres if pattern is None or matches(name, pattern)]
    return texts[0] if len(texts) == 1 else " && ".join(f"({t})" for t in texts)


def select(binary: GoBinary, patterns: list[str], inlined: bool = True) -> list[Function]:
    """The functions any pattern names, in table order, then (`inlined`) those that exist only
    inlined, by name, then the FILE:LINE patterns' lines; BadInput if none, or for a line
    that names no code."""
    lines = [p for p in patterns if is_line_spec(p)]
    globs = [p for p in patterns if p not in lines]
    names = binary.functions.names
    named = _matcher(globs)
    chosen = [binary.functions[i] for i, n in enumerate(names) if named(n)] if globs else []
    if inlined and globs:
        chosen += [f for f in inlined_only_functions(binary) if named(f.name)]
    if globs and not chosen:
        raise BadInput(f"{binary.path}: no function matches {' '.join(globs)}")
    for spec in lines:
        try:
            chosen.append(line_target(binary, spec))
        except LineError as exc:
            raise BadInput(str(exc)) from None
    return chosen


def planned_probes(binary: GoBinary, fns: list[Function]) -> tuple[int, int, int]:
    """(entry probes, inlined calls, line places) that attaching these places at most: what
    the caps (--max-probes, the TUI's) count."""
    counts = inline_index(binary).counts()
    table = LineTable(binary)
    lines = sum(len(table.sites(f.file, f.line)) for f in fns if f.source_line)
    return (
        sum(1 for f in fns if not f.inlined_only and not f.source_line),
        sum(counts.get(f.name, 0) for f in {f.name: f for f in fns if not f.source_line}.values()),
        lines,
    )
