"""The main screen: the function browser, the probe panel, and the views of what the probes
record. It builds the layout and wires the widgets to the engine; each widget owns its own
state. The App (app.py) keeps what is global: the engine, the keymap, notifications, quitting."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from goprobe_tui.engine.api import Engine
from goprobe_tui.engine.launch import ProgramRuns
from goprobe_tui.engine.signatures import signatures_of
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.events.stats_row import StatsRow
from goprobe_tui.events.status import TraceStatus
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.gobinary.lines import LineTable
from goprobe_tui.insight.call_tree import build_tree, goroutine_key
from goprobe_tui.textsafe import printable
from goprobe_tui.ui import keymap
from goprobe_tui.ui.browser.browser import Browser
from goprobe_tui.ui.browser.function_details import FunctionDetails
from goprobe_tui.ui.browser.function_list import FunctionList
from goprobe_tui.ui.browser.probe_panel import ProbePanel
from goprobe_tui.ui.calls.call_tree_view import CallTreeView
from goprobe_tui.ui.dialogs.screens import DetailScreen, HelpScreen
from goprobe_tui.ui.dialogs.work_progress import WorkProgressBar
from goprobe_tui.ui.events.event_details import event_details
from goprobe_tui.ui.events.events_view import EventsView
from goprobe_tui.ui.events.trace_area import TraceArea
from goprobe_tui.ui.events.trace_pane import TracePane
from goprobe_tui.ui.goroutines.goroutines_view import GoroutinesView
from goprobe_tui.ui.header import HeaderBar
from goprobe_tui.ui.lineage_commands import LineageCommands
from goprobe_tui.ui.messages import EventsDrained, InliningRead, Notice, ProbeChanged, WorkProgress
from goprobe_tui.ui.probe_commands import ProbeCommands
from goprobe_tui.ui.program_commands import EngineFactory, ProgramCommands
from goprobe_tui.ui.views import VIEWS

STATS_EVERY = 0.5
DRAIN_EVERY = 0.05
DRAIN_MAX = 5000
INLINING_AFTER = 0.3  # seconds after the first paint
# what z maximizes: the browser's panes, the events' pane, each other view whole
PANES = ("functions", "probes", "events", *(v.id for v in VIEWS if v.id != "events-view"))


class MainScreen(ProgramCommands, ProbeCommands, LineageCommands, Screen):
    """The session's screen: it builds the layout, runs the timers that bring events and
    statistics in, and answers the session's keys. The App keeps what is global."""

    BINDINGS = [
        *keymap.bindings(),
        *keymap.APP_BINDINGS,
    ]

    def __init__(
        self,
        binary: GoBinary,
        readonly_reason: str = "",
        save_dir: str = ".",
        pid: int | None = None,
        clock_start_ns: int | None = None,
        runs: ProgramRuns | None = None,
        new_engine: EngineFactory | None = None,
    ) -> None:
        """runs, new_engine: the program given after `--`, and how to trace a new run of it."""
        super().__init__()
        self.runs, self.new_engine = runs, new_engine
        self._ended_said: int | None = None
        self._rerunning = False
        self.target_pid = pid
        self._init_lineage()
        self.catalog_ready = False  # the functions that exist only inlined have joined the list
        self.binary = binary
        self.readonly_reason = readonly_reason
        self.functions = binary.functions
        self.index_by_name = {n: i for i, n in enumerate(self.functions.keys)}
        self._events_view = EventsView(save_dir, clock_start_ns, id="events-view")
        self.attach_cancel = threading.Event()  # Esc while a long attach shows its progress
        self._engine_error: str | None = None
        self._notices_seen = 0
        self._status = TraceStatus()
        self._snapshot: list[StatsRow] | None = None
        self._calls: dict[str, tuple[int, int]] = {}  # (calls, calls/s) by function: last snapshot
        self.signatures = signatures_of(binary)  # what each function's details say of its parameters

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield HeaderBar(
            self.binary,
            self.target_pid,
            self.readonly_reason,
            program_state=self.runs.state if self.runs is not None else None,
            id="header",
        )
        banner = Static(id="banner")
        if self.readonly_reason:
            banner.update(Text(printable(f"Read-only: {self.readonly_reason}")))
            banner.add_class("visible")
        yield banner
        with Horizontal(id="top"):
            yield Browser(self.functions, self.binary.buildinfo.main_path, id="browser")
            yield ProbePanel(id="probes")
        yield TraceArea(self._events_view, id="trace")
        yield WorkProgressBar(id="work")
        yield Footer(show_command_palette=False)  # ? and the help name ctrl+p

    # the engine lives on the App (the launcher closes it after the App ends; R swaps it)
    @property
    def controller(self) -> Engine | None:
        return self.app.controller  # type: ignore[attr-defined]

    @controller.setter
    def controller(self, engine: Engine | None) -> None:
        self.app.controller = engine  # type: ignore[attr-defined]

    def call_from_thread(self, callback, *args, **kwargs):
        return self.app.call_from_thread(callback, *args, **kwargs)

    def push_screen(self, screen, callback=None):
        return self.app.push_screen(screen, callback)

    def on_mount(self) -> None:
        b = self.binary
        self.app.sub_title = printable(
            f"{os.path.basename(b.path)} · {b.goversion or 'Go ?'} {b.arch} · "
            f"{len(self.functions):,} functions"
        )
        # Timers hold on to what they update: during shutdown the screen empties before the
        # app's timers stop, and a query then would raise.
        self.browser = self.query_one(Browser)
        self.trace_area = self.query_one(TraceArea)
        self._focus(self.query_one(FunctionList))
        self.trace_area.update_status(self._status if self.controller else None)
        self.query_one(GoroutinesView).watch_process(self.target_pid, self.binary)
        self.set_interval(DRAIN_EVERY, self._drain)
        self.set_interval(STATS_EVERY, self._refresh_stats)
        if self.runs is not None:
            self.set_interval(0.5, self._watch_program)
        if self.controller is not None:
            self.set_interval(1.0, self._guard_rates_tick)
            self.controller.on_binary_change = lambda ch: self.call_from_thread(self._binary_changed, ch)
        # once the list is on screen: the read holds the interpreter ~0.5 s on hugo, and run
        # meanwhile it doubled the time until the list was shown (0.47 -> 0.95 s)
        self.call_after_refresh(
            lambda: self.set_timer(INLINING_AFTER, lambda: self.browser.read_inlining(self.binary))
        )

    # -- focus and keys ---------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Priority keys act only on the main screen, and never while a text box has the
        focus (there they are text: `/` in `net/http`)."""
        if action in keymap.PRIORITY_ACTIONS or action == "submit_input":
            if self.app.screen is not self:
                return False
            focused_input = isinstance(self.focused, Input)
            return focused_input if action == "submit_input" else not focused_input
        return True

    def _focus(self, widget) -> None:
        # Now, not via call_later like Widget.focus(): keys already queued behind this one
        # (a fast typist, a paste, tmux send-keys) must reach the new widget, not the old.
        self.screen.set_focus(widget)

    def action_submit_input(self) -> None:
        """Enter in the search box or the event filter, handled before the keys behind it are
        delivered: those go to the list or the events, as if typed after a pause."""
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "search":
            self.browser.focus_list()
        elif isinstance(focused, Input) and focused.id == "trace-filter":
            self._events_view.apply_filter(focused.value)

    def action_back(self) -> None:
        """Esc in the search box: back to the list; in the event filter: back to the events;
        while a long attach shows its progress: cancel it (what is attached stays)."""
        if self.query_one(WorkProgressBar).running:
            self.attach_cancel.set()
            return
        focused = self.focused
        if focused is not None and focused.id == "search":
            self.browser.focus_list()
        elif focused is not None and focused.id == "trace-filter":
            self._focus(self.query_one(TracePane))

    def action_search(self) -> None:
        self.browser.focus_search()

    def on_work_progress(self, message: WorkProgress) -> None:
        self.query_one(WorkProgressBar).update_work(message.stage, message.done, message.total)

    def action_focus_next(self) -> None:
        """Tab: the next pane, never the search box (`/` opens it): a key typed after Tab is
        meant for a pane (`g` landed in the search box and searched for g)."""
        self._next_pane(self.screen.focus_next)

    def action_focus_previous(self) -> None:
        self._next_pane(self.screen.focus_previous)

    def _next_pane(self, move) -> None:
        start = self.focused
        for _ in range(8):
            widget = move()
            if widget is None or widget is start or not isinstance(widget, Input):
                return

    def action_toggle_std(self) -> None:
        self.browser.cycle_scope()

    def action_maximize(self) -> None:
        """The focused pane alone on the screen, or back to all panes."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.focused
        while target is not None and target.parent is not None and target.id not in PANES:
            target = target.parent
        if target is not None:
            self.screen.maximize(target)

    # -- the views --------------------------------------------------------------
    def action_tail(self) -> None:
        """G from anywhere: the events view, at the live tail."""
        if self.trace_area.current != self._events_view.id:
            self.trace_area.show(self._events_view.id)
        self._events_view.tail()

    def action_next_view(self) -> None:
        self.trace_area.show()
        self._refresh_stats()

    def action_filter(self) -> None:
        self._events_view.open_filter()

    def action_pause(self) -> None:
        self._events_view.toggle_pause()
        self.trace_area.update_status(self._status if self.controller else None)

    def action_clock(self) -> None:
        self.notify(self._events_view.toggle_clock(), timeout=3)

    def action_clear(self) -> None:
        self._events_view.clear()
        self.trace_area.update_status(self._status if self.controller else None)

    def action_save(self) -> None:
        self._events_view.save()

    def _refresh_stats(self) -> None:
        if self.controller is None:
            return
        snapshot = self.controller.insight()
        self.trace_area.show_statistics(snapshot)
        self.trace_area.show_flame(self.controller.flame())
        if snapshot is not self._snapshot:  # a new one comes about twice a second
            self._snapshot = snapshot
            self.show_calls(snapshot)

    # -- the browser's answers -------------------------------------------------
    @on(InliningRead)
    def _inlining_read(self, message: InliningRead) -> None:
        """After the browser took the catalog: probes and counts are named by its functions."""
        if message.catalog is not None:
            self.functions = message.catalog
            self.index_by_name = {n: i for i, n in enumerate(self.functions.keys)}
            self.show_calls(self._snapshot or [])
        self.catalog_ready = True

    @on(FunctionList.DetailsRequested)
    def _details_requested(self, message: FunctionList.DetailsRequested) -> None:
        from goprobe_tui.engine.line_sites import line_locals
        from goprobe_tui.ui.browser.details import describe

        change = self.controller.status().binary_change if self.controller is not None else None
        if change is not None and change.in_place:  # its bytes under our mmap are gone
            self.notify(change.message, title="binary changed", severity="error")
            return
        fn = self.functions[message.index]
        sig = None if fn.inlined_only else self.signatures.of(fn)
        table = LineTable(self.binary)
        lines = table.lines_of_inlined(fn.name) if fn.inlined_only else table.lines_of(fn.index)

        def chosen(spec: str | None) -> None:
            if spec is not None and self._require_tracing():
                self._attach_line(spec)

        binary = self.binary
        self.push_screen(
            FunctionDetails(describe(binary, fn, sig), lines, lambda spec: line_locals(binary, spec)), chosen
        )

    # -- events ---------------------------------------------------------------
    def _drain(self) -> None:
        """Every DRAIN_EVERY: one batch of events and the counters, as one message."""
        if self.controller is None:
            return
        rows = [] if self._events_view.paused else self.controller.drain(DRAIN_MAX)
        self.post_message(EventsDrained(rows, self.controller.status()))

    @on(EventsDrained)
    def _events_drained(self, message: EventsDrained) -> None:
        self._events_view.add(message.rows)
        self._note_spawns(message.rows)
        status = self._status = message.status
        for note in status.notices[self._notices_seen :]:
            self.notify(note, title="events", severity="warning", timeout=15)
        self._notices_seen = len(status.notices)
        if status.error and status.error != self._engine_error:  # once per distinct failure
            self._engine_error = status.error
            self.notify(status.error, title="events stopped", severity="error", timeout=30)
        self.trace_area.update_status(status)

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        self.notify(message.text, severity=message.severity, timeout=message.timeout)

    @on(TracePane.EventChosen)
    def _event_chosen(self, message: TracePane.EventChosen) -> None:
        ev = message.event
        if message.what == "open":
            self.push_screen(DetailScreen(event_details(ev, self.created_by(ev.pid, ev.goid))))
        elif message.what == "calls":
            self._show_calls(ev)
        elif message.what == "follow" and self._require_tracing():
            goid = None if self._status.following == ev.goid else ev.goid
            if goid is None and self._status.following is None:
                self.notify("this event has no goroutine id: cannot follow it", severity="warning")
            else:
                self._set_following(goid, ev.pid)

    def _show_calls(self, ev: TraceEvent) -> None:
        key = goroutine_key(ev)
        if key is None:
            self.notify("this event has no goroutine id (its binary gives none)", severity="warning")
            return
        self._show_goroutine_calls(key, f" ({printable(ev.comm)})")

    @on(GoroutinesView.Chosen)
    def _goroutine_chosen(self, message: GoroutinesView.Chosen) -> None:
        """`g` on a goroutine of the Goroutines view: its calls, as far as probes saw them."""
        if self.controller is None or not self.controller.attached_names():
            self.notify(
                f"goroutine {message.goid}: no probe is attached, so no call of it was seen "
                "(attach functions with a, then g again)",
                severity="warning",
            )
            return
        self._show_goroutine_calls((message.pid, message.goid), "")

    def _show_goroutine_calls(self, key: tuple[int, int], comm: str) -> None:
        events = [e for e in self._events_view.events() if goroutine_key(e) == key]
        self.calls_of = key
        origin = self.created_by(*key)
        title = f"{origin or f'goroutine {key[1]}'} · pid {key[0]}{comm}: {len(events):,} events" + (
            " · u: its parent's calls" if origin else ""
        )
        self.query_one(CallTreeView).show(title, build_tree(events))
        self.trace_area.show("calls-view")

    def action_stacks(self) -> None:
        if not self._require_tracing():
            return
        on = not self._status.stacks
        try:
            self.controller.set_stacks(on)
        except OSError as exc:
            self.notify(f"cannot turn call stacks {'on' if on else 'off'}: {exc.strerror}", severity="error")
            return
        self._status = replace(self._status, stacks=on)
        self.notify("call stacks on: Enter on an event shows its stack" if on else "call stacks off")

    # -- help ---------------------------------------------------------
    def _binary_changed(self, change) -> None:
        self.notify(change.message, title="binary changed", severity="error", timeout=60)
        if change.in_place:  # the engine has detached everything already
            for panel in self.query(ProbePanel):
                for key in list(panel.rows):
                    self.post_message(ProbeChanged(str(key.value), False))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.app.user_keymap))  # type: ignore[attr-defined]

    def action_quit_app(self) -> None:
        self.app.quit_detaching()  # type: ignore[attr-defined]
