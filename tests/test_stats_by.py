"""stats --by keeps the keys with the most calls as rows and merges the rest into "(other)",
nothing dropped: its calls and latencies add up to what the hidden keys had."""

from __future__ import annotations

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.insight import stats


def _call(table: stats.StatsTable, path: str, latency: int, ts: int) -> None:
    entry = TraceEvent(ts, 0, 1, 1, "app", "main.Handle", "entry", "e", {"path": path}, goid=1)
    table.add(entry)
    ret = TraceEvent(ts + latency, 0, 1, 1, "app", "main.Handle", "return", "e", latency_ns=latency,
                     goid=1)
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
    rows = {r["key_text"]: r for r in table.snapshot(ts)}
    assert list(rows) == ['"/b"', '"/d"', '"/e"', "(other)"]
    other = rows["(other)"]
    assert other["calls"] == 1 + 2 + 1 and other["returns"] == 4 and other["max_ns"] == 5000
    assert sum(r["calls"] for r in rows.values()) == sum(counts.values())
