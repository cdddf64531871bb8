"""A stand-in for the engine (goprobe_tui/engine/api.py's API), for UI tests that must not depend
on the kernel. It implements that API only; the app never sees more of it."""

from __future__ import annotations

from collections import deque

from goprobe_tui.engine.api import RateReport
from goprobe_tui.engine.attach import AttachedFunction
from goprobe_tui.engine.guards import RateGuard
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.tracefs.errors import ProbeError


def sample_events(n: int = 6) -> list[TraceEvent]:
    out = []
    for i in range(n):
        out.append(
            TraceEvent(
                1_000_000_000 + 10_000 * i,
                0,
                4242,
                4242,
                "divide",
                "main.Divide",
                "entry",
                "gp1_0_main_Divide",
                args={"dividend": 5 + i, "divisor": 3},
            )
        )
        out.append(
            TraceEvent(
                1_000_004_000 + 10_000 * i,
                0,
                4242,
                4242,
                "divide",
                "main.Divide",
                "return",
                "gp1_1_main_Divide_ret",
                returns={"quotient": (5 + i) // 3, "remainder": (5 + i) % 3},
                latency_ns=4000,
            )
        )
    out.append(
        TraceEvent(
            2_000_000_000,
            1,
            4242,
            4243,
            "divide",
            "fmt.Printf",
            "entry",
            "gp1_2_fmt_Printf",
            args={"format": "dividend=%d", "a": 1},
        )
    )
    return out


class _FakeAttached(AttachedFunction):
    @property
    def probes(self) -> int:
        return 2 if self.returns else 1


class _FakeSession:
    def __init__(self, controller: FakeController) -> None:
        self._controller = controller

    def probe_count(self) -> int:
        return sum(a.probes for a in self._controller.attached.values())


class FakeController:
    def __init__(self, fail: set[str] | None = None, max_rate: float | None = None) -> None:
        self.attached: dict[str, AttachedFunction] = {}
        self.session = _FakeSession(self)
        self.backlog: deque[tuple] = deque()
        self.received = 0
        self.lost = 0
        self.guard = RateGuard(max_rate)
        self.now = 0.0  # the rate guard's clock: tests move it
        self.hit_counts: dict[str, int] = {}  # tests set them (7 otherwise)
        self.fail = fail or set()
        self.closed = False
        self.error: str | None = None
        self.notices: list[str] = []
        self.binary_change = None
        self.on_binary_change = None
        self.counts_calls = True  # as the app runs it: statistics on
        self.goroutines = False
        self.flame_rows: list = []
        self.fields: dict[str, tuple[str, ...]] = {}
        self.conditions: dict[str, str] = {}
        self.following: int | None = None
        self.stacks = False
        self.snapshot: list[StatsRow] = []

    def attach(self, fn, returns: bool) -> AttachedFunction:
        if fn.key in self.fail:
            raise ProbeError(f"kernel refused `p:... {fn.key}`", "Invalid argument")
        att = _FakeAttached(fn, returns)
        self.attached[fn.key] = att
        return att

    attach_delay = 0.0  # seconds per function: a long attach, for its progress bar

    def attach_many(self, fns, returns: bool, stop=lambda: False, progress=None):
        import time

        attached, errors = [], {}
        for i, fn in enumerate(fns):
            if stop():
                break
            time.sleep(self.attach_delay)
            try:
                attached.append(self.attach(fn, returns))
            except ProbeError as exc:
                errors[fn.key] = str(exc)
            if progress is not None:
                progress("attaching", i + 1, len(fns))
        return attached, errors

    def detach(self, name: str) -> None:
        self.attached.pop(name, None)

    def detach_all(self) -> None:
        self.attached.clear()

    def hits(self) -> dict[str, int]:
        return {name: self.hit_counts.get(name, 7) for name in list(self.attached)}

    def check_rates(self) -> RateReport:
        from goprobe_tui.engine.guards import hot_warning, over_limit_note

        hits = self.hits()
        hot, over = self.guard.check(hits, self.now)
        warnings = [hot_warning(n, r) for n, r in hot]
        for name, rate in over:
            self.detach(name)
            warnings.append(over_limit_note(name, rate, self.guard.limit))
        return RateReport(hits, tuple(warnings), tuple(n for n, _r in over))

    def push(self, events: list[TraceEvent]) -> None:
        self.backlog.extend(ev.as_row() for ev in events)
        self.received += len(events)

    def drain(self, limit: int = 5000) -> list[tuple]:
        out = []
        while self.backlog and len(out) < limit:
            out.append(self.backlog.popleft())
        return out

    def close(self, progress=None) -> None:
        self.attached.clear()
        self.closed = True

    # -- the rest of the engine API -------------------------------------------------
    def returns_of(self, name: str) -> bool | None:
        att = self.attached.get(name)
        return None if att is None else att.returns

    def attached_names(self) -> list[str]:
        return list(self.attached)

    def status(self) -> TraceStatus:
        return TraceStatus(
            received=self.received,
            lost=self.lost,
            waiting=len(self.backlog),
            probes=sum(a.probes for a in list(self.attached.values())),
            error=self.error,
            notices=tuple(self.notices),
            binary_change=self.binary_change,
            following=self.following,
            stacks=self.stacks,
        )

    def insight(self) -> list[StatsRow]:
        return self.snapshot

    def flame(self) -> list:
        return self.flame_rows

    def stats_by(self, expr: str | None) -> list:
        self.by = expr
        return []

    def _again(self, fn):
        att = self.attached.get(fn.key)
        return None if att is None else self.attach(fn, att.returns)

    def set_fields(self, fn, exprs):
        if any("Nope" in e for e in exprs):
            raise ValueError(f"--field {exprs[0]}: no such field")
        self.fields[fn.key] = exprs
        return self._again(fn)

    def fields_of(self, fn) -> tuple[str, ...]:
        return self.fields.get(fn.key, ())

    def set_condition(self, fn, text: str):
        if ">>" in text:
            raise ProbeError(f"--where {text!r} on {fn.key}: cannot read it")
        self.conditions[fn.key] = text
        return self._again(fn)

    def condition_of(self, fn) -> str:
        return self.conditions.get(fn.key, "")

    def follow_goroutine(self, goid: int | None, descendants: tuple[int, ...] = ()) -> None:
        self.following = goid
        self.followed_descendants = descendants

    def trace_goroutines(self, on: bool) -> None:
        self.goroutines = on

    def set_stacks(self, on: bool) -> None:
        self.stacks = on
