"""The format registry is the only list of formats: one registration, and the CLI's help,
the file-suffix choice, the decoder-side writer and the TUI's save dialog all know the new
format. JSON lines end with a status record, so a file says whether it is complete."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from typing import TextIO

import pytest

from goprobe_tui.events.formats import (
    FORMATS,
    EventWriter,
    LineWriter,
    OutputFormat,
    format_for_path,
    register,
)
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus


@pytest.fixture
def tsv() -> Iterator[type[OutputFormat]]:
    @register
    class TabSeparated(OutputFormat):
        name = "tsv"
        suffix = ".tsv"
        summary = "one tab-separated line per event"

        def writer(self, out: TextIO) -> EventWriter:
            return LineWriter(out, lambda ev: f"{ev.function}\t{ev.kind}")

    try:
        yield TabSeparated
    finally:
        FORMATS.pop("tsv", None)


def _help(command: str) -> str:
    from goprobe_tui.cli.parser import parser

    sub = parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    return " ".join(sub.format_help().split())


def test_a_format_registered_once_is_seen_everywhere(tsv) -> None:
    from goprobe_tui.pipeline.output_writer import OutputWriter
    from goprobe_tui.ui.events.events_view import save_prompt

    for command in ("trace", "stats", "replay"):
        assert "tsv" in _help(command)
    assert ".tsv" in _help("trace")  # -o's suffixes
    assert format_for_path("/tmp/out.tsv").name == "tsv"
    assert ".tsv tsv" in save_prompt(3)
    with tempfile.TemporaryFile() as f:
        writer = OutputWriter(f.fileno(), "tsv")  # the headless path: a line format
        writer.write_text(b"main.F\tentry\n")
        writer.close(TraceStatus(decoded=1))
        f.seek(0)
        assert f.read() == b"main.F\tentry\n"


def _status_of(text: str) -> dict:
    last = json.loads(text.splitlines()[-1])
    assert last["kind"] == "status"
    return last


def test_json_lines_end_with_the_status_record() -> None:
    from goprobe_tui.pipeline.output_writer import OutputWriter

    with tempfile.TemporaryFile() as f:
        writer = OutputWriter(f.fileno(), "json")
        ev = TraceEvent(1, 0, 10, 10, "app", "main.F", "entry", "e")
        writer.write_text((FORMATS["json"].writer(io.StringIO()).line(ev) + "\n").encode())  # type: ignore[attr-defined]
        writer.close(TraceStatus(decoded=1, lost=2))
        f.seek(0)
        text = f.read().decode()
    assert json.loads(text.splitlines()[0])["function"] == "main.F"
    status = _status_of(text)
    assert (status["decoded"], status["lost"], status["complete"]) == (1, 2, False)


def test_stats_json_ends_with_the_status_record() -> None:
    out = io.StringIO()
    FORMATS["json"].write_stats([], out, TraceStatus(decoded=0))
    assert _status_of(out.getvalue())["complete"] is True
