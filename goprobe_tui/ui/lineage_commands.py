"""Goroutine lineage in the TUI: `n` records every goroutine created from now on (or stops);
what comes back (spawn events) tells who created each goroutine, shown in an event's details
and the Calls view, where `u` goes to the parent goroutine's calls. Mixed into the main screen."""

from __future__ import annotations

from collections import OrderedDict

from textual import work

from goprobe_tui.errors import GoprobeError
from goprobe_tui.events.model import ROW_KIND, EventRow, TraceEvent
from goprobe_tui.ui.messages import Notice

MAX_LINEAGE = 200_000  # goroutines remembered (the oldest are forgotten first)
MAX_FAMILY = 63  # descendants followed with a goroutine (the engine's filter holds 64 goids)


class LineageCommands:
    def _init_lineage(self) -> None:
        # (pid, goid) -> the spawn event that created it
        self.lineage: OrderedDict[tuple[int, int], TraceEvent] = OrderedDict()
        self.calls_of: tuple[int, int] | None = None  # the goroutine the Calls view shows
        # F with creations recorded: (goid followed, its descendants so far) or None
        self.followed: tuple[int, list[int] | None] | None = None

    def _note_spawns(self, rows: list[EventRow]) -> None:
        for row in rows:
            if row[ROW_KIND] == "spawn":
                ev = TraceEvent.from_row(row)
                child = ev.args.get("child_goid")
                if isinstance(child, int):
                    self.lineage[(ev.pid, child)] = ev
                    if len(self.lineage) > MAX_LINEAGE:
                        self.lineage.popitem(last=False)
                    self._family_grows(ev.goid, child)

    def _family_grows(self, parent: int | None, child: int) -> None:
        """A goroutine created by one followed: followed too (up to the filter's bound)."""
        if self.followed is None or self.followed[1] is None:
            return
        root, family = self.followed
        if (parent == root or parent in family) and child not in family and len(family) < MAX_FAMILY:
            family.append(child)
            self._apply_following(root, tuple(family), announce=False)

    def descendants_of(self, pid: int | None, goid: int) -> list[int]:
        """Known descendants of a goroutine, nearest first (from the creations recorded)."""
        children: dict[int, list[int]] = {}
        for (p, child), spawn in self.lineage.items():
            if (pid is None or p == pid) and spawn.goid is not None:
                children.setdefault(spawn.goid, []).append(child)
        out, todo = [], [goid]
        while todo and len(out) < MAX_FAMILY:
            for child in children.get(todo.pop(0), ()):
                if child not in out and child != goid:
                    out.append(child)
                    todo.append(child)
        return out[:MAX_FAMILY]

    def _set_following(self, goid: int | None, pid: int | None = None) -> None:
        """F: one goroutine's events only (None: all); with creations recorded (n), its
        descendants too, those created later included."""
        family = self.descendants_of(pid, goid) if goid is not None and self.controller.goroutines else None
        self.followed = None if goid is None else (goid, family)
        self._apply_following(goid, tuple(family or ()), announce=True)

    @work(thread=True, group="probes", exit_on_error=False)
    def _apply_following(self, goid: int | None, descendants: tuple[int, ...], announce: bool) -> None:
        try:
            self.controller.follow_goroutine(goid, descendants)
        except GoprobeError as exc:  # the filters in force stay
            self.post_message(Notice(str(exc), "error"))
            return
        if announce:
            family = (
                ""
                if not self.controller.goroutines
                else (f" and its {len(descendants)} descendants (new ones join as they are created)")
            )
            self.post_message(
                Notice(
                    "following all goroutines again"
                    if goid is None
                    else f"following goroutine {goid}{family} (a kernel filter on goid; F again stops)",
                    "information",
                )
            )

    def created_by(self, pid: int, goid: int | None) -> str:
        """`goroutine 12, created by main.serve at server.go:88 in goroutine 1`, or ''."""
        spawn = self.lineage.get((pid, goid)) if goid is not None else None
        return f"goroutine {goid}, {spawn.spawn_text()}" if spawn is not None else ""

    def action_goroutines(self) -> None:
        if not self._require_tracing():
            return
        self._toggle_goroutines(not self.controller.goroutines)

    @work(thread=True, group="probes", exit_on_error=False)
    def _toggle_goroutines(self, on: bool) -> None:
        try:
            self.controller.trace_goroutines(on)
        except GoprobeError as exc:
            self.post_message(Notice(str(exc), "error", 10))
            return
        self.post_message(
            Notice(
                "recording every goroutine created: an event's details and the Calls view say who "
                "created its goroutine (u: the parent's calls)"
                if on
                else "goroutine creations no longer recorded",
                "information",
            )
        )

    def action_parent_calls(self) -> None:
        """In the Calls view: the calls of the goroutine that created this one."""
        if self.calls_of is None:
            self.notify("open a goroutine's calls first (g on an event)", severity="warning")
            return
        spawn = self.lineage.get(self.calls_of)
        if spawn is None:
            self.notify(
                f"who created goroutine {self.calls_of[1]} is not known (n records creations from now on)",
                severity="warning",
            )
            return
        self._show_calls(spawn)  # the spawn event runs on the parent goroutine
