"""The event every layer shares: one traced call's entry, return or line, with its Go values.

Events travel between processes and wait in queues as rows (nested plain tuples, see
EventRow); TraceEvent is the object a consumer rebuilds from a row to show or write it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from goprobe_tui.event_kinds import EventKind
from goprobe_tui.events.text import format_duration, format_value
from goprobe_tui.textsafe import printable
from goprobe_tui.values.decoded import IfaceValue, SliceValue, StructValue

# A TraceEvent as nested plain tuples (values as (name, value) pairs): how events travel and
# wait. CPython stops tracking a tuple that holds only strings, numbers and such tuples, so
# 50k stored rows add nothing to a full garbage collection; as objects (or tuples holding
# dicts) they would add ~20-40 ms to every one, and those come several times a second.
EventRow = tuple
ROW_FUNCTION, ROW_KIND, ROW_LATENCY = 5, 6, 10  # fields a consumer can read without rebuilding the event
# The trace clock is CLOCK_MONOTONIC: this converts it to the wall clock (both read here, once).
WALL_OFFSET_NS = time.time_ns() - time.monotonic_ns()


def set_wall_offset(ns: int) -> None:
    """Another machine's clocks (replay of its records): every time shown is then its own."""
    global WALL_OFFSET_NS
    WALL_OFFSET_NS = ns


_TYPE = "@type"  # first pair of a struct's row form; no Go field name starts with @
_IFACE = "@iface"  # first pair of an interface value's row form
_SLICE = "@slice"  # first pair of a slice's row form


def _fields_text(values: dict[str, Any]) -> str:
    """`a=1, r.URL.Path="/x"`, the fields asked for first."""
    items: Iterable[tuple[str, Any]] = values.items()
    if any("." in k for k in values):  # per event: sort only where a field was asked for
        items = sorted(items, key=lambda kv: "." not in kv[0])
    return ", ".join(f"{k}={format_value(v)}" for k, v in items)


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
    kind: EventKind
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
    nspid: int | None = None  # the process's pid inside its own PID namespace (None: unknown)
    # An inlined call: ((function, file, line), ...), the function it was inlined into with
    # the call's position there first, outward to the out-of-line function holding the code.
    inlined: tuple | None = None
    args_note: str = ""  # why the arguments are not shown ("": they are)
    # A line event (kind "line"): the probe (FILE:LINE as given), the statement's file and
    # line; its locals are in `args`.
    probe: str = ""
    source: tuple[str, int] | None = None
    # A return's call arguments, where the decoder keeps them (statistics); never in a row.
    call_args: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    caller: str | None = field(default=None, repr=False, compare=False)  # the direct caller
    # An entry: whether its function has return probes (None: not known, e.g. from a row).
    # An entry that can never return must not be taken for an open call (events/calls.py).
    has_return: bool | None = field(default=None, repr=False, compare=False)

    def as_row(self) -> EventRow:
        return (
            self.ts_ns,
            self.cpu,
            self.pid,
            self.tid,
            self.comm,
            self.function,
            self.kind,
            self.event,
            _pairs(self.args),
            _pairs(self.returns),
            self.latency_ns,
            self.goid,
            _pairs(self.registers),
            self.stack,
            self.nspid,
            self.inlined,
            self.args_note,
            self.probe,
            self.source,
            self.has_return,
            self.caller,
        )

    @classmethod
    def from_row(cls, row: EventRow) -> TraceEvent:
        (
            ts_ns,
            cpu,
            pid,
            tid,
            comm,
            function,
            kind,
            event,
            args,
            returns,
            latency,
            goid,
            registers,
            stack,
            nspid,
            inlined,
            note,
            probe,
            source,
            has_return,
            caller,
        ) = row if len(row) > 20 else (*row, None)
        ev = cls(
            ts_ns,
            cpu,
            pid,
            tid,
            comm,
            function,
            kind,
            event,
            _unpairs(args),
            _unpairs(returns),
            latency,
            goid,
            _unpairs(registers),
            stack,
            nspid,
            inlined,
            note,
            probe,
            source,
        )
        ev.has_return = has_return  # an entry whose function has no return probe never closes
        ev.caller = caller  # the direct caller, where the decoder worked it out (pprof, stats)
        return ev

    def stack_text(self) -> str:
        """`main.B (inlined) main.go:37 ← main.A main.go:40 ← main.main main.go:88`."""
        return " ← ".join(
            f"{f}{' (inlined)' if inl else ''} {file.rsplit('/', 1)[-1]}:{line}"
            for f, inl, file, line in self.stack or ()
        )

    def values_text(self) -> str:
        """`a=1, r.URL.Path="/x"`: the fields asked for (--field, dotted) first, so a line cut
        at the screen's edge keeps them rather than a struct shown whole."""
        return _fields_text(self.returns if self.kind == "return" else self.args)

    def clock_text(self) -> str:
        """Wall clock, to the microsecond: 14:03:22.123456."""
        wall = self.ts_ns + WALL_OFFSET_NS
        return (
            time.strftime("%H:%M:%S", time.localtime(wall // 1_000_000_000))
            + f".{wall % 1_000_000_000 // 1000:06d}"
        )

    def since_text(self, start_ns: int) -> str:
        """Seconds since `start_ns` (the session's start): +12.345678."""
        d = self.ts_ns - start_ns
        sign = "-" if d < 0 else "+"
        d = abs(d)
        return f"{sign}{d // 1_000_000_000}.{d % 1_000_000_000 // 1000:06d}"

    def spawn_text(self) -> str:
        """`created by main.serve at server.go:88 in goroutine 1`, as Go's traceback says it."""
        file, line = self.source or ("?", 0)
        return f"created by {self.function} at {file.rsplit('/', 1)[-1]}:{line} in goroutine {self.goid}"

    def who_text(self) -> str:
        """`app[4242/4243]`, and the pid inside its namespace where it differs (a container)."""
        g = "" if self.goid is None else f" g{self.goid}"
        ns = "" if self.nspid in (None, self.pid) else f" nspid {self.nspid}"
        return f"{self.comm}[{self.pid}/{self.tid}{ns}]{g} cpu{self.cpu}"

    def text_line(self) -> str:
        """One line of `goprobe-tui trace` output (and its stack on the next, with --stack)."""
        arrow = {"entry": "->", "line": "--", "spawn": "=>"}.get(self.kind, "<-")
        line = printable(f"{self.clock_text()} {self.who_text()} {arrow} {self.call_text()}")
        if self.stack is not None:
            line += "\n    at " + printable(self.stack_text() or "?")
        return line

    def result_text(self) -> str:
        """`main.F = (r=2)` (no latency), or what the result registers held."""
        if self.registers and not self.returns:
            regs = ", ".join(
                f"{k}={v:#x}" if isinstance(v, int) else f"{k}=?" for k, v in self.registers.items()
            )
            return f"{self.function} returned (results unknown; registers {regs})"
        call = f"({_fields_text(self.args)})" if self.args else ""  # --slower-than: the whole call
        return f"{self.function}{call} = ({self.values_text()})"

    def inlined_text(self) -> str:
        """`inlined in main.Loop at main.go:17` (and the functions that one sits in)."""
        if not self.inlined:
            return ""
        (first, file, line), *outer = self.inlined
        via = "".join(f", in {f}" for f, _file, _line in outer)
        return f"inlined in {first} at {file.rsplit('/', 1)[-1]}:{line}{via}"

    def call_text(self, micro: str = "us") -> str:
        """`main.F(a=1)` for an entry, `main.F = (r=2) 12.3us` for a return; an inlined call
        says where it was inlined (it has no return: no latency)."""
        if self.kind == "spawn":
            return f"go g{self.args.get('child_goid')} {self.args.get('start')} ({self.spawn_text()})"
        if self.kind == "line":
            file, line = self.source or ("", 0)
            where = f" ({self.inlined_text()})" if self.inlined else ""
            locals_ = self.values_text() or self.args_note or "no locals"
            return f"{file.rsplit('/', 1)[-1]}:{line} in {self.function}{where}: {locals_}"
        if self.kind == "entry":
            values = self.values_text() or ("?" if self.args_note else "")
            text = f"{self.function}({values})"
            if self.inlined:
                note = f"; {self.args_note}" if self.args_note else ""
                text += f" ({self.inlined_text()}{note})"
            return text
        lat = "" if self.latency_ns is None else f" {format_duration(self.latency_ns, micro)}"
        return self.result_text() + lat
