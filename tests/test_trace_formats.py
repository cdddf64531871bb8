"""Chrome trace JSON and folded stacks from events: calls paired per goroutine, nested, timed
by their latency; unfinished calls and lost events said; self times that add up."""

from __future__ import annotations

import io
import json

from goprobe_tui.events.formats import get_format
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.status import TraceStatus


def _ev(ts: int, kind: str, fn: str, goid: int, latency: int | None = None, **more) -> TraceEvent:
    return TraceEvent(ts, 0, 100, 100 + goid, "app", fn, kind, "e", latency_ns=latency, goid=goid, **more)


def _calls() -> list[TraceEvent]:
    """g1: Job(0..1000) { leaf(100..300), leaf(400..450) }; g2: Job(50..250) and one unfinished."""
    return [
        _ev(0, "entry", "main.Job", 1, args={"n": 1}),
        _ev(50, "entry", "main.Job", 2, args={"n": 2}),
        _ev(100, "entry", "main.leaf", 1),
        _ev(250, "return", "main.Job", 2, 200, returns={"~r0": 4}),
        _ev(300, "return", "main.leaf", 1, 200),
        _ev(400, "entry", "main.leaf", 1),
        _ev(450, "return", "main.leaf", 1, 50),
        _ev(500, "entry", "main.stuck", 2),
        _ev(1000, "return", "main.Job", 1, 1000, returns={"~r0": 2}),
    ]


def _write(name: str, events: list[TraceEvent], status: TraceStatus | None = None) -> str:
    out = io.StringIO()
    writer = get_format(name).writer(out)
    writer.write(events[:4])
    writer.write(events[4:])
    writer.close(status)
    return out.getvalue()


def test_chrome_has_one_complete_event_per_call_on_its_goroutines_track() -> None:
    doc = json.loads(_write("chrome", _calls(), TraceStatus(lost=3)))
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert sorted((e["tid"], e["name"], e["ts"], e["dur"]) for e in xs) == [
        (1, "main.Job", 0.0, 1.0),
        (1, "main.leaf", 0.1, 0.2),
        (1, "main.leaf", 0.4, 0.05),
        (2, "main.Job", 0.05, 0.2),
    ]
    job1 = next(e for e in xs if e["tid"] == 1 and e["name"] == "main.Job")
    assert job1["args"] == {"args": {"n": 1}, "returns": {"~r0": 2}} and job1["pid"] == 100
    instants = [e for e in doc["traceEvents"] if e["ph"] == "i"]
    assert [(e["name"], e["tid"]) for e in instants if e["s"] == "t"] == [("main.stuck (no return seen)", 2)]
    assert any(e["s"] == "g" and e["args"] == {"lost": 3} for e in instants)
    names = {
        (e["tid"], e["args"]["name"])
        for e in doc["traceEvents"]
        if e["ph"] == "M" and e["name"] == "thread_name"
    }
    assert names == {(1, "goroutine 1"), (2, "goroutine 2")}
    assert doc["otherData"]["lost_events"] == 3
    for e in doc["traceEvents"]:  # the format's rules: every event has these, of these types
        assert isinstance(e["name"], str) and e["ph"] in ("X", "i", "M", "s", "f")
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] != "M":
            assert isinstance(e["ts"], float)


def test_folded_self_times_add_up_to_the_outermost_calls() -> None:
    text = _write("folded", _calls())
    rows = dict(line.rsplit(" ", 1) for line in text.splitlines())
    assert {k: int(v) for k, v in rows.items()} == {"main.Job": 200 + (1000 - 250), "main.Job;main.leaf": 250}
    assert sum(int(v) for v in rows.values()) == 1000 + 200  # the two Job calls


def test_folded_paths_start_with_the_call_stack_when_there_is_one() -> None:
    stack = (("main.handler", False, "h.go", 3), ("main.main", False, "m.go", 9))
    events = [
        _ev(0, "entry", "main.Job", 1, stack=stack),
        _ev(10, "entry", "main.leaf", 1),
        _ev(20, "return", "main.leaf", 1, 10),
        _ev(30, "return", "main.Job", 1, 30),
    ]
    text = _write("folded", events)
    assert text.splitlines() == [
        "main.main;main.handler;main.Job 20",
        "main.main;main.handler;main.Job;main.leaf 10",
    ]


def test_inlined_calls_and_lines_are_instants_not_open_calls() -> None:
    events = [
        _ev(0, "entry", "main.Job", 1),
        _ev(5, "entry", "main.tiny", 1, inlined=(("main.Job", "m.go", 4),)),
        _ev(8, "line", "main.Job", 1, probe="m.go:5", source=("m.go", 5)),
        _ev(10, "return", "main.Job", 1, 10),
    ]
    doc = json.loads(_write("chrome", events))
    assert [e["name"] for e in doc["traceEvents"] if e["ph"] == "i"] == [
        "main.tiny (inlined)",
        "m.go:5 (line)",
    ]
    assert [e["name"] for e in doc["traceEvents"] if e["ph"] == "X"] == ["main.Job"]


def test_a_goroutine_creation_is_a_flow_to_the_new_track() -> None:
    spawn = _ev(
        5, "spawn", "main.main", 1, args={"child_goid": 7, "start": "main.worker"}, source=("main.go", 41)
    )
    events = [
        _ev(0, "entry", "main.main", 1),
        spawn,
        _ev(9, "entry", "main.worker", 7),
        _ev(20, "return", "main.worker", 7, 11),
        _ev(30, "return", "main.main", 1, 30),
    ]
    doc = json.loads(_write("chrome", events))
    flows = [(e["ph"], e["tid"], e["ts"], e["id"]) for e in doc["traceEvents"] if e["ph"] in "sf"]
    assert flows == [("s", 1, 0.005, 1), ("f", 7, 0.009, 1)]
    go = next(e for e in doc["traceEvents"] if e["ph"] == "i")
    assert go["tid"] == 1 and go["args"] == {
        "child_goid": 7,
        "function": "main.main",
        "file": "main.go",
        "line": 41,
        "start": "main.worker",
    }
    assert {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"} == {
        "goroutine 1",
        "goroutine 7",
    }


def test_fields_asked_for_come_first_on_an_event_line() -> None:
    """At 120 columns the line was cut before `arg1.URL.Path=...`, behind the request shown
    whole: the dotted fields a person asked for come first."""
    from goprobe_tui.events.model import TraceEvent

    ev = TraceEvent(
        1,
        0,
        7,
        7,
        "hugo",
        "net/http.serverHandler.ServeHTTP",
        "entry",
        "e",
        {"arg0": 1, "arg1": "x" * 200, "arg1.URL.Path": "/posts/p1/"},
    )
    assert ev.values_text().startswith('arg1.URL.Path="/posts/p1/", arg0=1')
