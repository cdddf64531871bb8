"""Per-function statistics, aggregated where events are decoded (bounded memory): calls,
calls/s, errors, latency percentiles and histogram, and the slowest call with its arguments.

Snapshots are plain dicts (they cross a pipe to the UI, and are the `stats --json` lines).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.text import format_value, json_values
from goprobe_tui.insight.latency import LatencyHistogram
from goprobe_tui.values.decoded import NIL
from goprobe_tui.values.kinds import ValueSpec

RATE_SECONDS = 60  # per-second call counts kept, for calls/s and its sparkline
MAX_CALLERS = 64  # distinct direct callers counted per function; beyond: "(other)"
TOP_CALLERS = 5
TOP_KEYS = 64  # --by: rows shown per function, the keys with the most calls; the rest: "(other)"
MAX_KEYS = 4096  # keys counted apart per function (bounded memory); later new keys: "(other)"
OTHER_KEY = "(other)"
ALL_KEYS = "(all)"  # with --by: a function's total over every key, its first row
NO_ERROR_RESULT = ""  # the function's results are known and none is an error
UNKNOWN = None  # its results are unknown (no DWARF or type metadata for them)


class FunctionStats:
    __slots__ = (
        "_rate",
        "callers",
        "calls",
        "errors",
        "function",
        "inlined",
        "key",
        "latency",
        "slower",
        "slowest",
        "unpaired",
    )

    def __init__(self, function: str, counts_errors: bool, key: tuple[str, Any] | None = None) -> None:
        self.function = function
        self.key = key  # --by: (the value as text, as JSON)
        self.calls = 0
        self.inlined = 0  # of the calls, those of inlined copies (they have no latency)
        self.errors: int | None = 0 if counts_errors else None
        self.latency = LatencyHistogram()
        self.slowest: dict[str, Any] | None = None
        self.unpaired = 0  # returns without a latency (their entry was not seen)
        self.slower: int | None = None  # --slower-than: calls slower than it (None: not asked)
        self.callers: dict[str, int] = {}  # direct caller -> calls
        self._rate: deque[list[int]] = deque(maxlen=RATE_SECONDS)  # [second, calls]

    def entry(self, ts_ns: int, caller: str | None, inlined: bool = False) -> None:
        self.calls += 1
        self.inlined += inlined
        if caller is not None:
            if caller not in self.callers and len(self.callers) >= MAX_CALLERS:
                caller = "(other)"
            self.callers[caller] = self.callers.get(caller, 0) + 1
        sec = ts_ns // 1_000_000_000
        if self._rate and self._rate[-1][0] == sec:
            self._rate[-1][1] += 1
        elif not self._rate or sec > self._rate[-1][0]:
            self._rate.append([sec, 1])
        # (an older second is a late record from another CPU: counted in calls only)

    def rate(self, now_ns: int, seconds: int = 30) -> list[int]:
        """Calls in each of the last `seconds` whole seconds before now, oldest first."""
        now = now_ns // 1_000_000_000
        by_sec = {s: n for s, n in self._rate}
        return [by_sec.get(s, 0) for s in range(now - seconds, now)]

    def snapshot(self, now_ns: int) -> StatsRow:
        lat = self.latency
        return StatsRow(
            function=self.function,
            key=None if self.key is None else self.key[1],
            key_text=None if self.key is None else self.key[0],
            calls=self.calls,
            inlined=self.inlined,
            calls_per_s=self.rate(now_ns, 1)[0],
            rate=self.rate(now_ns),
            errors=self.errors,
            returns=lat.count,
            unpaired_returns=self.unpaired,
            p50_ns=lat.percentile(50),
            p90_ns=lat.percentile(90),
            p99_ns=lat.percentile(99),
            max_ns=lat.max,
            min_ns=lat.min,
            mean_ns=lat.total // lat.count if lat.count else None,
            histogram=[list(o) for o in lat.octaves()],
            slowest=self.slowest,
            slower=self.slower,
            callers=[
                [n, c] for n, c in sorted(self.callers.items(), key=lambda nc: (-nc[1], nc[0]))[:TOP_CALLERS]
            ],
        )


class StatsTable:
    def __init__(self, by: str | None = None) -> None:
        """by: a parameter or a field (`r.URL.Path`) read at each call's entry: a row per
        function and value of it (`stats --by`)."""
        self.by = by
        self.slower_than_ns: int | None = None  # --slower-than: count the calls slower than it
        self.functions: dict[str, FunctionStats] = {}
        self.keyed: dict[tuple[str, str], FunctionStats] = {}
        self.untraced: dict[str, int] = {}  # function -> its inlined calls without a probe
        self._keys_of: dict[str, int] = {}  # function -> keys counted apart
        self._error_result: dict[str, str | None] = {}
        self.changes = 0  # events added so far
        self.last_ts_ns = 0  # the newest event's time

    def learn_function(self, function: str, untraced: int = 0) -> None:
        """An attached function: it has a row from now on, with 0 calls until it is called.
        untraced: its inlined calls without a probe (its count is partial)."""
        if function not in self.functions:
            self._stats(function)
            self.changes += 1  # a snapshot goes out: the row shows at once
        if self.untraced.get(function, 0) != untraced:
            self.untraced[function] = untraced
            self.changes += 1

    def learn_results(self, function: str, specs: tuple[ValueSpec, ...]) -> None:
        """Which result of a function is its error, from its return site's value specs."""
        if any(s.kind == "register" for s in specs):
            self._error_result.setdefault(function, UNKNOWN)
        else:
            err = next((s.name for s in specs if s.type_name == "error"), NO_ERROR_RESULT)
            self._error_result[function] = err
            st = self.functions.get(function)
            if err and st is not None and st.errors is None:
                st.errors = 0  # its row came first, from its entry probe

    def _stats(self, function: str) -> FunctionStats:
        st = self.functions.get(function)
        if st is None:
            err = self._error_result.get(function)
            st = self.functions[function] = FunctionStats(function, bool(err))
        return st

    def add(self, ev: TraceEvent) -> None:
        self.changes += 1
        self.last_ts_ns = max(self.last_ts_ns, ev.ts_ns)
        if ev.kind == "line":  # a line probe's row: how often its statement ran
            self._stats(ev.probe).entry(ev.ts_ns, ev.function)
            return
        st = self._stats(ev.function)
        if self.by is not None:
            values = ev.args if ev.kind == "entry" else getattr(ev, "call_args", None)
            st = self._keyed(st, values)
        if ev.kind == "entry":
            st.entry(ev.ts_ns, ev.caller, bool(ev.inlined))
            return
        if st.errors is not None:
            result = self._error_result[ev.function]
            value = ev.returns.get(result) if result is not None else None
            if value is not None and value != NIL:
                st.errors += 1
        if ev.latency_ns is None:
            st.unpaired += 1
            return
        st.latency.add(ev.latency_ns)
        if self.slower_than_ns is not None:
            st.slower = (st.slower or 0) + (ev.latency_ns > self.slower_than_ns)
        if st.latency.max == ev.latency_ns and (
            st.slowest is None or ev.latency_ns > st.slowest["latency_ns"]
        ):
            args = getattr(ev, "call_args", None)
            st.slowest = {
                "latency_ns": ev.latency_ns,
                "ts": ev.ts_ns / 1e9,
                "pid": ev.pid,
                "tid": ev.tid,
                "goid": ev.goid,
                "args": None if args is None else json_values(args),
                "args_text": None
                if args is None
                else ", ".join(f"{k}={format_value(v)}" for k, v in args.items()),
                "returns": json_values(ev.returns),
            }

    def set_by(self, by: str | None) -> None:
        """Rows by the values of another parameter or field from now on (None: by function)."""
        self.by = by or None
        self.keyed.clear()
        self._keys_of.clear()
        self.changes += 1

    def _keyed(self, st: FunctionStats, values: dict[str, Any] | None) -> FunctionStats:
        """The row of this call's key (its entry's value, carried to the return by the
        pairing); a call whose key was not read is counted under '(not read)'."""
        if values is None or self.by not in values:
            text, value = "(not read)", None
        else:
            value = values[self.by]
            text = format_value(value)
        row = self.keyed.get((st.function, text))
        if row is None:
            if self._keys_of.get(st.function, 0) >= MAX_KEYS:
                text, value = OTHER_KEY, OTHER_KEY
                row = self.keyed.get((st.function, text))
            if row is None:
                self._keys_of[st.function] = self._keys_of.get(st.function, 0) + 1
                row = self.keyed[(st.function, text)] = FunctionStats(
                    st.function, st.errors is not None, (text, json_values({"k": value})["k"])
                )
        return row

    def _top_keys(self, now_ns: int) -> list[StatsRow]:
        """Per function, the TOP_KEYS keys with the most calls; the others merged into one
        "(other)" row (its percentiles from the merged histograms: nothing is dropped)."""
        by_function: dict[str, list[FunctionStats]] = {}
        for (function, _text), row in self.keyed.items():
            by_function.setdefault(function, []).append(row)
        out = []
        for rows in by_function.values():
            rows.sort(key=lambda r: (r.key is not None and r.key[0] == OTHER_KEY, -r.calls))
            total = _merged(rows, ALL_KEYS).snapshot(now_ns)
            total.total = True  # the sum of the function's rows below, not a key of its own
            out.append(total)
            out += [r.snapshot(now_ns) for r in rows[:TOP_KEYS]]
            rest = rows[TOP_KEYS:]
            if rest:
                out.append(_merged(rest).snapshot(now_ns))
        return out

    def moving(self, now_ns: int) -> bool:
        """Whether a snapshot taken now differs from one taken earlier without new events:
        the per-second rates still move while the last calls are within their window."""
        return now_ns - self.last_ts_ns < (RATE_SECONDS + 2) * 1_000_000_000

    def snapshot(self, now_ns: int) -> list[StatsRow]:
        if self.by is not None:  # a row per function and key; functions not called yet too
            called = {f for f, _t in self.keyed}
            return [
                self._marked(r)
                for r in self._top_keys(now_ns)
                + [st.snapshot(now_ns) for f, st in self.functions.items() if f not in called]
            ]
        return [self._marked(st.snapshot(now_ns)) for st in self.functions.values()]

    def _marked(self, row: StatsRow) -> StatsRow:
        row.untraced_inlined_sites = self.untraced.get(row.function, 0)
        return row


def _merged(rows: list[FunctionStats], key: str = OTHER_KEY) -> FunctionStats:
    """Several keys' rows of one function as one row: "(other)", or "(all)" for its total."""
    first = rows[0]
    out = FunctionStats(first.function, first.errors is not None, (key, key))
    lat = out.latency
    seconds: dict[int, int] = {}
    for r in rows:
        out.calls += r.calls
        out.inlined += r.inlined
        out.unpaired += r.unpaired
        if r.slower is not None:
            out.slower = (out.slower or 0) + r.slower
        if out.errors is not None and r.errors is not None:
            out.errors += r.errors
        for b, n in r.latency.buckets.items():
            lat.buckets[b] = lat.buckets.get(b, 0) + n
        lat.count += r.latency.count
        lat.total += r.latency.total
        for bound, pick in (("min", min), ("max", max)):
            v = getattr(r.latency, bound)
            if v is not None:
                cur = getattr(lat, bound)
                setattr(lat, bound, v if cur is None else pick(cur, v))
        if r.slowest is not None and (
            out.slowest is None or r.slowest["latency_ns"] > out.slowest["latency_ns"]
        ):
            out.slowest = r.slowest
        for caller, n in r.callers.items():
            out.callers[caller] = out.callers.get(caller, 0) + n
        for sec, n in r._rate:
            seconds[sec] = seconds.get(sec, 0) + n
    out._rate.extend([s, seconds[s]] for s in sorted(seconds)[-RATE_SECONDS:])
    return out
