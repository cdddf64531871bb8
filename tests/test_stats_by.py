"""stats --by keeps the keys with the most calls as rows and merges the rest into "(other)",
nothing dropped: its calls and latencies add up to what the hidden keys had."""

from __future__ import annotations

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.insight import stats


def _call(table: stats.StatsTable, path: str, latency: int, ts: int) -> None:
    entry = TraceEvent(ts, 0, 1, 1, "app", "main.Handle", "entry", "e", {"path": path}, goid=1)
    table.add(entry)
    ret = TraceEvent(ts + latency, 0, 1, 1, "app", "main.Handle", "return", "e", latency_ns=latency, goid=1)
    ret.call_args = {"path": path}
    table.add(ret)


def test_the_busiest_keys_get_rows_and_the_rest_is_merged(monkeypatch) -> None:
    monkeypatch.setattr(stats, "TOP_KEYS", 3)
    table = stats.StatsTable(by="path")
    table.learn_function("main.Handle")
    counts = {"/a": 1, "/b": 9, "/c": 2, "/d": 7, "/e": 5, "/f": 1}
    ts = 0
    for path, n in counts.items():
        for _ in range(n):
            ts += 1000
            _call(table, path, 100 if path != "/f" else 5000, ts)
    snapshot = table.snapshot(ts)
    total = snapshot[0]  # the function's own row first: the sum over its keys
    assert total.total and total.key_text == "(all)" and total.calls == sum(counts.values())
    assert total.max_ns == 5000 and total.returns == sum(counts.values())
    rows = {r.key_text: r for r in snapshot[1:]}
    assert list(rows) == ['"/b"', '"/d"', '"/e"', "(other)"]
    other = rows["(other)"]
    assert other.calls == 1 + 2 + 1 and other.returns == 4 and other.max_ns == 5000
    assert sum(r.calls for r in rows.values()) == sum(counts.values())


def test_stats_by_text_is_aligned_and_each_function_has_its_total() -> None:
    """With --by the columns were out of line (long keys) and no row said a function's total."""
    import io

    from goprobe_tui.events.formats import get_format

    table = stats.StatsTable(by="path")
    table.learn_function("main.Handle")
    for i, path in enumerate(["/short", "/a/much/longer/path/than/forty/characters/x"] * 3):
        _call(table, path, 100, 1000 * (i + 1))
    out = io.StringIO()
    get_format("text").write_stats(table.snapshot(10**6), out)
    lines = [ln for ln in out.getvalue().splitlines() if not ln.startswith("    ")]
    assert lines[1].startswith("main.Handle (all keys)") and lines[1].split()[3] == "6"
    assert {ln.index(" 3 ") for ln in lines[2:]} == {lines[1].index(" 6 ")}  # one column


def test_a_count_with_inlined_calls_left_unprobed_is_marked_partial() -> None:
    """Where some inlined copies of a function have no probe, more calls ran than counted:
    every place a count shows says so (text, JSON, the Stats view's cells and detail)."""
    import io
    import json

    from goprobe_tui.events.formats import get_format
    from goprobe_tui.insight.stats import StatsTable
    from goprobe_tui.ui.stats.stats_pane import cells, detail_text

    table = StatsTable()
    table.learn_function("main.partial", untraced=3)
    table.learn_function("main.whole")
    rows = {r.function: r for r in table.snapshot(0)}
    assert rows["main.partial"].untraced_inlined_sites == 3
    assert rows["main.whole"].untraced_inlined_sites == 0
    out = io.StringIO()
    get_format("text").write_stats(list(rows.values()), out)
    text = out.getvalue()
    assert "0+" in text and "3 inlined call sites could not be probed" in text
    assert text.count("+ partial") == 1
    out = io.StringIO()
    get_format("json").write_stats(list(rows.values()), out)
    assert {
        json.loads(ln)["function"]: json.loads(ln)["untraced_inlined_sites"]
        for ln in out.getvalue().splitlines()
    } == {"main.partial": 3, "main.whole": 0}
    assert str(cells(rows["main.partial"])[1]) == "0+" and str(cells(rows["main.whole"])[1]) == "0"
    assert "could not be probed" in detail_text(rows["main.partial"])
