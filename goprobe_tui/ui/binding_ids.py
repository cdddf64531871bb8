"""Every key binding's id, from every screen and widget that has bindings: what a user keymap
file may name. Collected from the classes themselves, so a new binding cannot be missed (the
app's and the process picker's own live in keymap.py, beside the commands)."""

from __future__ import annotations

from textual.binding import Binding

from goprobe_tui.ui.browser.function_details import FunctionDetails
from goprobe_tui.ui.browser.function_list import FunctionList
from goprobe_tui.ui.dialogs.screens import ConfirmScreen, DetailScreen, HelpScreen, PromptScreen
from goprobe_tui.ui.events.trace_pane import TracePane
from goprobe_tui.ui.flame.flame_view import FlameView
from goprobe_tui.ui.goroutines.goroutines_view import GoroutinesView
from goprobe_tui.ui.goroutines.group_screen import GroupScreen
from goprobe_tui.ui.keymap import APP_BINDINGS, COMMANDS, PICKER_BINDINGS
from goprobe_tui.ui.stats.stats_pane import StatsPane

_WIDGETS = (
    FlameView,
    FunctionDetails,
    FunctionList,
    GoroutinesView,
    GroupScreen,
    ConfirmScreen,
    DetailScreen,
    HelpScreen,
    PromptScreen,
    StatsPane,
    TracePane,
)


def every_binding_id() -> set[str]:
    ids = {c.id for c in COMMANDS}
    for b in [*APP_BINDINGS, *PICKER_BINDINGS, *(b for cls in _WIDGETS for b in cls.BINDINGS)]:
        if isinstance(b, Binding) and b.id:
            ids.add(b.id)
    return ids
