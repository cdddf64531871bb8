"""The function browser: a search box, column titles, every function, and how many match.
It owns the search (run in a worker, results as SearchDone) and the scope (t)."""

from __future__ import annotations

import time

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static
from textual.widgets.input import Selection

from goprobe_tui.errors import GoprobeError
from goprobe_tui.gobinary import FunctionTable, GoBinary
from goprobe_tui.gobinary.inline import catalog, inline_index
from goprobe_tui.ui.browser.function_list import FunctionList
from goprobe_tui.ui.browser.search import EVERYTHING, OWN, OWN_AND_DEPS, SCOPE_NAMES, FunctionSearch
from goprobe_tui.ui.messages import InliningRead, Notice, SearchDone
from goprobe_tui.ui.text_box import TextBox

WARM_AFTER = 0.3  # seconds after start-up: search tables are built in the background
MAX_QUERY = 512  # longer than Go names get: a paste of pages costs nothing beyond it


class Browser(Vertical):
    def __init__(self, functions: FunctionTable, main_module: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.functions = functions
        self.main_module = main_module
        self.searcher = FunctionSearch(functions.names, main_module)
        self.scope = EVERYTHING  # which functions the list holds (t cycles)
        self.query_text = ""
        self._shown = ("", EVERYTHING)  # the query and scope the list's rows answer
        self._search_started = 0.0
        self.search_latencies: list[float] = []  # keystroke -> results applied, for benchmarks

    def compose(self) -> ComposeResult:
        # select_on_focus: its select-all runs when the Focus message arrives, after keys
        # typed right behind `/` (a burst): it would select and then overwrite them
        yield TextBox(
            placeholder="/ search functions (fuzzy)", id="search", select_on_focus=False, max_length=MAX_QUERY
        )
        yield Static(id="list-header")
        yield FunctionList(self.functions, id="functions")
        yield Static(id="list-status")

    def on_mount(self) -> None:
        self.function_list = self.query_one(FunctionList)
        self.box = self.query_one("#search", Input)
        # own module first, then dependencies, then the standard library
        self.function_list.set_rows(self.searcher.search("", scope=self.scope))
        self._update_status()
        self.set_timer(WARM_AFTER, self._warm)  # once the list is on screen
        self.call_after_refresh(self.on_resize)  # column titles, once the list has a width

    def on_resize(self) -> None:
        # after the relayout: the list's width now may still be the one before the resize
        self.call_after_refresh(self._update_header)

    def _update_header(self) -> None:
        self.query_one("#list-header", Static).update(self.function_list.header())

    def on_function_list_columns_changed(self) -> None:
        self._update_header()

    @work(thread=True, group="inlining", exit_on_error=False)
    def read_inlining(self, binary: GoBinary) -> None:
        """Once the list is up: the inline trees (read on first use ~0.4 s for 88,000
        functions, cached after), then the list gains the functions that exist only inlined.
        InliningRead goes on to the screen, whose probes are named by these functions."""
        try:
            table = catalog(binary)
            counts = inline_index(binary).counts()
        except GoprobeError as exc:
            self.post_message(Notice(f"inlined calls unknown: {exc}", "warning"))
            self.post_message(InliningRead(None, None))
            return
        inlined = np.fromiter((counts.get(n, 0) for n in table.names), dtype=np.int64, count=len(table))
        self.post_message(InliningRead(table, inlined))

    @on(InliningRead)
    def _inlining_read(self, message: InliningRead) -> None:
        if message.catalog is not None:
            self.set_catalog(message.catalog, message.inlined)

    def set_catalog(self, functions: FunctionTable, inlined) -> None:
        """Every traceable function (those that exist only inlined added after the table's
        own) and each one's inlined calls: the list, the search and the counts follow; the
        query and the highlighted function stay."""
        keep = self.current
        self.functions = functions
        self.searcher = FunctionSearch(functions.names, self.main_module)
        self.function_list.set_table(functions, inlined)
        rows = (
            self.searcher.search(self.query_text, scope=self.scope)
            if self.searcher.ready(self.query_text)
            else None
        )
        if rows is None:
            self._run_search(self.query_text, self.scope)
            return
        self.function_list.set_rows(rows)
        if keep is not None:
            where = np.flatnonzero(rows == keep)
            if len(where):
                self.function_list.cursor = int(where[0])
        self._update_status()
        self.set_timer(WARM_AFTER, self._warm)

    @property
    def current(self) -> int | None:
        """The highlighted function's index."""
        return self.function_list.current

    def focus_search(self) -> None:
        """The search box focused with its text selected, now: what is typed next replaces
        it, including keys already queued behind this one."""
        self.screen.set_focus(self.box)
        self.box.selection = Selection(0, len(self.box.value))

    def focus_list(self) -> None:
        """The list, answering the query typed: a search still running in the background is
        done now, so the keys queued behind Enter (`/Countdown`, Enter, Space) act on its
        answer, not on the list before it (seen: Space attached the full list's first row)."""
        if self._shown != (self.query_text, self.scope):
            rows = self.searcher.search(self.query_text, scope=self.scope)
            self._search_done(SearchDone(self.query_text, rows, self.scope))
        self.screen.set_focus(self.function_list)

    def cycle_scope(self) -> None:
        """Everything -> own module only -> own module and dependencies -> everything."""
        self.scope = {EVERYTHING: OWN, OWN: OWN_AND_DEPS, OWN_AND_DEPS: EVERYTHING}[self.scope]
        self._run_search(self.query_text, self.scope)

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._search_started = time.perf_counter()
        if self.searcher.ready(event.value):
            # a few milliseconds: answered now, painted with the keystroke in one frame
            rows = self.searcher.search(event.value, scope=self.scope)
            self._search_done(SearchDone(event.value, rows, self.scope))
        else:
            self._run_search(event.value, self.scope)

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.focus_list()

    @work(thread=True, group="warm", exit_on_error=False)
    def _warm(self) -> None:
        self.searcher.warm()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _run_search(self, query: str, scope: int) -> None:
        self.post_message(SearchDone(query, self.searcher.search(query, scope=scope), scope))

    @on(SearchDone)
    def _search_done(self, message: SearchDone) -> None:
        if (message.query, message.scope) != (self.query_text, self.scope):
            return  # a newer keystroke (or t) is on its way
        self._shown = (message.query, message.scope)
        self.function_list.set_rows(message.rows)
        self._update_status()
        self.search_latencies.append(time.perf_counter() - self._search_started)

    def _update_status(self) -> None:
        scope = "" if self.scope == EVERYTHING else f" · {SCOPE_NAMES[self.scope]} (t)"
        only = len(self.functions) - self.functions.inlined_only_from
        also = f" ({only:,} only inlined)" if only else ""
        found = self.query("#list-status")
        if not found:  # a late message while the screen is torn down: nothing to update
            return
        found.first(Static).update(
            f" {len(self.function_list.rows):,} / {len(self.functions):,} functions{also}{scope}"
        )
