"""The tracing engine behind one thread-safe object: what both front ends drive.

Events are read from the kernel here and decoded by a low-priority child process (which, for
headless `trace`, also writes them out); the TUI's come back and wait in a bounded backlog
that it drains at its own pace. Drops from the backlog are counted, never hidden.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from goprobe_tui.engine.api import RateReport
from goprobe_tui.engine.attach import SHALLOW_NOTE, AttachedFunction, Attacher, only_one
from goprobe_tui.engine.binary_watch import BinaryWatch, Change, Identity
from goprobe_tui.engine.guards import RateGuard, hot_warning, over_limit_note
from goprobe_tui.engine.options import EngineOptions
from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.events.model import EventRow
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.insight.flame import FlameRow
from goprobe_tui.pipeline.backlog import Backlog
from goprobe_tui.pipeline.stream import Batch, EventStream
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.session import ProbeEvent, ProbeSession, returns_first

BACKLOG = 200_000


MAX_FOLLOWED = 64  # goroutines in one follow filter (the one followed and its descendants)


class TraceController:
    def __init__(
        self,
        binary: GoBinary,
        session: ProbeSession,
        path: str | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        """options.output: the decoder writes events itself (headless trace), and teardown
        waits until every event is written. options.statistics: per-function statistics
        (`insight`, a snapshot list refreshed about twice a second). options.rows=False: no
        events come back (headless stats); teardown waits for the final statistics."""
        o = self.options = options or EngineOptions()
        self.binary = binary
        self.session = session
        self.attacher = Attacher(binary, session, path, o.overrides, o.fields, o.where, o.depth)
        self.attached: dict[str, AttachedFunction] = {}
        # Detached functions whose events still exist (disabled, or shared and muted):
        # attaching them again reuses those events.
        self._detached: dict[str, AttachedFunction] = {}
        self.backlog = Backlog(BACKLOG)
        self._decoded = TraceStatus()  # the decoder's latest figures
        self._received = 0  # rows put in the backlog
        self._notices: list[str] = []  # said once each, through status().notices
        self._lock = threading.Lock()
        # An arm64 kernel has no user stack walk of its own (6.1 has none): there the probes
        # walk the frames themselves, as they do for --stack-depth.
        own_walk = binary.arch == "arm64" and (o.stacks or o.stack_toggle)
        if (o.stack_depth or own_walk) and session.perf is None:
            self.attacher.stack_walk = (o.stack_depth or 8) - 1
        elif o.stack_depth or o.stacks:  # the kernel's walk, or perf's callchain as deep as asked
            session.set_user_stacks(True)
        self._insight: list[StatsRow] = []
        self._flame: list[FlameRow] = []
        self._spawns: ProbeEvent | None = None  # runtime.newproc1's return probes
        self._followed: tuple[int, ...] | None = None  # the goroutines the filters let through
        self._following: int | None = None  # goroutine id events are restricted to
        self._guard = RateGuard(o.max_rate)
        out = o.output
        self.stream = EventStream(
            session.instance,
            session.root,
            None if o.launched else o.pid,  # launched: its forks' events are its own too
            self._on_batch,
            None if out is None else (out.fd, out.format, out.count),
            stop_timeout=None if out or not o.rows else 5.0,
            rows=o.rows,
            on_insight=self._on_insight if o.statistics else None,
            reader=session.reader(),
            by=o.by,
            otlp=(o.otlp, binary.path, binary.goversion) if o.otlp else None,
        )
        session.on_define = self.stream.announce
        session.attach_reader(self.stream)
        self._walk_shown = bool(o.stacks or o.stack_depth)  # the probes' own walk, if they walk
        if self.attacher.stack_walk and not self._walk_shown:
            self.stream.show_walked_stacks(False)
        if o.slower_than_ns is not None:
            self.stream.only_slower_than(o.slower_than_ns)
        self.on_binary_change: Callable[[Change], None] | None = None
        self.binary_change: Change | None = None
        self._identity = Identity(*binary.elf.identity)
        self._watch: BinaryWatch | None = None

    @property
    def counts_calls(self) -> bool:
        return self.options.statistics

    def _watch_binary(self) -> None:
        """From the first attach on: uprobes sit on the inode, so a binary overwritten in place
        must lose its probes before the next run of it executes them."""
        if self.binary_change is not None and self.binary_change.in_place:
            raise ProbeError(self.binary_change.message)
        path = self.attacher.path
        now = Identity.of(path)
        if not self._identity.same_inode(now) or now != self._identity:
            raise ProbeError(f"{path} changed since it was read: restart goprobe-tui on it")
        if self._watch is None:
            self._watch = BinaryWatch(path, self._identity, self._binary_changed)

    def _binary_changed(self, change: Change) -> None:
        self.binary_change = change
        if change.in_place:
            self.detach_all()
        if self.on_binary_change is not None:
            self.on_binary_change(change)

    # -- probes (call from worker threads; they may take a while) -------------------
    def attach(self, fn: Function, returns: bool) -> AttachedFunction:
        return only_one(fn, *self.attach_many([fn], returns))

    def attach_many(
        self,
        fns: list[Function],
        returns: bool,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> tuple[list[AttachedFunction], dict[str, str]]:
        """Attach as one unit (shared events). Returns (attached, {function: why not})."""
        with self._lock:
            self._watch_binary()
            fresh, out = [], []
            for fn in fns:
                if fn.key in self.attached:
                    if self.attached[fn.key].returns == returns:
                        out.append(self.attached[fn.key])
                        continue
                    self._detach_locked(fn.key)
                old = self._detached.get(fn.key)
                if old is not None and old.returns == returns:
                    self._reuse(old)
                    out.append(old)
                else:
                    fresh.append(fn)
            attached, errors = self.attacher.attach_many(fresh, returns, stop, progress)
            if self.attacher.last_shallow and SHALLOW_NOTE not in self._notices:
                self._notices.append(SHALLOW_NOTE)
            for att in attached:
                self._detached.pop(att.function.key, None)
                self.attached[att.function.key] = att
            return out + attached, errors

    def trace_goroutines(self, on: bool) -> None:
        """Record every goroutine created from now on (spawn events: its id, its parent's,
        the `go` statement, the function started), or stop. ProbeError says why it cannot."""
        with self._lock:
            if on:
                self._watch_binary()
                if self._spawns is None:
                    self._spawns = self.attacher.attach_spawns()
                else:
                    self.session.enable(self._spawns)
            elif self._spawns is not None:
                self.session.disable(self._spawns)  # kept defined: deleting clears the buffer

    def stats_by(self, expr: str | None) -> list[AttachedFunction]:
        """Statistics by the values of this parameter or field from now on (None: by function
        again). A field not read yet is read from now on, as `stats --by` does: each attached
        function that has it is attached again with it, and returned. ValueError if no
        attached function has that parameter or field."""
        changed: list[AttachedFunction] = []
        if expr and "." in expr:
            having = []
            for att in list(self.attached.values()):
                fn = att.function
                try:
                    path = self.attacher.signatures.field_path(fn, expr)
                except GoprobeError:
                    path = None
                if path is not None:
                    having.append(fn)
            if not having:
                raise BadInput(
                    f"{expr}: no attached function has it (a parameter's field, "
                    "e.g. r.URL.Path; without DWARF, arg1.(*pkg.T).Field)"
                )
            for fn in having:
                fields = self.fields_of(fn)
                if expr not in fields:
                    redone = self.set_fields(fn, (*fields, expr))
                    if redone is not None:
                        changed.append(redone)
        self.options = replace(self.options, by=expr or None)
        self.stream.set_by(expr or None)
        return changed

    @property
    def goroutines(self) -> bool:
        """Goroutine creations are being recorded."""
        return self._spawns is not None and self._spawns.enabled

    def set_fields(self, fn: Function, exprs: tuple[str, ...]) -> AttachedFunction | None:
        """This function's own --field selectors (empty: none). ValueError if one does not
        exist; then nothing changes. If it is attached, it is attached again (for the new
        fetch args to apply) and returned."""
        self.attacher.own_field_paths(fn, exprs)  # ValueError before anything changes
        self.attacher.function_fields[fn.key] = exprs
        return self._reapply(fn)

    def fields_of(self, fn: Function) -> tuple[str, ...]:
        return self.attacher.function_fields.get(fn.key, self.attacher.fields)

    def set_condition(self, fn: Function, text: str) -> AttachedFunction | None:
        """This function's own --where ("": none). ProbeError if it cannot be compiled; then
        the previous condition stays in force. If attached, it is attached again and returned."""
        had, old = fn.key in self.attacher.function_where, self.attacher.function_where.get(fn.key)
        self.attacher.function_where[fn.key] = text.strip()
        try:
            if text.strip():
                self.attacher.condition(fn, *self.attacher.plans(fn))
        except ProbeError:
            if had:
                self.attacher.function_where[fn.key] = old or ""
            else:
                del self.attacher.function_where[fn.key]
            raise
        return self._reapply(fn)

    def condition_of(self, fn: Function) -> str:
        return self.attacher.condition_text(fn)

    def _reapply(self, fn: Function) -> AttachedFunction | None:
        """Attach a function again, its fetch args or filter having changed."""
        with self._lock:
            self._detached.pop(fn.key, None)  # its old events read or filter the old way
            if fn.key not in self.attached:
                return None
            returns = self.attached[fn.key].returns
            self._detach_locked(fn.key)
            self._detached.pop(fn.key, None)
        return self.attach(fn, returns)

    def follow_goroutine(self, goid: int | None, descendants: tuple[int, ...] = ()) -> None:
        """Restrict events to one goroutine (None: all again), and to its descendants given,
        in the kernel: each event's filter gets `goid == N || ...` next to its own condition.
        ProbeError if an event has no goroutine id (its binary's offset is unknown); the
        filters then stay as they were."""
        goids = None if goid is None else (goid, *descendants[: MAX_FOLLOWED - 1])
        with self._lock:
            events = {id(ev): ev for att in self.attached.values() for ev in att.events}.values()
            if goid is not None and any(ev.layout is None or "goid" not in ev.layout.names for ev in events):
                raise ProbeError("the goroutine id is not read in this binary: cannot follow one")
            if self.session.perf is not None:
                # a perf event takes a filter once (the kernel says EEXIST to a second): the
                # decoder keeps the followed goroutines' events, counting the others filtered
                self.stream.only_goroutines(goids)
                self._following, self._followed = goid, goids
                return
            done = []
            try:
                for ev in events:
                    self.session.set_filter(ev, _with_goroutine(ev.base_filter, goids))
                    done.append(ev)
            except ProbeError:
                for ev in done:
                    self.session.set_filter(ev, _with_goroutine(ev.base_filter, self._followed))
                raise
            self._following = goid
            self._followed = goids

    def _reuse(self, att: AttachedFunction) -> None:
        name = att.function.key
        for ev in att.events:
            self.session.set_muted(ev, name, False)
            self.session.enable(ev)
        self._detached.pop(name, None)
        self.attached[name] = att

    def detach(self, name: str) -> None:
        with self._lock:
            self._detach_locked(name)

    def _detach_locked(self, name: str) -> None:
        """Disable what only this function uses; mute its probes in events shared with others.
        Nothing is deleted: that would clear the buffer, unread events of others included."""
        att = self.attached.pop(name, None)
        if att is None:
            return
        for ev in returns_first(att.events):
            self.session.set_muted(ev, name, True)
            if not ev.live_functions():
                self.session.disable(ev)
        self._detached[name] = att

    def detach_all(self) -> None:
        with self._lock:
            events = {id(ev): ev for att in self.attached.values() for ev in att.events}
            for ev in returns_first(list(events.values())):
                self.session.disable(ev)
            for name in list(self.attached):
                self._detach_locked(name)

    def hits(self) -> dict[str, int]:
        """Hits per attached Go function (its entry probes, inlined copies included: one probe
        there can stand for several calls), from uprobe_profile."""
        per_probe = self.session.hits()
        attached = list(self.attached.values())
        out = dict.fromkeys((att.function.key for att in attached), 0)
        # One pass over each event's sites (runs every second; a batch shares its events)
        for ev in {id(ev): ev for att in attached for ev in att.events}.values():
            for i, s in enumerate(ev.sites):
                if s.kind in ("entry", "line") and s.function in out:
                    out[s.function] += per_probe.get((ev.name, i), 0) * (len(s.inlined) or 1)
        return out

    def check_rates(self) -> RateReport:
        """Hits per function, the hot ones to warn about (once each), and those detached now
        for firing above --max-rate. Call about once a second."""
        hits = self.hits()
        hot, over = self._guard.check(hits, time.monotonic())
        warnings = [hot_warning(name, rate) for name, rate in hot]
        for name, rate in over:
            self.detach(name)
            assert self._guard.limit is not None  # nothing is over without a limit
            warnings.append(over_limit_note(name, rate, self._guard.limit))
        if over and not self.attached:
            warnings.append("every probe was detached by --max-rate")
        return RateReport(hits, tuple(warnings), tuple(name for name, _rate in over))

    # -- events ---------------------------------------------------------------------
    def wait_ready(self, stop: Callable[[], bool] = lambda: False) -> str | None:
        """None once the decoder runs, else why it does not (or None as soon as `stop()`)."""
        deadline = time.monotonic() + 120  # a decoder slow to start on a loaded machine
        while not stop() and time.monotonic() < deadline:
            if self.stream.ready:
                return self.stream.error
            self.stream.wait_ready(0.1)
        return None if stop() else self.stream.wait_ready(0)

    @property
    def ended(self) -> bool:
        """No more events will come: the decoder wrote its --count, or it has exited."""
        return self.stream.done.is_set() or self.stream.finished.is_set()

    def _on_batch(self, count: int, batch: Batch, status: TraceStatus) -> None:
        self._decoded = status
        if count:
            self.backlog.put(count, batch)
            self._received += count

    def _on_insight(self, snapshot: list[StatsRow], flame: list[FlameRow] | None = None) -> None:
        self._insight = snapshot  # one reference swap: readers see the old or the new list
        if flame is not None:  # None: unchanged since the last one
            self._flame = flame

    def flame(self) -> list[FlameRow]:
        """The latest call paths with their time (insight/flame.py), for the Flame view."""
        return self._flame

    def insight(self) -> list[StatsRow]:
        """The latest per-function statistics (insight/stats.py snapshots)."""
        return self._insight

    def status(self) -> TraceStatus:
        d = self._decoded
        return replace(
            d,
            received=self._received,
            lost=d.lost + self.backlog.dropped,
            waiting=len(self.backlog),
            probes=self.session.probe_count(),
            error=self.stream.error,
            notices=(*self._notices, *self.stream.restarts),
            binary_change=self.binary_change,
            following=self._following,
            stacks=self.session.user_stacks or (self.attacher.stack_walk > 0 and self._walk_shown),
            detaching=self.session.detaching,
        )

    def set_stacks(self, on: bool) -> None:
        """Call stacks on every event from now on: the frames the probes walk shown (where they
        walk), else the kernel's walk (the instance's userstacktrace option, or perf's)."""
        if self.attacher.stack_walk:
            self.stream.show_walked_stacks(on)
            self._walk_shown = on
        else:
            self.session.set_user_stacks(on)

    def returns_of(self, name: str) -> bool | None:
        att = self.attached.get(name)
        return None if att is None else att.returns

    def attached_names(self) -> list[str]:
        return list(self.attached)

    def drain(self, limit: int = 5000) -> list[EventRow]:
        """Up to `limit` waiting events, oldest first, as rows (TraceEvent.from_row)."""
        return self.backlog.take(limit)

    def close(self) -> None:
        """Disable all, let the reader take the last records, delete: in that order."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.session.close()


def _with_goroutine(base: str, goids: tuple[int, ...] | None) -> str:
    if not goids:
        return base
    which = " || ".join(f"goid == {g}" for g in goids)
    which = which if len(goids) == 1 else f"({which})"
    return which if not base else f"({base}) && {which}"
