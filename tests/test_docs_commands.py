"""Every `goprobe-tui` command line in the README and docs/ is checked against the CLI's own
parser, so the pages cannot drift from the program: a concrete command must parse; a synopsis
(`[--json]`, `PATTERN...`, `PID`) must name only options its command has."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from goprobe_tui.cli.parser import SUBCOMMANDS, normalise, parse, parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```")
_SPAN = re.compile(r"`(goprobe-tui(?: [^`]*)?)`")
_PLACEHOLDER = re.compile(r"^\[?-*[A-Z][A-Z_]*(\.\.\.|…)?\]?$")


def _commands(page: Path) -> list[tuple[int, str]]:
    """(line number, command text) of every goprobe-tui command on the page: lines of code
    blocks, and code spans of the prose (a span may wrap onto the next line)."""
    found = []
    fenced = False
    prose: list[tuple[int, str]] = []  # (line number, text) outside the code blocks
    for n, line in enumerate(page.read_text().splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        text = line.strip().removeprefix("$ ").removeprefix("sudo ")
        if fenced:
            if text.startswith("goprobe-tui") and not text.startswith("goprobe-tui:"):  # not its output
                found.append((n, text))
        else:
            prose.append((n, line.strip()))
    joined = ""
    starts = []  # (offset in joined, line number)
    for n, text in prose:
        starts.append((len(joined), n))
        joined += text + " "
    for m in _SPAN.finditer(joined):
        line = max(n for off, n in starts if off <= m.start())
        found.append((line, m.group(1)))
    return found


def _words(command: str) -> list[str]:
    """The arguments, up to the first pipe, list or redirection; comments dropped."""
    command = re.sub(r"\$\([^)]*\)", "1", command)  # $(pgrep hugo): a pid
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word and set(word) <= set("|&;<>"):
            break
        words.append(word)
    return words[1:]  # without the program's name


def _is_synopsis(words: list[str]) -> bool:
    return any(
        _PLACEHOLDER.match(w) or w.startswith("[") or w.endswith("]") or "..." in w or "…" in w for w in words
    )


def _options_of(command: str | None) -> set[str]:
    top = parser()
    if command is None:
        return {o for a in top._actions for o in a.option_strings}
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {o for a in sub.choices[command]._actions for o in a.option_strings}


def _check(words: list[str]) -> str | None:
    """None if the line is right, else what is wrong with it."""
    if _is_synopsis(words):
        argv = normalise([w.strip("[]") for w in words if w.strip("[]")])
        command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
        known = _options_of(command)
        for w in argv:
            option = w.strip("[]").split("=", 1)[0].rstrip(".…")
            if option.startswith("-") and option not in ("-", "--") and option not in known:
                return f"{command or 'goprobe-tui'} has no option {option}"
        return None
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            parse(words)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return out.getvalue().strip() or f"exit {exc.code}"
    return None


CASES = [(page, n, text) for page in PAGES for n, text in _commands(page)]


def test_the_pages_show_commands_and_a_wrong_one_is_caught() -> None:
    assert len(CASES) >= 25  # the extraction works: the pages are full of them
    assert _check(_words("goprobe-tui trace --no-such ./app 'main.*'")) is not None
    assert _check(_words("goprobe-tui stats [--json] [--nope N] BINARY PATTERN...")) is not None
    assert _check(_words("goprobe-tui trace --pid abc 'main.*'")) is not None
    assert _check(_words("goprobe-tui trace --ret ./app 'main.*' | head")) is None


@pytest.mark.parametrize(("page", "line", "command"), CASES, ids=[f"{p.name}:{n}" for p, n, _ in CASES])
def test_every_command_line_in_the_docs_parses(page: Path, line: int, command: str) -> None:
    problem = _check(_words(command))
    assert problem is None, f"{page.name}:{line}: `{command}`: {problem}"
