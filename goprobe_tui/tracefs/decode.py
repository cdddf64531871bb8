"""Raw events -> Go-level events: named argument and result values, entry/return pairing.

Entries and returns pair per goroutine (the g register) when the ABI gives us g, else per
thread. Unmatched entries (panics, runtime.Goexit) are tolerated and bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goprobe_tui.gobinary.abi import ValueSpec
from goprobe_tui.tracefs.parser import RawEvent, parse_fields
from goprobe_tui.tracefs.session import Probe

MAX_PENDING_KEYS = 100_000
MAX_DEPTH = 4096

# A TraceEvent as nested plain tuples (values as (name, value) pairs): how events travel and
# wait. CPython stops tracking a tuple that holds only strings, numbers and such tuples, so
# 50k stored rows add nothing to a full garbage collection; as objects (or tuples holding
# dicts) they would add ~20-40 ms to every one, and those come several times a second.
EventRow = tuple
ROW_FUNCTION, ROW_KIND = 5, 6  # fields a consumer can read without rebuilding the event


def _pairs(values: dict[str, Any]) -> tuple:
    return tuple((k, _pairs(v) if isinstance(v, dict) else v) for k, v in values.items())


def _unpairs(pairs: tuple) -> dict[str, Any]:
    return {k: _unpairs(v) if isinstance(v, tuple) else v for k, v in pairs}


@dataclass
class TraceEvent:
    ts_us: int
    cpu: int
    pid: int
    tid: int
    comm: str
    function: str
    kind: str  # "entry" or "return"
    event: str
    args: dict[str, Any] = field(default_factory=dict)
    returns: dict[str, Any] = field(default_factory=dict)
    latency_ns: int | None = None

    def as_row(self) -> EventRow:
        return (self.ts_us, self.cpu, self.pid, self.tid, self.comm, self.function, self.kind,
                self.event, _pairs(self.args), _pairs(self.returns), self.latency_ns)

    @classmethod
    def from_row(cls, row: EventRow) -> TraceEvent:
        *head, args, returns, latency = row
        return cls(*head, _unpairs(args), _unpairs(returns), latency)

    def to_json_dict(self) -> dict[str, Any]:
        return {"ts": self.ts_us / 1e6, "cpu": self.cpu, "pid": self.pid, "tid": self.tid,
                "comm": self.comm, "function": self.function, "kind": self.kind,
                "args": self.args, "returns": self.returns, "latency_ns": self.latency_ns}

    def values_text(self) -> str:
        values = self.args if self.kind == "entry" else self.returns
        return ", ".join(f"{k}={format_value(v)}" for k, v in values.items())

    def clock_text(self) -> str:
        return f"{self.ts_us // 1_000_000}.{self.ts_us % 1_000_000:06d}"

    def who_text(self) -> str:
        return f"{self.comm}[{self.pid}/{self.tid}] cpu{self.cpu}"

    def call_text(self, micro: str = "us") -> str:
        """`main.F(a=1)` for an entry, `main.F = (r=2) 12us` for a return."""
        if self.kind == "entry":
            return f"{self.function}({self.values_text()})"
        lat = "" if self.latency_ns is None else f" {self.latency_ns / 1000:.0f}{micro}"
        return f"{self.function} = ({self.values_text()}){lat}"


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if not value.startswith("<") else value
    if isinstance(value, dict):
        return "{" + " ".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "?"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _int(text: str | None) -> int | None:
    if text is None or text == "(fault)":
        return None
    try:
        return int(text, 0) if text.startswith(("0x", "-0x")) else int(text)
    except ValueError:
        return None


def _bytes(text: str | None) -> bytes | None:
    if not text or not text.startswith("{"):
        return None
    try:
        return bytes(int(b, 0) & 0xFF for b in text.strip("{}").split(",") if b)
    except ValueError:
        return None


def decode_value(spec: ValueSpec, fields: Mapping[str, str]) -> Any:
    parts = [fields.get(k) for k in spec.keys]
    if spec.kind == "unavailable" or not parts:
        return "<unavailable>"
    if spec.kind == "raw":
        raw = parts[0]
        return _int(raw) if _int(raw) is not None else raw
    nums = [_int(p) for p in parts]
    if spec.kind in ("int", "uint", "ptr"):
        return nums[0]
    if spec.kind == "bool":
        return None if nums[0] is None else bool(nums[0])
    if spec.kind == "string":
        length = nums[1] if len(nums) > 1 else None
        if length is None or length < 0:
            return "<bad string>"
        if length == 0:
            return ""
        data = _bytes(parts[2] if len(parts) > 2 else None)
        if data is None:
            return f"<fault: {length} bytes>"
        text = data[:length].decode("utf-8", "backslashreplace")
        return text if length <= len(data) else text + f"…(+{length - len(data)})"
    if spec.kind == "slice":
        return {"ptr": nums[0], "len": nums[1], "cap": nums[2]}
    if spec.kind == "iface":
        return None if nums[0] == 0 else {"type": nums[0], "data": nums[1]}
    return {f"w{i}": n for i, n in enumerate(nums)}  # flattened struct words


def _read_thread(tid: int) -> tuple[int, str | None]:
    """(tgid, name) from /proc; (0, None) once the thread is gone."""
    tgid, name = 0, None
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                key, _, value = line.partition(b":")
                if key == b"Name":
                    name = value.strip().decode("utf-8", "replace")
                elif key == b"Tgid":
                    tgid = int(value)
                    break
    except (OSError, ValueError):
        pass
    return tgid, name


class EventDecoder:
    def __init__(self, probes: Mapping[str, Probe]) -> None:
        self.probes = probes
        self._pending: OrderedDict[tuple[int, int], list[tuple[str, int]]] = OrderedDict()
        self.unmatched_returns = 0
        self._threads: OrderedDict[int, tuple[int, str | None]] = OrderedDict()

    def _process(self, raw: RawEvent) -> tuple[int, str]:
        """(pid, comm) of an event's thread. The kernel's columns are not reliable enough to
        pair on: a new thread's first events print `(-------)` and `<...>`, and under load an
        event can even show the thread id as its tgid (both seen here, 1 run in 6); either
        splits a goroutine's entry and return under different keys. /proc decides while the
        thread lives (read once per thread, again only when the kernel disagrees)."""
        info = self._threads.get(raw.tid)
        if info is None or (raw.tgid and raw.tgid != info[0]):
            info = self._threads[raw.tid] = _read_thread(raw.tid)
            if len(self._threads) > MAX_PENDING_KEYS:
                self._threads.popitem(last=False)
        tgid, name = info
        comm = name if raw.comm == "<...>" and name else raw.comm
        return tgid or raw.tgid or raw.tid, comm

    def decode(self, raw: RawEvent) -> TraceEvent | None:
        probe = self.probes.get(raw.event)
        if probe is None:
            return None  # a probe removed while its events were still in the pipe
        fields = parse_fields(raw.fields)
        values = {spec.name: decode_value(spec, fields) for spec in probe.plan.values}
        pid, comm = self._process(raw)
        ev = TraceEvent(raw.ts_us, raw.cpu, pid, raw.tid, comm,
                        probe.function, probe.kind, raw.event)
        g = _int(fields.get("g")) if probe.pair_by_g else None
        key = (pid, g if g else raw.tid)
        if probe.kind == "entry":
            ev.args = values
            if probe.has_return:  # entries that can never be popped would only pile up
                self._push(key, probe.function, raw.ts_us)
        else:
            ev.returns = values
            start = self._pop(key, probe.function)
            if start is not None:
                ev.latency_ns = (raw.ts_us - start) * 1000
            else:
                self.unmatched_returns += 1
        return ev

    def _push(self, key: tuple[int, int], function: str, ts: int) -> None:
        stack = self._pending.get(key)
        if stack is None:
            stack = self._pending[key] = []
            if len(self._pending) > MAX_PENDING_KEYS:
                self._pending.popitem(last=False)
        stack.append((function, ts))
        if len(stack) > MAX_DEPTH:
            del stack[0]

    def _pop(self, key: tuple[int, int], function: str) -> int | None:
        stack = self._pending.get(key)
        while stack:
            name, ts = stack.pop()
            if name == function:
                if not stack:
                    del self._pending[key]
                return ts
            # an entry that never returned (panic, Goexit): drop it and keep looking
        return None
