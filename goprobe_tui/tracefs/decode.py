"""Raw records -> Go-level events: named argument and result values, entry/return pairing.

Entries and returns pair per goroutine (the g register) when the ABI gives us g, else per
thread (pairing.py). A multi-probe event says which probe fired by its address.
"""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.gobinary.symbolize import Symbolizer
from goprobe_tui.textsafe import printable
from goprobe_tui.tracefs.conditions import matches
from goprobe_tui.tracefs.file_memory import BinaryView, FileMemory
from goprobe_tui.tracefs.pairing import PENDING_LIMIT, Pairing
from goprobe_tui.tracefs.process_info import ProcessInfo
from goprobe_tui.tracefs.raw_reader import Record
from goprobe_tui.tracefs.session import ProbeEvent, Site
from goprobe_tui.tracefs.value_kinds import decode_value
from goprobe_tui.tracefs.value_types import (
    NIL,
    IfaceValue,
    Marker,
    NamedInt,
    SliceValue,
    StructValue,
)

# A TraceEvent as nested plain tuples (values as (name, value) pairs): how events travel and
# wait. CPython stops tracking a tuple that holds only strings, numbers and such tuples, so
# 50k stored rows add nothing to a full garbage collection; as objects (or tuples holding
# dicts) they would add ~20-40 ms to every one, and those come several times a second.
EventRow = tuple
ROW_FUNCTION, ROW_KIND = 5, 6  # fields a consumer can read without rebuilding the event
# The trace clock is CLOCK_MONOTONIC: this converts it to the wall clock (both read here, once).
WALL_OFFSET_NS = time.time_ns() - time.monotonic_ns()
PAGE = 4096  # a PIE's load bias is a multiple of it


_TYPE = "@type"  # first pair of a struct's row form; no Go field name starts with @
_IFACE = "@iface"  # first pair of an interface value's row form
_SLICE = "@slice"  # first pair of a slice's row form


def _pairs(values: dict[str, Any]) -> tuple:
    pairs = tuple((k, _pairs(v) if isinstance(v, dict) else v) for k, v in values.items())
    if isinstance(values, StructValue):
        return ((_TYPE, values.type_name), *pairs)
    if isinstance(values, SliceValue):
        return ((_SLICE, values.type_name), *pairs)
    return ((_IFACE, ""), *pairs) if isinstance(values, IfaceValue) else pairs


def _unpairs(pairs: tuple) -> dict[str, Any]:
    if pairs and pairs[0][0] == _TYPE:
        return StructValue(pairs[0][1], _unpairs(pairs[1:]))
    if pairs and pairs[0][0] == _IFACE:
        return IfaceValue(_unpairs(pairs[1:]))
    if pairs and pairs[0][0] == _SLICE:
        rest = dict(pairs[1:])
        return SliceValue(pairs[0][1], rest["len"], rest["cap"], rest["elements"])
    return {k: _unpairs(v) if isinstance(v, tuple) else v for k, v in pairs}


@dataclass
class TraceEvent:
    ts_ns: int  # trace clock (CLOCK_MONOTONIC)
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
    goid: int | None = None  # the goroutine's id, as runtime.Stack prints it (None: unknown)
    # Result registers as read at a return whose results are unknown (no DWARF): raw words,
    # never presented as named results.
    registers: dict[str, Any] = field(default_factory=dict)
    # The call stack (with --stack): (function, inlined, file, line), direct caller first.
    stack: tuple | None = None
    # A return's call arguments, where the decoder keeps them (statistics); never in a row.
    call_args: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    caller: str | None = field(default=None, repr=False, compare=False)  # the direct caller

    def as_row(self) -> EventRow:
        return (self.ts_ns, self.cpu, self.pid, self.tid, self.comm, self.function, self.kind,
                self.event, _pairs(self.args), _pairs(self.returns), self.latency_ns, self.goid,
                _pairs(self.registers), self.stack)

    @classmethod
    def from_row(cls, row: EventRow) -> TraceEvent:
        *head, args, returns, latency, goid, registers, stack = row
        return cls(*head, _unpairs(args), _unpairs(returns), latency, goid, _unpairs(registers),
                   stack)

    def to_json_dict(self) -> dict[str, Any]:
        wall = self.ts_ns + WALL_OFFSET_NS
        return {"ts": self.ts_ns / 1e9,
                "time": datetime.fromtimestamp(wall / 1e9, timezone.utc).isoformat(timespec="microseconds"),
                "cpu": self.cpu, "pid": self.pid, "tid": self.tid,
                "goid": self.goid, "comm": self.comm, "function": self.function,
                "kind": self.kind, "args": json_values(self.args),
                "returns": json_values(self.returns), "latency_ns": self.latency_ns,
                **({"registers": self.registers} if self.registers else {}),
                **({} if self.stack is None else {"stack": [
                    {"function": f, "inlined": inl, "file": file, "line": line}
                    for f, inl, file, line in self.stack]})}

    def stack_text(self) -> str:
        """`main.B (inlined) main.go:37 ← main.A main.go:40 ← main.main main.go:88`."""
        return " ← ".join(f"{f}{' (inlined)' if inl else ''} {file.rsplit('/', 1)[-1]}:{line}"
                          for f, inl, file, line in self.stack or ())

    def values_text(self) -> str:
        values = self.args if self.kind == "entry" else self.returns
        return ", ".join(f"{k}={format_value(v)}" for k, v in values.items())

    def clock_text(self) -> str:
        """Wall clock, to the microsecond: 14:03:22.123456."""
        wall = self.ts_ns + WALL_OFFSET_NS
        return time.strftime("%H:%M:%S", time.localtime(wall // 1_000_000_000)) + \
            f".{wall % 1_000_000_000 // 1000:06d}"

    def since_text(self, start_ns: int) -> str:
        """Seconds since `start_ns` (the session's start): +12.345678."""
        d = self.ts_ns - start_ns
        sign = "-" if d < 0 else "+"
        d = abs(d)
        return f"{sign}{d // 1_000_000_000}.{d % 1_000_000_000 // 1000:06d}"

    def who_text(self) -> str:
        g = "" if self.goid is None else f" g{self.goid}"
        return f"{self.comm}[{self.pid}/{self.tid}]{g} cpu{self.cpu}"

    def text_line(self) -> str:
        """One line of `goprobe-tui trace` output (and its stack on the next, with --stack)."""
        arrow = "->" if self.kind == "entry" else "<-"
        line = printable(f"{self.clock_text()} {self.who_text()} {arrow} {self.call_text()}")
        if self.stack is not None:
            line += "\n    at " + printable(self.stack_text() or "?")
        return line

    def result_text(self) -> str:
        """`main.F = (r=2)` (no latency), or what the result registers held."""
        if self.registers and not self.returns:
            regs = ", ".join(f"{k}={v:#x}" if isinstance(v, int) else f"{k}=?"
                             for k, v in self.registers.items())
            return f"{self.function} returned (results unknown; registers {regs})"
        return f"{self.function} = ({self.values_text()})"

    def call_text(self, micro: str = "us") -> str:
        """`main.F(a=1)` for an entry, `main.F = (r=2) 12.3us` for a return."""
        if self.kind == "entry":
            return f"{self.function}({self.values_text()})"
        lat = "" if self.latency_ns is None else f" {format_duration(self.latency_ns, micro)}"
        return self.result_text() + lat


def format_duration(ns: int, micro: str = "µs") -> str:
    """850ns, 12.3µs, 50.6ms, 1.50s: three significant digits in the unit that fits."""
    if ns < 1_000:
        return f"{ns}ns"
    for unit, scale in ((micro, 1_000), ("ms", 1_000_000)):
        if ns < scale * 1_000:
            value = ns / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{ns / 1e9:.2f}s"

def json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values for --json: nil is null, nested values are objects."""
    return {k: _json_value(v) for k, v in values.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, Marker) and value == NIL:  # equality: a pickled NIL is another object
        return None
    if isinstance(value, dict):
        return json_values(value)
    return str(value) if isinstance(value, Marker) else value


def format_value(value: Any) -> str:
    if isinstance(value, str):  # Go's quoting: "bob", control characters escaped
        return value if isinstance(value, Marker) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, NamedInt):
        return f"{value.type_name}({int(value)})"
    if isinstance(value, SliceValue):
        return value.text(format_value)
    if isinstance(value, IfaceValue):
        inner = value["value"]
        if isinstance(inner, dict):
            return value["type"] + "{" + ", ".join(f"{k}:{format_value(v)}" for k, v in inner.items()) + "}"
        return f"{value['type']}({format_value(inner)})"
    if isinstance(value, StructValue):
        return value.type_name + "{" + ", ".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dict):
        return "{" + " ".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):  # words of an unknown type, as Go's traceback prints them
        return "{" + ", ".join("?" if w is None else f"{w:#x}" for w in value) + "}"
    if value is None:
        return "?"
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass
class DecodeStats:
    unattributed: int = 0  # records of an unknown event or address (counted, never shown)
    malformed: int = 0  # records too short for their event's layout
    filtered_returns: int = 0  # returns of calls whose entry the condition filtered out
    filtered: int = 0  # records the kernel let through that the condition rejects


class EventDecoder:
    def __init__(self, root: str = "/sys/kernel/tracing", pair_limit: int | None = None,
                 call_args: bool = False) -> None:
        """call_args: a return event gets its call's arguments (`call_args`, not in its row
        or JSON), for the slowest call of the statistics."""
        self.by_type: dict[int, ProbeEvent] = {}
        self._by_vaddr: dict[int, dict[int, Site]] = {}
        self._by_offset: dict[int, dict[int, Site]] = {}
        self.call_args = call_args
        self.pairing = Pairing(pair_limit or PENDING_LIMIT, payloads=call_args)
        self.procs = ProcessInfo(root)
        self.file_memory = FileMemory()
        self._views: dict[tuple[str, int | None, int], BinaryView] = {}
        self.stats = DecodeStats()
        self._symbolizers: dict[str, Symbolizer | None] = {}
        self._stack_type = _user_stack_type(root)
        # the last event on each CPU: the kernel writes its user stack record right after it
        self._last_on_cpu: dict[int, tuple[TraceEvent, int | None, str, int | None]] = {}
        self._held: dict[int, tuple[TraceEvent, tuple[int, int]]] = {}  # tid -> (return, key)

    def _view(self, path: str, types_base: int | None, bias: int) -> BinaryView:
        key = (path, types_base, bias)
        view = self._views.get(key)
        if view is None:
            if len(self._views) > 256:  # one per binary and load address: processes come and go
                self._views.clear()
            view = self._views[key] = BinaryView(self.file_memory, path, types_base, bias)
        return view

    def learn(self, ev: ProbeEvent) -> None:
        """A new event, or new facts about a known one (sites muted or unmuted)."""
        if ev.layout is None:
            return
        tid = ev.layout.type_id
        self.by_type[tid] = ev
        self._by_vaddr[tid] = {s.vaddr: s for s in ev.sites}
        self._by_offset[tid] = {s.offset: s for s in ev.sites}

    def _site(self, ev: ProbeEvent, type_id: int, ip: int, pid: int) -> tuple[Site | None, bool]:
        """(the site that fired, whether `ip` is known to be that site's own address)."""
        if len(ev.sites) == 1:
            return ev.sites[0], True
        if not ev.pie:
            return self._by_vaddr[type_id].get(ip), True
        offset = self.procs.file_offset(pid, ev.path, ip)
        if offset is not None:
            return self._by_offset[type_id].get(offset), True
        # The process is gone: its maps are unreadable. A load bias is a whole number of
        # pages, so a site whose page offset alone matches the address is the one that fired.
        aligned = [s for s in ev.sites if (ip - s.vaddr) % PAGE == 0]
        if len(aligned) == 1:
            return aligned[0], True
        # Sites of one function decode alike, but which one fired (and the bias) is unknown.
        first = ev.sites[0]
        return (first if all(s.function == first.function for s in ev.sites) else None), False

    def symbolizer(self, path: str) -> Symbolizer | None:
        """The binary's frames, opened at the first return address seen (None: not Go)."""
        if path not in self._symbolizers:
            try:
                self._symbolizers[path] = Symbolizer(GoBinary.open(path))
            except (BinaryError, OSError):
                self._symbolizers[path] = None
        return self._symbolizers[path]

    def _user_stack(self, rec: Record) -> None:
        """A user stack record: the frames of the event just before it on this CPU."""
        last = self._last_on_cpu.pop(rec.cpu, None)
        if last is None:
            return
        out, bias, path, ra = last
        pid = int.from_bytes(rec.page[rec.start + 4:rec.start + 8], "little", signed=True)
        sym = self.symbolizer(path)
        if pid != out.tid or bias is None or sym is None:
            return
        pcs = struct.unpack_from("<8Q", rec.page, rec.start + 16)
        # [0] is the probe's own address; the walk misses the direct caller: it is `ra`
        walk = [pc for pc in pcs[1:] if pc and pc != ra]
        frames = [f for pc in ([ra] if ra else []) + walk for f in sym.frames(pc - bias)]
        out.stack = tuple((f.function, f.inlined, f.file, f.line) for f in frames)

    def decode(self, rec: Record) -> TraceEvent | list[TraceEvent] | None:
        page, start = rec.page, rec.start
        type_id = page[start] | page[start + 1] << 8
        ev = self.by_type.get(type_id)
        if ev is None:
            if type_id == self._stack_type:
                self._user_stack(rec)
                return None
            self.stats.unattributed += 1
            return None
        try:
            _type, tid, ip, *values = ev.layout.struct.unpack_from(page, start)
        except Exception:  # struct.error: a record shorter than its layout
            self.stats.malformed += 1
            return None
        pid, comm = self.procs.thread(tid)
        site, exact = self._site(ev, type_id, ip, pid)
        if site is None:
            self.stats.unattributed += 1
            return None
        if site.muted_since is not None and rec.ts >= site.muted_since:
            return None  # detached; its event stays enabled for the other functions in it
        fields = dict(zip(ev.layout.names, values, strict=False))
        # PIE: one load bias for the whole image, seen at this probe's own address. Unproven,
        # the file is not read at all: a wrong bias would show another value as this one.
        bias = ip - site.vaddr if ev.pie else 0
        view = self._view(ev.path, site.types_base, bias) if exact else None
        decoded = {spec.name: decode_value(spec, fields, view) for spec in site.values}
        if site.condition is not None and not matches(site.condition, decoded):
            self.stats.filtered += 1  # what the kernel's filter could not decide (strings)
            return None
        out = TraceEvent(rec.ts, rec.cpu, pid, tid, comm, site.function, site.kind, ev.name,
                         goid=fields.get("goid"))
        ra = fields.get("ra")
        if ra and self.call_args:  # statistics count each function's direct callers
            sym = self.symbolizer(ev.path) if exact or not ev.pie else None
            frames = sym.frames(ra - bias) if sym is not None else ()
            out.caller = frames[0].function if frames else None
        if self._stack_type is not None:
            self._last_on_cpu[rec.cpu] = (out, bias if exact or not ev.pie else None, ev.path, ra)
        g = fields.get("g") if ev.pair_by_g else None
        key: tuple = (pid, g if g else tid)
        stack_hi = fields.get("gsh")
        if stack_hi is not None:  # a call's depth in its goroutine's stack survives copying
            key = (pid, g if g else tid, stack_hi - fields.get("gsp", 0))
        if site.kind == "entry":
            out.args = decoded
        elif site.values and site.values[0].kind == "register":  # results unknown: raw words
            out.registers = decoded
        else:
            out.returns = decoded
        held = self._held.pop(tid, None) if self._held else None
        if held is not None:
            return self._after_held(held, out, key, site)
        if site.at_entry and not self.pairing.on_top(key, site.function):
            # A return probe on the entry's own instruction (a function that is one RET) may
            # run before the entry probe: hold it for this thread's next record.
            self._held[tid] = (out, key)
            return None
        if not self._pair(out, key, site):
            self.stats.filtered_returns += 1
            return None
        return out

    def _pair(self, out: TraceEvent, key: tuple, site: Site) -> bool:
        """Pair a return with its entry. False: drop it, its call did not match the
        function's condition (the kernel filtered its entry)."""
        if site.kind == "entry":
            if site.has_return:  # entries that can never be popped would only pile up
                if len(key) == 3:  # an entry at this depth still pending is a call whose
                    self.pairing.pop_entry(key, site.function, count=False)  # return was filtered
                self.pairing.push(key, site.function, out.ts_ns,
                                  out.args if self.call_args else None)
            return True
        return self._paired(out, key, count=not site.entry_filtered) or not site.entry_filtered

    def _paired(self, ret: TraceEvent, key: tuple, count: bool = True) -> bool:
        found = self.pairing.pop_entry(key, ret.function, count)
        if found is None:
            return False
        ret.latency_ns = max(0, ret.ts_ns - found[0])
        if self.call_args:
            ret.call_args = found[1]
        return True

    def _pop_held(self, held: tuple[TraceEvent, tuple[int, int]]) -> TraceEvent:
        ret, key = held
        self._paired(ret, key)
        return ret

    def _after_held(self, held: tuple[TraceEvent, tuple[int, int]], out: TraceEvent,
                    key: tuple[int, int], site: Site) -> list[TraceEvent]:
        ret, held_key = held
        if site.kind == "entry" and site.function == ret.function and key == held_key:
            self._pair(out, key, site)  # the same trap, entry probe second: entry goes first
            ret.ts_ns = max(ret.ts_ns, out.ts_ns)  # one trap, one instant: latency 0, not < 0
            return [out, self._pop_held(held)]
        self._pop_held(held)
        self._pair(out, key, site)
        return [ret, out]

    def flush_held(self, before_ns: int | None = None) -> list[TraceEvent]:
        """Held returns whose entry never followed (older than before_ns, or all)."""
        done = [tid for tid, (ret, _k) in self._held.items() if before_ns is None or ret.ts_ns < before_ns]
        return [self._pop_held(self._held.pop(tid)) for tid in done]


def _user_stack_type(root: str) -> int | None:
    """The record type of user stacks (options/userstacktrace), from the ftrace format."""
    try:
        with open(os.path.join(root, "events", "ftrace", "user_stack", "format")) as f:
            for line in f:
                if line.startswith("ID:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
