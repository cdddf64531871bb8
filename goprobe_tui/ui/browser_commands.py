"""What the function browser asks of the app: the inline trees read once the list is up
(then the list gains the functions that exist only inlined), and a function's details, whose
lines can be picked for a line probe. Mixed into the main screen."""

from __future__ import annotations

import numpy as np
from textual import work

from goprobe_tui.errors import GoprobeError
from goprobe_tui.gobinary.inline import catalog, inline_index
from goprobe_tui.gobinary.lines import LineTable
from goprobe_tui.ui.browser.function_details import FunctionDetails
from goprobe_tui.ui.browser.function_list import FunctionList
from goprobe_tui.ui.messages import InliningRead, Notice


class BrowserCommands:
    @work(thread=True, group="inlining", exit_on_error=False)
    def _read_inlining(self) -> None:
        """Once the list is up: the inline trees (read on first use ~0.4 s for 88,000
        functions, cached after), then the list gains the functions that exist only inlined."""
        try:
            table = catalog(self.binary)
            counts = inline_index(self.binary).counts()
        except GoprobeError as exc:
            self.post_message(Notice(f"inlined calls unknown: {exc}", "warning"))
            self.catalog_ready = True
            return
        inlined = np.fromiter((counts.get(n, 0) for n in table.names), dtype=np.int64, count=len(table))
        self.post_message(InliningRead(table, inlined))

    # handlers by name: a mixin is not a message pump, so @on would not register here
    def on_inlining_read(self, message: InliningRead) -> None:
        self.functions = message.catalog
        self.index_by_name = {n: i for i, n in enumerate(self.functions.keys)}
        self.browser.set_catalog(message.catalog, message.inlined)
        self.show_calls(self._snapshot or [])
        self.catalog_ready = True

    def on_function_list_details_requested(self, message: FunctionList.DetailsRequested) -> None:
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
