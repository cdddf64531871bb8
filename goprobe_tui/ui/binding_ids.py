"""Every key binding's id, from every screen and widget that has bindings: what a user keymap
file may name. Collected from the classes themselves, so a new binding cannot be missed."""

from __future__ import annotations

from textual.binding import Binding


def every_binding_id() -> set[str]:
    # imported here: each of these modules imports the keymap
    from goprobe_tui.ui.app import GoprobeApp
    from goprobe_tui.ui.flame_view import FlameView
    from goprobe_tui.ui.function_details import FunctionDetails
    from goprobe_tui.ui.function_list import FunctionList
    from goprobe_tui.ui.keymap import COMMANDS
    from goprobe_tui.ui.process_picker import ProcessPicker
    from goprobe_tui.ui.screens import ConfirmScreen, DetailScreen, HelpScreen, PromptScreen
    from goprobe_tui.ui.stats_pane import StatsPane
    from goprobe_tui.ui.trace_pane import TracePane

    ids = {c.id for c in COMMANDS}
    for cls in (
        GoprobeApp,
        FlameView,
        FunctionDetails,
        FunctionList,
        ProcessPicker,
        ConfirmScreen,
        DetailScreen,
        HelpScreen,
        PromptScreen,
        StatsPane,
        TracePane,
    ):
        ids.update(b.id for b in cls.BINDINGS if isinstance(b, Binding) and b.id)
    return ids
