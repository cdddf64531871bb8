"""Every app command once: its id, key, Footer label and help text. Bindings, the help screen
and the command palette are all built from this table, so they cannot disagree.

A user keymap (~/.config/goprobe-tui/keymap.toml) remaps commands by id:

    [keys]
    attach = "space,enter"
    quit = "ctrl+q"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass

from textual.binding import Binding

from goprobe_tui.errors import BadInput
from goprobe_tui.safe_read import read_small


def default_keymap_path() -> str:
    return os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "goprobe-tui", "keymap.toml"
    )


@dataclass(frozen=True)
class Command:
    id: str  # what a user keymap names
    key: str  # Textual key name
    shown: str  # the key as help shows it
    action: str
    label: str  # Footer and palette title
    help: str
    # Handled before the key reaches the focused widget: the keys typed right behind it (a
    # burst) then go to the widget it focuses, not to the old one. Off inside text boxes.
    priority: bool = False


# The footer shows the most used, in this order (help and quit first: a narrow terminal cuts it
# from the right); `?` and the palette (ctrl+p) list every command.
FOOTER = ("help", "quit", "search", "attach", "returns", "view", "filter", "pause", "save")

COMMANDS = [
    Command("help", "question_mark", "?", "help", "Help", "every key"),
    Command("quit", "q", "q", "quit_app", "Quit", "quit (detaches everything first)"),
    Command(
        "search",
        "slash",
        "/",
        "search",
        "Search",
        "search functions (fuzzy); Enter returns to the list",
        priority=True,
    ),
    Command(
        "attach",
        "space",
        "Space",
        "toggle",
        "Attach/detach",
        "attach / detach the highlighted function (and its inlined calls); in the probe "
        "panel: detach the probe under the cursor (a line probe too)",
    ),
    Command(
        "returns",
        "r",
        "r",
        "toggle_returns",
        "Returns",
        "attach with return probes (args, results, latency) / drop them",
    ),
    Command(
        "view",
        "v",
        "v",
        "next_view",
        "View",
        "next view: Events, Stats (per function; o or a click sorts), Calls (one goroutine), Flame, "
        "Goroutines (of the process, read every 2 s)",
    ),
    Command("filter", "f", "f", "filter", "Filter", "filter events by function name or text", priority=True),
    Command("pause", "p", "p", "pause", "Pause", "pause / resume the event view (nothing is lost meanwhile)"),
    Command(
        "save",
        "s",
        "s",
        "save",
        "Save",
        "save the shown events (the path's suffix picks the format; the prompt lists them)",
    ),
    Command(
        "fields",
        "e",
        "e",
        "fields",
        "Fields",
        "fields to read for the highlighted function: Go selectors such as r.URL.Path",
    ),
    Command(
        "where",
        "w",
        "w",
        "condition",
        "Where",
        "record only the highlighted function's calls that match a condition (kernel filter)",
    ),
    Command(
        "attach-all",
        "a",
        "a",
        "attach_all",
        "Attach all",
        "attach all current matches (asks above 50 functions, refuses above 2,000 probes: "
        "entries and inlined calls)",
    ),
    Command(
        "attach-all-anyway",
        "A",
        "A",
        "attach_all_anyway",
        "Attach all!",
        "attach all current matches, even above the 2,000 cap (asks first)",
    ),
    Command("detach-all", "d", "d", "detach_all", "Detach all", "detach all"),
    Command(
        "scope",
        "t",
        "t",
        "toggle_std",
        "Scope",
        "list: own module only → own module and dependencies → everything",
    ),
    Command("zoom", "z", "z", "maximize", "Zoom", "the focused pane alone on the screen / all panes again"),
    Command(
        "stacks",
        "b",
        "b",
        "stacks",
        "Stacks",
        "call stacks on every event from now on / off (Enter on an event shows its stack)",
    ),
    Command(
        "by",
        "K",
        "K",
        "stats_by",
        "By key",
        "statistics by the values of a parameter or field from now on (latency per URL "
        "path); empty: by function",
    ),
    Command(
        "goroutines",
        "n",
        "n",
        "goroutines",
        "Goroutines",
        "record every goroutine created from now on / stop (⇒ events; details and the Calls "
        "view say who created a goroutine)",
    ),
    Command(
        "parent",
        "u",
        "u",
        "parent_calls",
        "Parent",
        "in the Calls view: the calls of the goroutine that created this one",
    ),
    Command("clear", "c", "c", "clear", "Clear", "clear events"),
    Command(
        "run",
        "R",
        "R",
        "run_program",
        "Run",
        "run the program given after -- (goprobe-tui BINARY -- ARG...): the first time, once "
        "the probes are chosen; again, with the same probes, once it has ended",
    ),
    Command("clock", "T", "T", "clock", "Clock", "event times: since the session started / wall clock"),
]

# Keys owned by widgets, listed in help only.
NAVIGATION = [
    ("↑ ↓ PgUp PgDn", "move in the list or the events"),
    (
        "Enter",
        "details: entry, end, offset, file:line, params, RET sites, where it was "
        "inlined, and its lines: Enter on a line probes it (its locals each time)",
    ),
    ("End G", "back to the live tail of the events, from anywhere (▼ N below: events under the view)"),
    (
        "↑ ↓ (events)",
        "move a cursor over events; Enter: the event in full; g: its goroutine's "
        "calls; F: follow its goroutine only (F again: all)",
    ),
    (
        "Enter g (goroutines)",
        "a group's stack, creator and goroutines; g on a goroutine: its calls (a group of one: "
        "at once). The view reads the process every 2 s while shown; ↑: the group only grew",
    ),
    ("Tab", "next pane"),
    ("ctrl+p", "command palette (every command above, by name)"),
]


# How inlined calls and line probes work, said once in the help.
INLINING = [
    "Go inlines most short functions: attaching one attaches every inlined copy too (one probe "
    "where each copy's code is entered once per call), so its calls and hits count them all. "
    "Their events say where: → main.Square(x=3) (inlined in main.Loop at main.go:17). An inlined "
    "call has no latency; its arguments are read where DWARF says where they are, else shown "
    "<unavailable> (stripped: none). Functions that exist only inlined are listed as (inlined "
    "only), found and traced by name.",
    "A line probe (Enter on a function, then Enter on a line; or trace BINARY main.go:41) fires "
    "each time the statement runs, with the locals DWARF places there.",
    "Not seen: calls whose code the compiler removed or merged (f(x)+f(x) computed once), and "
    "inlined copies entered at several places (the attach note counts them).",
]

# What the screen shows, and how to get out of things.
LEGEND = [
    ("●", "entry probe attached (arguments), its inlined calls too"),
    ("◆", "entry and return probes attached (results, latency)"),
    ("✗", "the kernel refused a probe (the notification says why)"),
    ("▼ N below", "events under the view; End or G goes back to the live tail"),
    ("Esc", "closes a dialog or this help; in the search box, back to the list"),
    ("f, then Enter on an empty line", "clears the event filter"),
    ("/, then ctrl+u", "clears the search (the whole list again)"),
    (
        "—",
        "in statistics: not known (no error result, or the results' types are unknown); an "
        "inlined call has no latency",
    ),
    (
        "INL",
        "in the list: how many calls of the function the compiler inlined (each is probed "
        "with it); (inlined only): no body of its own",
    ),
    ("· file:line in F", "a line probe's event: the statement ran, with its locals"),
]


def bindings() -> list[Binding]:
    return [
        Binding(c.key, c.action, c.label, show=c.id in FOOTER, priority=c.priority, id=c.id) for c in COMMANDS
    ]


# The app's bindings beside the commands, and the process picker's: here, so that the ids a
# keymap file may name are known without importing the screens that use them.
APP_BINDINGS = [
    Binding("escape", "back", "Back", show=False, id="app.back"),
    Binding("G", "tail", "Tail", show=False, id="app.tail"),
    Binding("enter", "submit_input", "Apply", show=False, priority=True, id="app.apply"),
    # the main screen's own Tab: from pane to pane, never into the search box
    Binding("tab", "focus_next", "Next pane", show=False, id="app.next_pane"),
    Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="app.previous_pane"),
]
PICKER_BINDINGS = [
    Binding("enter", "choose", "Trace it", id="picker.choose", priority=True),
    Binding("slash", "filter", "Filter", id="picker.filter"),
    Binding("r", "refresh", "Refresh", id="picker.refresh"),
    Binding("escape", "back", "Back", id="picker.back", show=False),
    Binding("q", "quit_picker", "Quit", id="picker.quit"),
]


KEYMAP_LIMIT = 64 << 10  # bytes; a keymap is a few lines


class KeymapError(BadInput):
    """The user keymap cannot be used; the message names the file and what is wrong."""


def load_user_keymap(path: str | None, known: set[str]) -> dict[str, str]:
    """{binding id: keys} from the user's keymap file ({} if there is none). KeymapError if
    it cannot be used: then none of it applies, and the defaults stay. known: the ids a file
    may name (binding_ids.every_binding_id: every screen's, the process picker's too)."""
    path = path or default_keymap_path()
    if not os.path.lexists(path):
        return {}  # no keymap: the defaults
    try:  # a regular file of a few KB: a FIFO or a symlink at its place is refused, not followed
        data = tomllib.loads(read_small(path, KEYMAP_LIMIT).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"{path}: {exc}") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise KeymapError(f'{path}: [keys] must be a table of command = "key"')
    for cid, value in keys.items():
        if cid not in known:
            raise KeymapError(f"{path}: no command {cid!r} (known: {', '.join(sorted(known))})")
        if not isinstance(value, str) or not value.strip():
            raise KeymapError(f'{path}: {cid} must be a key name such as "ctrl+q"')
    return {cid: value.strip() for cid, value in keys.items()}


PRIORITY_ACTIONS = frozenset(c.action for c in COMMANDS if c.priority)


def help_rows(keymap: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Every key with what it does, as remapped by the user's keymap."""
    keymap = keymap or {}
    return [(keymap.get(c.id, c.shown), c.help) for c in COMMANDS] + NAVIGATION
