"""What the keys do to probes: attach, detach, returns, fields, conditions, attach all; and
what comes back (ProbeChanged, ProbeFailed, hit counts). Kernel work runs in workers; the
handlers here own the probe panel's and the list's state. Mixed into the main screen."""

from __future__ import annotations

import time

from textual import work

from goprobe_tui.engine.guards import MAX_FUNCTIONS
from goprobe_tui.errors import GoprobeError
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.gobinary import Function
from goprobe_tui.gobinary.lines import line_target
from goprobe_tui.ui.browser.probe_panel import ProbePanel
from goprobe_tui.ui.dialogs.screens import ConfirmScreen, PromptScreen
from goprobe_tui.ui.messages import Notice, ProbeChanged, ProbeFailed, WorkProgress

CONFIRM_ABOVE = 50


class ProbeCommands:
    def _require_tracing(self) -> bool:
        if self.controller is None:
            self.notify(f"Read-only mode: {self.readonly_reason}", severity="error")
            return False
        return True

    def _highlighted_function(self) -> Function | None:
        idx = self.browser.current
        if idx is None or not self._require_tracing():
            return None
        return self.functions[idx]

    def _panel(self) -> ProbePanel | None:
        found = self.query(ProbePanel)
        return found.first() if found else None

    # -- keys ---------------------------------------------------------------------------
    def action_toggle(self) -> None:
        panel = self.query_one(ProbePanel)
        if self.focused is panel:  # in the probe panel: the probe under its cursor goes
            name = panel.highlighted()
            if name is not None and self._require_tracing():
                self._detach_function(name)
            return
        fn = self._highlighted_function()
        if fn is None:
            return
        if self.controller.returns_of(fn.key) is not None:
            self._detach_function(fn.key)
        else:
            self._attach_functions([fn.index], returns=False)

    def action_toggle_returns(self) -> None:
        fn = self._highlighted_function()
        if fn is not None:
            self._attach_functions([fn.index], returns=not self.controller.returns_of(fn.key))

    def action_fields(self) -> None:
        fn = self._highlighted_function()
        if fn is None:
            return

        def answer(text: str | None) -> None:
            if text is not None:
                exprs = tuple(e.strip() for e in text.split(",") if e.strip())
                self._reapply(
                    fn, lambda: self.controller.set_fields(fn, exprs), f"fields {', '.join(exprs) or 'none'}"
                )

        self.push_screen(
            PromptScreen(
                f"Fields to read at each call of {fn.key} (comma-separated "
                "Go selectors on its parameters; empty: none)",
                ", ".join(self.controller.fields_of(fn)),
                "r.URL.Path, r.Method",
            ),
            answer,
        )

    def action_condition(self) -> None:
        fn = self._highlighted_function()
        if fn is None:
            return

        def answer(text: str | None) -> None:
            if text is not None:
                self._reapply(
                    fn,
                    lambda: self.controller.set_condition(fn, text),
                    f"condition {text.strip()!r}" if text.strip() else "no condition",
                )

        self.push_screen(
            PromptScreen(
                f"Record only the calls of {fn.key} where… (filtered in the kernel; empty: every call)",
                self.controller.condition_of(fn),
                'i >= 990 · path ~ "/api/*" · err != nil',
            ),
            answer,
        )

    def action_stats_by(self) -> None:
        """Statistics by the values of a parameter (or a field read with e), like stats --by."""
        if not self._require_tracing():
            return

        def answer(text: str | None) -> None:
            if text is not None:
                self._stats_by(text.strip())

        self.push_screen(
            PromptScreen(
                "Statistics by the values of… (a parameter, or a field read with e; empty: by function)",
                "",
                "path · arg0 · r.URL.Path",
            ),
            answer,
        )

    def action_attach_all(self) -> None:
        if not self._require_tracing():
            return
        rows = [int(i) for i in self.browser.function_list.rows]
        probes = self._planned_probes(rows)
        if not rows:
            self.notify("no function matches: nothing to attach", severity="warning")
        elif probes > MAX_FUNCTIONS:
            self.notify(
                f"{len(rows):,} functions match: {probes:,} probes (entries and inlined "
                f"calls), above the cap of {MAX_FUNCTIONS:,}: every call costs the target "
                "a kernel trap. Narrow the search, or press A to attach them all anyway.",
                severity="error",
                timeout=10,
            )
        else:
            self._confirm_attach(rows)

    def _planned_probes(self, rows: list[int]) -> int:
        """Probes attaching these rows places at most: an entry each (functions with a body)
        and one per inlined call (what the cap counts)."""
        listing = self.browser.function_list
        own = sum(1 for i in rows if i < self.functions.inlined_only_from)
        return own + int(listing.inlined[[i for i in rows if i < len(listing.inlined)]].sum())

    def action_attach_all_anyway(self) -> None:
        rows = [int(i) for i in self.browser.function_list.rows]
        if rows and self._require_tracing():
            self._confirm_attach(rows, always=True)

    def _confirm_attach(self, rows: list[int], always: bool = False) -> None:
        if always or len(rows) > CONFIRM_ABOVE:

            def answer(ok: bool | None) -> None:
                if ok:
                    self._attach_functions(rows, returns=False)

            self.push_screen(ConfirmScreen(f"Attach probes to all {len(rows):,} matching functions?"), answer)
        else:
            self._attach_functions(rows, returns=False)

    def action_detach_all(self) -> None:
        if not self._require_tracing():
            return
        if self.controller.attached_names():
            self._detach_all()
        else:
            self.notify("no probe is attached: nothing to detach", severity="warning")

    # -- workers: the kernel's answers come back as messages ----------------------------
    @work(thread=True, group="probes", exit_on_error=False)
    def _reapply(self, fn: Function, change, what: str) -> None:
        """Change a function's fields or condition; say what happened."""
        try:
            att = change()
        except GoprobeError as exc:  # the previous setting stays
            self.post_message(Notice(str(exc), "error"))
            return
        self.post_message(
            Notice(f"{fn.key}: {what}" + ("" if att else " (applied when attached)"), "information")
        )
        if att is not None:
            self.post_message(
                ProbeChanged(fn.key, True, att.returns, att.probes, att.note, att.inlined_missed)
            )

    @work(thread=True, group="probes", exit_on_error=False)
    def _stats_by(self, expr: str) -> None:
        """A field not read yet is read from now on (its functions attached again)."""
        try:
            changed = self.controller.stats_by(expr or None)
        except GoprobeError as exc:
            self.post_message(Notice(str(exc), "error"))
            return
        for att in changed:
            self.post_message(
                ProbeChanged(att.function.key, True, att.returns, att.probes, att.note, att.inlined_missed)
            )
        self.call_from_thread(self.trace_area.show, "stats-view")
        read = f" (now read at {len(changed)} function{'s' if len(changed) != 1 else ''})" if changed else ""
        self.post_message(
            Notice(
                f"statistics by {expr} from now on{read}: a row per value (calls "
                "before are not counted there)"
                if expr
                else "statistics by function again",
                "information",
            )
        )

    @work(thread=True, group="probes", exit_on_error=False)
    def _detach_all(self) -> None:
        names = self.controller.attached_names()
        try:
            self.controller.detach_all()
        except Exception as exc:
            self.post_message(ProbeFailed("detach all", str(exc)))
        for name in names:
            self.post_message(ProbeChanged(name, False))

    @work(thread=True, group="probes", exit_on_error=False)
    def _attach_functions(self, indexes: list[int], returns: bool) -> None:
        """One unit: probes with identical fetch args share a kernel event (fast teardown)."""
        fns = [self.functions[idx] for idx in indexes]
        self.attach_cancel.clear()
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.05 or done >= total:  # at most 20 a second reach the UI
                last[0] = now
                self.post_message(WorkProgress(stage, done, total))

        try:
            attached, errors = self.controller.attach_many(fns, returns, self.attach_cancel.is_set, progress)
        except Exception as exc:
            attached, errors = [], {fn.key: str(exc) for fn in fns}
        finally:
            self.post_message(WorkProgress("done", 0, 0))
        if self.attach_cancel.is_set():
            errors = {}  # what was not attached was cancelled, not refused
            self.post_message(
                Notice(
                    f"attach cancelled: {len(attached):,} functions attached before Esc stay attached",
                    "warning",
                )
            )
        for name, why in errors.items():
            self.post_message(ProbeFailed(name, why))
        for att in attached:
            self.post_message(
                ProbeChanged(att.function.key, True, att.returns, att.probes, att.note, att.inlined_missed)
            )

    @work(thread=True, group="probes", exit_on_error=False)
    def _attach_line(self, spec: str) -> None:
        """A probe at a source line (FILE:LINE), from a function's details."""
        try:
            fn = line_target(self.binary, spec)
            att = self.controller.attach(fn, False)
        except GoprobeError as exc:
            self.post_message(ProbeFailed(spec.rsplit("/", 1)[-1], str(exc)))
            return
        self.post_message(
            ProbeChanged(att.function.key, True, False, att.probes, att.note, att.inlined_missed)
        )

    @work(thread=True, group="probes", exit_on_error=False)
    def _detach_function(self, name: str) -> None:
        try:
            self.controller.detach(name)
        except Exception as exc:
            self.post_message(ProbeFailed(name, str(exc)))
            return
        self.post_message(ProbeChanged(name, False))

    def _guard_rates_tick(self) -> None:
        """The timer's: a check still running is left to finish, never cancelled (a cancelled
        worker is an error to whoever waits for the workers, and its thread runs on anyway)."""
        if not any(w.group == "rates" and w.is_running for w in self.workers):
            self._guard_rates()

    @work(thread=True, group="rates", exit_on_error=False)
    def _guard_rates(self) -> None:
        """Once a second: the engine's rate guard on every trap (warnings, detaches)."""
        if self.controller is None or not self.controller.attached_names():
            return
        report = self.controller.check_rates()
        for warning in report.warnings:
            self.post_message(Notice(warning, "warning", 15))
        for name in report.detached:
            self.post_message(ProbeChanged(name, False))

    # -- handlers -----------------------------------------------------------------------
    def on_probe_changed(self, message: ProbeChanged) -> None:
        idx = self.index_by_name.get(message.name)
        panel = self._panel()
        if panel is None:  # a message that lands while the screen is torn down
            return
        if message.attached:
            fn = self.functions[idx] if idx is not None else None
            where = self.controller.condition_of(fn) if fn is not None and self.controller else ""
            panel.upsert(
                message.name,
                message.returns,
                message.probes,
                f"where {where}" if where else "attached",
                partial=message.untraced > 0,
            )
            # its calls so far (0 until it is called), and calls/s; blank when no statistics
            # come (an engine without them): never a 0 that events on screen contradict
            counted = self.controller is not None and self.controller.counts_calls
            calls, rate = self._calls.get(message.name, (0 if counted else None, None))
            if calls is not None:
                panel.set_hits({message.name: calls}, {} if rate is None else {message.name: rate})
            if message.note:
                self.notify(f"{message.name}: {message.note}", severity="warning", timeout=8)
            if idx is not None:
                self.browser.function_list.set_state(idx, "entry+ret" if message.returns else "entry")
        else:
            panel.drop(message.name)
            if idx is not None:
                self.browser.function_list.set_state(idx, None)

    def on_probe_failed(self, message: ProbeFailed) -> None:
        idx = self.index_by_name.get(message.name)
        if idx is not None:
            self.browser.function_list.set_state(idx, "error")
        for panel in self.query(ProbePanel):  # none while the screen is torn down
            panel.upsert(message.name, False, 0, f"error: {message.error}"[:80], error=True)
        self.notify(f"{message.name}: {message.error}", severity="error", timeout=8)

    def show_calls(self, snapshot: list[StatsRow]) -> None:
        """Each function's calls recorded (what its condition and a followed goroutine let
        through, the same count as Stats) and calls/s, in the probe panel and the list."""
        self._calls = {s.function: (s.calls, s.calls_per_s) for s in snapshot}
        calls = {name: n for name, (n, _r) in self._calls.items()}
        for panel in self.query(ProbePanel):  # none while the screen is torn down
            panel.set_hits(calls, {name: r for name, (_n, r) in self._calls.items()})
        self.browser.function_list.set_hits(
            {self.index_by_name[n]: c for n, c in calls.items() if n in self.index_by_name}
        )
