"""The probes for a function's inlined calls: one per place that runs once per call
(gobinary/inline_probes.py), each standing for the calls there (`f(x) + f(y)` share one).

An inlined call has no return to probe and no frame of its own. Its arguments are read where
DWARF says they are at the probe (the inlined call's formal parameters and their location
lists); a parameter with no location there is shown as unavailable, never guessed. Without
DWARF no argument is read, and the event says so. A condition is checked per call where its
names can be read; calls where they cannot are left out, and the note says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from goprobe_tui.engine.site_planner import UNREADABLE, SitePlanner
from goprobe_tui.errors import GoprobeError
from goprobe_tui.gobinary import Function
from goprobe_tui.gobinary.abi import Assignment, Placement
from goprobe_tui.gobinary.frame_pointer import return_address_fetch
from goprobe_tui.gobinary.inline import InlinedCall, inline_index
from goprobe_tui.gobinary.inline_probes import InlineProbes
from goprobe_tui.tracefs.session import Site
from goprobe_tui.values.kinds import FetchPlan, ValueSpec, build_plan

# Above this many inlined calls, a function's arguments are not read at them: each call's
# DWARF is looked up on its own (about a millisecond each) and reads differ per place.
ARGS_UP_TO = 256
NO_DWARF = "arguments unknown: an inlined call without DWARF"
NOT_FOUND = "arguments unknown: this inlined call is not in DWARF"
TOO_MANY = f"arguments not read: inlined in more than {ARGS_UP_TO} places"
SHALLOW = "arguments not read: more than 200 functions attached at once"


@dataclass
class InlinedPlan:
    sites: list[tuple[Site, tuple[str, ...]]] = field(default_factory=list)  # (site, fetch)
    calls: int = 0  # inlined calls probed
    missed: Counter[str] = field(default_factory=Counter)  # why not -> how many calls
    total: int = 0  # inlined calls there are
    what: str = "inlined calls"

    def note(self, fn: Function) -> str:
        if not self.missed:
            return ""
        why = "; ".join(f"{n:,} {reason}" for reason, n in sorted(self.missed.items(), key=lambda kv: -kv[1]))
        return f"{sum(self.missed.values()):,} of its {self.total:,} {self.what} not traced ({why})"


class InlineSites(SitePlanner):
    @cached_property
    def _probes(self) -> InlineProbes:
        return InlineProbes(self.binary)

    def save(self) -> None:
        """Keep the probe places worked out so far on disk (inline_probes.InlineProbes)."""
        if "_probes" in self.__dict__:
            self._probes.save()

    def count(self, fn: Function) -> int:
        return inline_index(self.binary).counts().get(fn.name, 0)

    def plan(self, fn: Function, condition: str, deep: bool) -> InlinedPlan:
        index = inline_index(self.binary)
        calls = index.calls_of(fn.name)
        out = InlinedPlan(total=len(calls))
        places: dict[int, list[InlinedCall]] = {}
        for call in calls:
            address, why = self._probes.address(call.row)
            if address is None:
                out.missed[why] += 1
            else:
                places.setdefault(address, []).append(call)
        note = (
            NO_DWARF
            if not self.binary.dwarf.available
            else TOO_MANY
            if len(calls) > ARGS_UP_TO
            else SHALLOW
            if not deep
            else ""
        )
        ordered = sorted(places.items())
        holders = list(dict.fromkeys(here[0].function for _a, here in ordered))
        fns = self.binary.functions
        chunk_of = {h: i // PRELOAD for i, h in enumerate(holders)}
        loaded = [-1]
        for address, here in ordered:
            off = self.binary.elf.file_offset(address, executable=True)
            if off is None:
                out.missed["not in an executable segment"] += len(here)
                continue
            holder = self.binary.functions[here[0].function]

            def load(holder: Function = holder, address: int = address) -> int | None:
                chunk = chunk_of[holder.index]
                if chunk != loaded[0]:  # the next functions' pc tables, side by side
                    loaded[0] = chunk
                    self.binary.pclntab.preload(
                        [
                            (int(fns.func_off[h]), int(fns.entry[h]))
                            for h in holders[chunk * PRELOAD : (chunk + 1) * PRELOAD]
                        ]
                    )
                return self.binary.pushed_at(holder, address)

            sp = self._probes.pushed(here[0].row, load)  # kept on disk: a second attach decodes nothing
            ra = return_address_fetch(self.binary, holder, address, sp, self._probes.frame_ready)
            fetch: dict[str, str] = {}
            kept: list[tuple[InlinedCall, tuple[ValueSpec, ...], str, tuple | None]] = []
            for call in here:
                plan, why = (None, note) if note else self._arguments(fn, call, holder, address, sp, deep)
                if plan is not None and any(fetch.get(a.split("=", 1)[0], a) != a for a in plan.args):
                    plan, why = None, "arguments unknown: their reads clash with another call's"
                values = plan.values if plan is not None else ()
                tree = self.condition_tree(condition, values, fn.key)
                if tree is UNREADABLE:
                    out.missed[f"where --where {condition!r} cannot be read"] += 1
                    continue
                if plan is not None:
                    fetch.update((a.split("=", 1)[0], a) for a in plan.args)
                kept.append((call, values, why, tree))
            if not kept:
                continue
            site = Site(
                fn.key,
                "entry",
                address,
                off,
                (),
                types_base=self._types_base(),
                inlined=tuple(index.frames(c.row, self._probes.call_site) for c, *_ in kept),
                call_values=tuple(v for _c, v, _w, _t in kept),
                call_notes=tuple(w for _c, _v, w, _t in kept),
                call_conditions=tuple(t for *_x, t in kept) if condition else (),
                ra_key=ra[0].split("=", 1)[0] if ra else "ra",
            )
            out.sites.append((site, (*self._goroutine(holder), *ra, *fetch.values())))
            out.calls += len(kept)
        return out

    def _arguments(
        self, fn: Function, call: InlinedCall, holder: Function, address: int, sp: int | None, deep: bool
    ) -> tuple[FetchPlan | None, str]:
        """What to read for one inlined call's parameters at its probe, or (None, why not)."""
        if sp is None:
            return None, NOT_FOUND
        index = inline_index(self.binary)
        try:
            found = self._scopes.inlined_args(holder.name, fn.name, index.code_ranges(call.row), address, sp)
        except (GoprobeError, ValueError, IndexError):
            found = None
        if found is None:
            return None, NOT_FOUND
        placements = tuple(Placement(v.param, v.locs) for v in found)
        try:
            return build_plan(Assignment(placements), self.binary.elf.ptrsize, (), deep), ""
        except GoprobeError:
            return None, NOT_FOUND


PRELOAD = 1024  # functions whose pc tables are decoded together (3 tables each)
PACK_ARGS = 32  # fetch args of one event of inlined copies: each record carries them all
# probes of one event: the kernel compares each new probe with every one of its event
# (20,000 probes: 20 s in one event, 7.6 s in events of 5,000, 8.9 s of 2,500), and each
# event costs one wait of ~45 ms when it is disabled
PACK_PROBES = 4096


def pack(sites: list[tuple[Site, tuple[str, ...]]]) -> list[tuple[tuple[str, ...], list[Site]]]:
    """Inlined copies into few events: sites whose fetch args do not contradict each other
    (each reads its own fields, named by where they are) share one, with the union of their
    args, never one offset twice. Sites that read the goroutine differently never share: a
    register read as g where it is not g would give a wrong goroutine."""
    packs: list[tuple[dict[str, str], set[int], list[Site], tuple[str, ...]]] = []
    for site, fetch in sites:
        base = tuple(a for a in fetch if a.startswith(("g=", "goid=")))
        own = {a.split("=", 1)[0]: a for a in fetch}
        for defs, offsets, members, pack_base in packs:
            if pack_base != base or site.offset in offsets or len(members) >= PACK_PROBES:
                continue
            if any(defs.get(k, a) != a for k, a in own.items()):
                continue
            if len(defs.keys() | own.keys()) > PACK_ARGS:
                continue
            defs.update(own)
            offsets.add(site.offset)
            members.append(site)
            break
        else:
            packs.append((dict(own), {site.offset}, [site], base))
    return [(tuple(defs[k] for k in sorted(defs)), members) for defs, _o, members, _b in packs]
