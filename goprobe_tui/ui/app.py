"""The goprobe-tui application: function browser, probe panel, trace pane."""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterable
from dataclasses import replace

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.widgets.input import Selection

from goprobe_tui.atomic_file import save_atomically
from goprobe_tui.engine import Engine, EngineStatus
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.insight.call_tree import build_tree, goroutine_key
from goprobe_tui.search import EVERYTHING, OWN, OWN_AND_DEPS, SCOPE_NAMES, FunctionSearch
from goprobe_tui.textsafe import printable
from goprobe_tui.tracefs.attach import MASS_ATTACH, SHALLOW_NOTE
from goprobe_tui.tracefs.decode import TraceEvent
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.guards import MAX_FUNCTIONS, RateGuard, hot_warning, over_limit_note
from goprobe_tui.ui import keymap
from goprobe_tui.ui.call_tree_view import CallTreeView
from goprobe_tui.ui.event_details import event_details
from goprobe_tui.ui.function_list import FunctionList, header_text
from goprobe_tui.ui.header import header_line, process_state
from goprobe_tui.ui.messages import (
    EventsDrained,
    HitsUpdated,
    Notice,
    ProbeChanged,
    ProbeFailed,
    SearchDone,
)
from goprobe_tui.ui.probe_panel import ProbePanel
from goprobe_tui.ui.screens import ConfirmScreen, DetailScreen, HelpScreen, PromptScreen
from goprobe_tui.ui.stats_pane import StatsPane
from goprobe_tui.ui.trace_pane import TracePane

CONFIRM_ABOVE = 50
STATS_EVERY = 0.5
WARM_AFTER = 0.3  # seconds after start-up: search tables are built in the background
VIEWS = [("events-view", "Events"), ("stats-view", "Stats"), ("calls-view", "Calls")]
DRAIN_EVERY = 0.05
DRAIN_MAX = 5000


class GoprobeApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "goprobe-tui"
    BINDINGS = [*keymap.bindings(), Binding("escape", "back", "Back", show=False),
                Binding("G", "tail", "Tail", show=False),
                Binding("enter", "submit_input", "Apply", show=False, priority=True)]

    def __init__(self, binary: GoBinary, controller: Engine | None,
                 readonly_reason: str = "", save_dir: str = ".", freeze_startup_heap: bool = False,
                 max_rate: float | None = None, pid: int | None = None,
                 clock_start_ns: int | None = None) -> None:
        super().__init__()
        self.target_pid = pid
        self.rate_guard = RateGuard(max_rate)
        self.freeze_startup_heap = freeze_startup_heap
        self.binary = binary
        self.controller = controller
        self.readonly_reason = readonly_reason
        self.save_dir = save_dir
        self.functions = binary.functions
        self.searcher = FunctionSearch(self.functions.names, binary.buildinfo.main_path)
        self.scope = EVERYTHING  # which functions the list holds (t cycles)
        self._started_ns = time.monotonic_ns() if clock_start_ns is None else clock_start_ns
        self.query_text = ""
        self.paused = False
        self.index_by_name = {n: i for i, n in enumerate(self.functions.keys)}
        self._quitting = False
        self._status_text = ""
        self._engine_error: str | None = None
        self._notices_seen = 0
        self._status = EngineStatus()
        self._stats_shown: list | None = None
        self._search_started = 0.0
        self.search_latencies: list[float] = []  # keystroke -> results applied, for benchmarks

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(Text(self._header_text()), id="header")
        banner = Static(id="banner")
        if self.readonly_reason:
            banner.update(Text(printable(f"Read-only: {self.readonly_reason}")))
            banner.add_class("visible")
        yield banner
        with Horizontal(id="top"):
            with Vertical(id="browser"):
                # select_on_focus: its select-all runs when the Focus message arrives, after
                # keys typed right behind `/` (a burst): it would select and then overwrite them
                yield Input(placeholder="/ search functions (fuzzy)", id="search",
                            select_on_focus=False)
                yield Static(id="list-header")
                yield FunctionList(self.functions, id="functions")
                yield Static(id="list-status")
            yield ProbePanel(id="probes")
        with Vertical(id="trace"):
            yield Static(id="views")
            yield Static(id="trace-status")
            with ContentSwitcher(initial="events-view", id="switcher"):
                with Vertical(id="events-view"):
                    yield Input(placeholder="filter events (function or text), Enter to apply",
                                select_on_focus=False,
                                id="trace-filter")
                    yield TracePane(id="events")
                yield StatsPane(id="stats-view")
                yield CallTreeView(id="calls-view")
        yield Footer()

    def on_mount(self) -> None:
        b = self.binary
        self.sub_title = printable(f"{os.path.basename(b.path)} · {b.goversion or 'Go ?'} {b.arch} · "
                          f"{len(self.functions):,} functions")
        # own module first, then dependencies, then the standard library
        self.query_one(FunctionList).set_rows(self.searcher.search("", scope=self.scope))
        self._focus(self.query_one(FunctionList))
        # Timers hold on to what they update: during shutdown the screen empties before the
        # app's timers stop, and a query then would raise.
        self._pane = self.query_one(TracePane)
        self._pane.start_ns = self._started_ns
        self._switcher = self.query_one(ContentSwitcher)
        self._stats_pane = self.query_one(StatsPane)
        self._trace_status = self.query_one("#trace-status", Static)
        self._update_list_status()
        self._update_trace_status()
        self._show_views()
        self.set_timer(WARM_AFTER, self._warm_search)  # once the list is on screen
        self.call_after_refresh(self.on_resize)  # the list's column titles, once it has a width
        self.set_interval(DRAIN_EVERY, self._drain)
        self.set_interval(STATS_EVERY, self._refresh_stats)
        if self.controller is not None:
            self.set_interval(1.0, self._poll_hits)
            self.controller.on_binary_change = lambda ch: self.call_from_thread(self._binary_changed, ch)
        if self.target_pid is not None:
            self._header_shown = self._header_text()
            self.set_interval(1.0, self._refresh_header)
        if self.freeze_startup_heap:
            self.call_after_refresh(self._freeze_heap)

    def _freeze_heap(self) -> None:
        # What is alive once the UI is up (function table, widgets, modules) lives as long as
        # the app. Out of the cyclic collector's reach, each full collection while events stream
        # in walks only newer objects: ~30 ms less pause per collection on a 58k-function binary.
        gc.collect()
        gc.freeze()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every message may quote the binary or the target (names, errors): shown as text."""
        super().notify(printable(message), title=printable(title), severity=severity,
                       timeout=timeout, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for c in keymap.COMMANDS:
            yield SystemCommand(f"{c.label} ({c.shown})", c.help, getattr(self, f"action_{c.action}"))

    def on_resize(self) -> None:
        self.query_one("#list-header", Static).update(header_text(self.query_one(FunctionList).size.width))

    # -- search ---------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._search_started = time.perf_counter()
        self._run_search(event.value, self.scope)

    @work(thread=True, group="warm", exit_on_error=False)
    def _warm_search(self) -> None:
        self.searcher.warm()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _run_search(self, query: str, scope: int) -> None:
        rows = self.searcher.search(query, scope=scope)
        self.post_message(SearchDone(query, rows))

    @on(SearchDone)
    def _search_done(self, message: SearchDone) -> None:
        if message.query != self.query_text:
            return  # a newer keystroke is on its way
        self.query_one(FunctionList).set_rows(message.rows)
        self._update_list_status()
        self.search_latencies.append(time.perf_counter() - self._search_started)

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self._focus(self.query_one(FunctionList))

    def _update_list_status(self) -> None:
        fl = self.query_one(FunctionList)
        scope = "" if self.scope == EVERYTHING else f" · {SCOPE_NAMES[self.scope]} (t)"
        self.query_one("#list-status", Static).update(
            f" {len(fl.rows):,} / {len(self.functions):,} functions{scope}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Priority keys act only on the main screen, and never while a text box has the
        focus (there they are text: `/` in `net/http`)."""
        if action in keymap.PRIORITY_ACTIONS or action == "submit_input":
            if self.screen is not self.screen_stack[0]:
                return False
            focused_input = isinstance(self.focused, Input)
            return focused_input if action == "submit_input" else not focused_input
        return True

    def action_submit_input(self) -> None:
        """Enter in the search box or the event filter, handled before the keys behind it are
        delivered: those go to the list or the events, as if typed after a pause."""
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "search":
            self._focus(self.query_one(FunctionList))
        elif isinstance(focused, Input) and focused.id == "trace-filter":
            self._apply_filter(focused.value)

    def action_tail(self) -> None:
        """G from anywhere: the events view, at the live tail."""
        if self._switcher.current != "events-view":
            self._switch_view("events-view")
        self._focus(self._pane)
        self._pane.action_tail()

    def action_maximize(self) -> None:
        """The focused pane alone on the screen, or back to all panes."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.focused
        while target is not None and target.parent is not None and target.id not in (
                "functions", "probes", "events", "stats-view", "calls-view"):
            target = target.parent
        if target is not None:
            self.screen.maximize(target)

    def action_back(self) -> None:
        """Esc in the search box: back to the list; in the event filter: back to the events."""
        focused = self.focused
        if focused is not None and focused.id == "search":
            self._focus(self.query_one(FunctionList))
        elif focused is not None and focused.id == "trace-filter":
            self._focus(self._pane)

    def action_search(self) -> None:
        self._focus_selected(self.query_one("#search", Input))

    def _focus_selected(self, box: Input) -> None:
        """Focus a text box with its text selected, now: what is typed next replaces it,
        including keys already queued behind this one."""
        self._focus(box)
        box.selection = Selection(0, len(box.value))

    def _focus(self, widget: Widget) -> None:
        # Now, not via call_later like Widget.focus(): keys already queued behind this one
        # (a fast typist, a paste, tmux send-keys) must reach the new widget, not the old.
        self.screen.set_focus(widget)

    def action_toggle_std(self) -> None:
        """Everything -> own module only -> own module and dependencies -> everything."""
        self.scope = {EVERYTHING: OWN, OWN: OWN_AND_DEPS, OWN_AND_DEPS: EVERYTHING}[self.scope]
        self._run_search(self.query_text, self.scope)

    # -- probes ---------------------------------------------------------------
    def _require_tracing(self) -> bool:
        if self.controller is None:
            self.notify(f"Read-only mode: {self.readonly_reason}", severity="error")
            return False
        return True

    def _highlighted(self) -> int | None:
        return self.query_one(FunctionList).current

    def action_toggle(self) -> None:
        idx = self._highlighted()
        if idx is None or not self._require_tracing():
            return
        name = self.functions.keys[idx]
        if self.controller.returns_of(name) is not None:
            self._detach_function(name)
        else:
            self._attach_functions([idx], returns=False)

    def action_toggle_returns(self) -> None:
        idx = self._highlighted()
        if idx is None or not self._require_tracing():
            return
        self._attach_functions([idx], returns=not self.controller.returns_of(self.functions.keys[idx]))

    def action_fields(self) -> None:
        idx = self._highlighted()
        if idx is None or not self._require_tracing():
            return
        fn = self.functions[idx]
        current = ", ".join(self.controller.fields_of(fn))

        def answer(text: str | None) -> None:
            if text is not None:
                exprs = tuple(e.strip() for e in text.split(",") if e.strip())
                self._set_fields(fn, exprs)
        self.push_screen(PromptScreen(f"Fields to read at each call of {fn.key} (comma-separated "
                                      "Go selectors on its parameters; empty: none)",
                                      current, "r.URL.Path, r.Method"), answer)

    @work(thread=True, group="probes", exit_on_error=False)
    def _set_fields(self, fn, exprs: tuple[str, ...]) -> None:
        self._reapplied(fn, lambda: self.controller.set_fields(fn, exprs),
                        f"fields {', '.join(exprs) or 'none'}")

    def action_condition(self) -> None:
        idx = self._highlighted()
        if idx is None or not self._require_tracing():
            return
        fn = self.functions[idx]

        def answer(text: str | None) -> None:
            if text is not None:
                self._set_condition(fn, text)
        self.push_screen(PromptScreen(f"Record only the calls of {fn.key} where… (filtered in the "
                                      "kernel; empty: every call)", self.controller.condition_of(fn),
                                      'i >= 990 · path ~ "/api/*" · err != nil'), answer)

    @work(thread=True, group="probes", exit_on_error=False)
    def _set_condition(self, fn, text: str) -> None:
        self._reapplied(fn, lambda: self.controller.set_condition(fn, text),
                        f"condition {text.strip()!r}" if text.strip() else "no condition")

    def _reapplied(self, fn, change, what: str) -> None:
        """Run a change of a function's probes (from a worker); say what happened."""
        try:
            att = change()
        except (ValueError, ProbeError) as exc:  # the previous setting stays
            self.post_message(Notice(str(exc), "error"))
            return
        self.post_message(Notice(f"{fn.key}: {what}" + ("" if att else " (applied when attached)"),
                                 "information"))
        if att is not None:
            self.post_message(ProbeChanged(fn.key, True, att.returns, att.probes, att.note))

    def action_attach_all(self) -> None:
        if not self._require_tracing():
            return
        rows = [int(i) for i in self.query_one(FunctionList).rows]
        if not rows:
            self.notify("no function matches: nothing to attach", severity="warning")
        elif len(rows) > MAX_FUNCTIONS:
            self.notify(f"{len(rows):,} functions match, above the cap of {MAX_FUNCTIONS:,}: every "
                        "call of each costs the target a kernel trap. Narrow the search, or press "
                        "A to attach them all anyway.", severity="error", timeout=10)
        else:
            self._confirm_attach(rows)

    def action_attach_all_anyway(self) -> None:
        rows = [int(i) for i in self.query_one(FunctionList).rows]
        if rows and self._require_tracing():
            self._confirm_attach(rows, always=True)

    def _confirm_attach(self, rows: list[int], always: bool = False) -> None:
        if always or len(rows) > CONFIRM_ABOVE:
            def answer(ok: bool | None) -> None:
                if ok:
                    self._attach_functions(rows, returns=False)
            self.push_screen(ConfirmScreen(f"Attach probes to all {len(rows):,} matching functions?"),
                             answer)
        else:
            self._attach_functions(rows, returns=False)

    def action_detach_all(self) -> None:
        if not self._require_tracing():
            return
        if self.controller.attached_names():
            self._detach_all()
        else:
            self.notify("no probe is attached: nothing to detach", severity="warning")

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
        try:
            attached, errors = self.controller.attach_many(fns, returns)
        except Exception as exc:
            attached, errors = [], {fn.key: str(exc) for fn in fns}
        for name, why in errors.items():
            self.post_message(ProbeFailed(name, why))
        for att in attached:
            self.post_message(ProbeChanged(att.function.key, True, att.returns, att.probes, att.note))
        if attached and len(fns) > MASS_ATTACH:
            self.post_message(Notice(SHALLOW_NOTE, "information"))

    @work(thread=True, group="probes", exit_on_error=False)
    def _detach_function(self, name: str) -> None:
        try:
            self.controller.detach(name)
        except Exception as exc:
            self.post_message(ProbeFailed(name, str(exc)))
            return
        self.post_message(ProbeChanged(name, False))

    @on(ProbeChanged)
    def _probe_changed(self, message: ProbeChanged) -> None:
        idx = self.index_by_name.get(message.name)
        panel = self.query_one(ProbePanel)
        fl = self.query_one(FunctionList)
        if message.attached:
            panel.upsert(message.name, message.returns, message.probes)
            if message.note:
                self.notify(f"{message.name}: {message.note}", severity="warning", timeout=8)
            if idx is not None:
                fl.set_state(idx, "entry+ret" if message.returns else "entry")
        else:
            panel.drop(message.name)
            if idx is not None:
                fl.set_state(idx, None)

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        self.notify(message.text, severity=message.severity, timeout=8)

    @on(ProbeFailed)
    def _probe_failed(self, message: ProbeFailed) -> None:
        idx = self.index_by_name.get(message.name)
        if idx is not None:
            self.query_one(FunctionList).set_state(idx, "error")
        self.query_one(ProbePanel).upsert(message.name, False, 0, f"error: {message.error}"[:80])
        self.notify(f"{message.name}: {message.error}", severity="error", timeout=8)

    def _header_text(self) -> str:
        comm = process_state(self.target_pid) if self.target_pid is not None else None
        return header_line(self.binary, self.target_pid, self.readonly_reason, comm)

    def _refresh_header(self) -> None:
        text = self._header_text()
        if text != self._header_shown:  # e.g. the target exited
            self._header_shown = text
            self.query_one("#header", Static).update(Text(text))

    def _binary_changed(self, change) -> None:
        self.notify(change.message, title="binary changed", severity="error", timeout=60)
        if change.in_place:  # the controller has detached everything already
            for key in list(self.query_one(ProbePanel).rows):
                self.post_message(ProbeChanged(str(key.value), False))

    @work(thread=True, exclusive=True, group="hits", exit_on_error=False)
    def _poll_hits(self) -> None:
        if self.controller is not None and self.controller.attached_names():
            self.post_message(HitsUpdated(self.controller.hits()))

    @on(HitsUpdated)
    def _hits_updated(self, message: HitsUpdated) -> None:
        hot, over = self.rate_guard.check(message.hits, time.monotonic())
        for name, rate in hot:
            self.notify(hot_warning(name, rate), severity="warning", timeout=15)
        for name, rate in over:
            self.notify(over_limit_note(name, rate, self.rate_guard.limit), severity="warning", timeout=15)
            self._detach_function(name)
        self.query_one(ProbePanel).set_hits(message.hits)
        self.query_one(FunctionList).set_hits(
            {self.index_by_name[n]: h for n, h in message.hits.items() if n in self.index_by_name})

    # -- details --------------------------------------------------------------
    @on(FunctionList.DetailsRequested)
    def _details(self, message: FunctionList.DetailsRequested) -> None:
        from goprobe_tui.ui.details import describe

        change = self.controller.status().binary_change if self.controller is not None else None
        if change is not None and change.in_place:  # its bytes under our mmap are gone
            self.notify(change.message, title="binary changed", severity="error")
            return

        self.push_screen(DetailScreen(describe(self.binary, self.functions[message.index])))

    # -- events ---------------------------------------------------------------
    def _drain(self) -> None:
        """Every DRAIN_EVERY: one batch of events and the counters, as one message."""
        if self.controller is None:
            return
        rows = [] if self.paused else self.controller.drain(DRAIN_MAX)
        self.post_message(EventsDrained(rows, self.controller.status()))

    @on(EventsDrained)
    def _events_drained(self, message: EventsDrained) -> None:
        if message.rows:
            self._pane.add(message.rows)
        self._pane.keep_following()
        status = self._status = message.status
        if len(status.notices) > self._notices_seen:
            for note in status.notices[self._notices_seen:]:
                self.notify(note, title="events", severity="warning", timeout=15)
            self._notices_seen = len(status.notices)
        if status.error and status.error != self._engine_error:  # once per distinct failure
            self._engine_error = status.error
            self.notify(status.error, title="events stopped", severity="error", timeout=30)
        self._update_trace_status()

    def _update_trace_status(self) -> None:
        pane = self._pane
        c = self._status if self.controller else None
        parts = []
        if c is not None:
            backlog = c.waiting
            parts.append(f"events {c.received:,}")
            parts.append(f"[b]lost {c.lost:,}[/b]" if c.lost else "lost 0")
            if c.unpaired_returns:
                parts.append(f"no latency {c.unpaired_returns:,}")
            if c.unattributed or c.malformed:
                parts.append(f"unreadable {c.unattributed + c.malformed:,}")
            if backlog:
                parts.append(f"waiting {backlog:,}")
        else:
            parts.append("tracing unavailable")
        parts.append(f"shown {len(pane.view):,}")
        if pane.dropped:
            parts.append(f"scrolled out {pane.dropped:,}")
        if pane.filter:
            parts.append(f"filter '{escape(printable(pane.filter))}'")
        if self.paused:
            parts.append("[reverse] PAUSED [/reverse]")
        below = pane.below if self._switcher.current == "events-view" else 0
        if below:
            parts.append(f"[reverse] ▼ {below:,} below: End or G [/reverse]")
        text = " · ".join(parts)
        if text != self._status_text:  # repaint only on change: this runs every 50 ms
            self._status_text = text
            self._trace_status.update(text)

    def action_filter(self) -> None:
        box = self.query_one("#trace-filter", Input)
        box.add_class("visible")
        self._focus_selected(box)

    @on(Input.Submitted, "#trace-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        self._pane.set_filter(text)
        box = self.query_one("#trace-filter", Input)
        if not text:
            box.remove_class("visible")
        self._focus(self._pane)
        self._update_trace_status()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._update_trace_status()

    def action_clock(self) -> None:
        self._pane.toggle_clock(self._started_ns)
        self.notify("times: wall clock" if self._pane.start_ns is None else
                    "times: seconds since the session started", timeout=3)

    def action_clear(self) -> None:
        self.query_one(TracePane).clear()
        self._update_trace_status()

    def action_save(self) -> None:
        pane = self.query_one(TracePane)
        if not pane.view:
            self.notify("no events shown: nothing to save", severity="warning")
            return
        default = os.path.abspath(os.path.join(
            self.save_dir, f"goprobe-events-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"))
        rows = [pane.rows[i] for i in pane.view]  # what is shown now, whatever comes meanwhile

        def answer(path: str | None) -> None:
            if path is not None and path.strip():
                self._save(os.path.abspath(os.path.expanduser(path.strip())), rows)
        self.push_screen(PromptScreen(f"Save the {len(rows):,} events shown as JSON lines to:",
                                      default), answer)

    def _save(self, path: str, rows: list) -> None:
        try:
            save_atomically(path, (json.dumps(TraceEvent.from_row(r).to_json_dict()) + "\n"
                                   for r in rows))
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"saved {len(rows):,} event{'s' if len(rows) != 1 else ''} to {path}")

    # -- views: events, statistics, one goroutine's calls ------------------------------------
    def _show_views(self) -> None:
        current = self._switcher.current
        text = Text(" ")
        for view_id, title in VIEWS:
            text.append(f" {title} ", style="reverse bold" if view_id == current else "dim")
            text.append(" ")
        text.append("  v: next view", style="dim")
        self.query_one("#views", Static).update(text)

    def action_next_view(self) -> None:
        self._switch_view(None)

    def _switch_view(self, view_id: str | None) -> None:
        switcher = self._switcher
        ids = [v for v, _t in VIEWS]
        switcher.current = view_id or ids[(ids.index(switcher.current) + 1) % len(ids)]
        self._show_views()
        self._focus({"events-view": self._pane, "stats-view": self.query_one("#stats-table"),
                     "calls-view": self.query_one(CallTreeView)}[switcher.current])
        self._refresh_stats()

    def _refresh_stats(self) -> None:
        if self.controller is not None and self._switcher.current == "stats-view":
            snapshot = self.controller.insight()
            if snapshot is not self._stats_shown:  # a new snapshot comes about twice a second
                self._stats_shown = snapshot
                self._stats_pane.update_snapshot(snapshot)

    @on(TracePane.EventChosen)
    def _event_chosen(self, message: TracePane.EventChosen) -> None:
        ev = message.event
        if message.what == "open":
            self.push_screen(DetailScreen(event_details(ev)))
        elif message.what == "calls":
            self._show_calls(ev)
        elif message.what == "follow":
            self._follow(ev)

    def _show_calls(self, ev: TraceEvent) -> None:
        key = goroutine_key(ev)
        if key is None:
            self.notify("this event has no goroutine id (its binary gives none)", severity="warning")
            return
        pane = self._pane
        events = [e for e in (pane.event(i) for i in range(len(pane.rows))) if goroutine_key(e) == key]
        roots = build_tree(events)
        title = f"goroutine {key[1]} of pid {key[0]} ({printable(ev.comm)}): {len(events):,} events"
        self.query_one(CallTreeView).show(title, roots)
        self._switch_view("calls-view")

    def _follow(self, ev: TraceEvent) -> None:
        if not self._require_tracing():
            return
        goid = None if self._status.following == ev.goid else ev.goid
        if goid is None and self._status.following is None:
            self.notify("this event has no goroutine id: cannot follow it", severity="warning")
            return
        self._set_following(goid)

    @work(thread=True, group="probes", exit_on_error=False)
    def _set_following(self, goid: int | None) -> None:
        try:
            self.controller.follow_goroutine(goid)
        except ProbeError as exc:  # the filters in force stay
            self.post_message(Notice(str(exc), "error"))
            return
        self.post_message(Notice("following all goroutines again" if goid is None else
                                 f"following goroutine {goid} only (a kernel filter on goid; F again "
                                 "stops)", "information"))

    def action_stacks(self) -> None:
        if not self._require_tracing():
            return
        on = not self._status.stacks
        try:
            self.controller.set_stacks(on)
        except OSError as exc:
            self.notify(f"cannot turn call stacks {'on' if on else 'off'}: {exc.strerror}",
                        severity="error")
            return
        self._status = replace(self._status, stacks=on)
        self.notify("call stacks on: Enter on an event shows its stack" if on else "call stacks off")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # -- quit -----------------------------------------------------------------
    def action_quit_app(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        n = self.controller.status().probes if self.controller is not None else 0
        if n:
            self.notify(f"detaching {n:,} probe{'s' if n != 1 else ''}…", timeout=30)
        self._detach_and_exit()

    def _teardown_progress(self, done: int, total: int) -> None:
        self._trace_status.update(f"detaching: {done}/{total} kernel events disabled")

    @work(thread=True, group="shutdown", exit_on_error=False)
    def _detach_and_exit(self) -> None:
        try:
            if self.controller is not None:
                self.controller.close(
                    lambda done, total: self.call_from_thread(self._teardown_progress, done, total))
        finally:
            self.call_from_thread(self.exit)
