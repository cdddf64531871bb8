"""Attach Go functions: pick probe sites, plan fetch args, batch them into kernel events.

Functions attached together share events: every probe whose fetch args are identical goes
into one multi-probe event (all RET sites of a function always do). Disabling an event costs
one kernel wait however many probes it has, so a 1,000-probe teardown takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from goprobe_tui.engine.inline_sites import InlineSites, pack
from goprobe_tui.engine.line_sites import LineSites
from goprobe_tui.engine.patterns import condition_for, parse_where
from goprobe_tui.engine.signatures import signatures_of, with_dictionary
from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.event_kinds import ENTRY, RETURN, EventKind
from goprobe_tui.gobinary import BinaryError, Function, GoBinary
from goprobe_tui.gobinary.abi import G_REG, INT_REGS, assign_function
from goprobe_tui.gobinary.goroutine import VERIFIED_SPAWN_LAYOUTS, goid_offset, spawn_layout
from goprobe_tui.gobinary.lines import LineError
from goprobe_tui.gobinary.retsweep import ProbeSites, probe_sites
from goprobe_tui.gobinary.textbase import moduledata_types
from goprobe_tui.gobinary.type_shapes import POINTER_DEPTH
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.session import EventRequest, ProbeEvent, ProbeSession, Site
from goprobe_tui.values.conditions import FIELD_NAME, Condition, compile_condition
from goprobe_tui.values.fetch_args import caller_fetch, depth_fetch, goroutine_fetch, stack_walk_fetch
from goprobe_tui.values.kinds import FetchPlan, build_plan

SPAWN_FUNCTION = "runtime.newproc1"  # returns every new goroutine's g, on the creator's thread
NO_RET_NOTE = "no RET instruction (ends in a tail call or never returns): entry probe only"
# Above this many functions attached at once, values are read from registers and stack slots
# only: reads behind pointers differ per function, and each distinct set of fetch args is a
# kernel event that costs one ~70 ms wait at detach (1,040 functions: 317 events, 21 s;
# shallow: about 30 events, 2 s).
MASS_ATTACH = 200
SHALLOW_NOTE = (
    f"more than {MASS_ATTACH} functions at once: values are read from registers and "
    "the stack only (no string bytes or fields behind pointers), so detaching stays fast"
)


@dataclass
class AttachedFunction:
    function: Function
    returns: bool  # return probes were asked for
    events: list[ProbeEvent] = field(default_factory=list)  # every event holding its sites
    note: str = ""  # what the user should know (e.g. entry probe only)
    inlined_calls: int = 0  # inlined calls probed (a probe can stand for several)
    inlined_missed: int = 0  # inlined calls left unprobed (the note says why)

    @property
    def probes(self) -> int:
        name = self.function.key
        return sum(1 for ev in self.events for s in ev.sites if s.function == name)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class _Plan:
    fn: Function
    sites: list[tuple[Site, tuple[str, ...], str]]  # (site, fetch args, kernel filter)
    note: str = ""
    inlined_calls: int = 0
    inlined_missed: int = 0


class Attacher:
    def __init__(
        self,
        binary: GoBinary,
        session: ProbeSession | None,  # None: plans only (nothing attached)
        path: str | None = None,
        overrides: dict[str, FetchPlan] | None = None,
        fields: tuple[str, ...] = (),
        where: tuple[str, ...] = (),
        pointer_depth: int = POINTER_DEPTH,
    ) -> None:
        self.binary = binary
        self.session = session
        self.path = path or binary.path
        self.overrides = overrides or {}
        self.fields = fields  # --field selectors, e.g. "r.URL.Path"
        self.function_fields: dict[str, tuple[str, ...]] = {}  # per function, set in the TUI
        self.where = parse_where(where)  # --where: for every function, or those a pattern names
        self.pointer_depth = pointer_depth  # --depth: levels of pointers to structs followed
        self.shallow_from: int | None = MASS_ATTACH  # None: always read behind pointers
        self.last_shallow = False  # the last attach_many read registers only
        self.function_where: dict[str, str] = {}  # per function, set in the TUI ("": none)
        self._goversion = binary.buildinfo.version_tuple()
        self._pie = binary.elf.pie
        self.signatures = signatures_of(binary)
        self.stack_walk = 0  # --stack-depth: frames above the direct caller read by the probe

    def _live(self) -> ProbeSession:
        if self.session is None:
            raise ProbeError("an attacher for planning only attaches nothing")
        return self.session

    # At the first attach, not at start-up: the DWARF index and the moduledata scan cost time
    # on a large binary, and a browse-only session needs neither.
    @cached_property
    def _goid_offset(self) -> int | None:
        return goid_offset(self.binary)

    @cached_property
    def _types_base(self) -> int | None:
        return moduledata_types(self.binary.elf, self.binary.pclntab, self._goversion)

    def register_abi(self, fn: Function) -> bool:
        return self.signatures.register_abi(fn)

    def plans(self, fn: Function, deep: bool = True) -> tuple[FetchPlan, FetchPlan]:
        if fn.name in self.overrides:
            return self.overrides[fn.name], FetchPlan((), ())
        sig = self.signatures.of(fn, self.pointer_depth)
        params, arginfo = sig.params, sig.arginfo
        args_size = self.binary.args_size(fn)
        ptrsize = self.binary.elf.ptrsize
        try:
            paths = self.field_paths(fn)
            entry, ret = assign_function(
                self.binary.arch, ptrsize, self.register_abi(fn), params, args_size, arginfo
            )
            entry = with_dictionary(
                entry, fn.name, self.register_abi(fn), self.binary.dwarf.dictionary_slots(fn.name)
            )
            return build_plan(entry, ptrsize, paths, deep), build_plan(ret, ptrsize, deep=deep)
        except GoprobeError as exc:
            raise ProbeError(str(exc)) from None

    def field_paths(self, fn: Function) -> tuple:
        """The --field selectors that apply to this function (it has their root parameter),
        its own if it has some. ValueError names a field that does not exist."""
        own = self.function_fields.get(fn.key)
        if own is not None:
            paths = list(self.own_field_paths(fn, own))
        else:
            found = (self.signatures.field_path(fn, expr) for expr in self.fields)
            paths = [p for p in found if p is not None]
        # fields a condition compares are read too (`--where 'r.Method == "GET"'`)
        for expr in dict.fromkeys(m for m in FIELD_NAME.findall(self.condition_text(fn)) if m):
            if all(p.expr != expr for p in paths):
                try:
                    path = self.signatures.field_path(fn, expr)
                except GoprobeError:
                    path = None  # the condition then says which field is missing
                if path is not None:
                    paths.append(path)
        return tuple(paths)

    def own_field_paths(self, fn: Function, exprs: tuple[str, ...]) -> tuple:
        """Selectors given for this one function: each must name one of its parameters."""
        out = []
        for expr in exprs:
            path = self.signatures.field_path(fn, expr)
            if path is None:
                raise BadInput(f"--field {expr}: {fn.key} has no parameter {expr.split('.')[0]}")
            out.append(path)
        return tuple(out)

    def sites(self, fn: Function) -> ProbeSites:
        if self.binary.arch in ("amd64", "arm64"):
            return probe_sites(self.binary, fn)
        return ProbeSites(fn.entry, (), False)

    def _plan(self, fn: Function, returns: bool, deep: bool = True) -> _Plan:
        if fn.source_line:
            return self._line_plan(fn, deep)
        if fn.inlined_only:
            return self._inlined_plan(_Plan(fn, []), fn, deep)
        if fn.offset < 0:
            raise ProbeError(f"{fn.key} is not in the file")
        sites = self.sites(fn)
        note = NO_RET_NOTE if returns and not sites.returns else ""
        entry_plan, ret_plan = self.plans(fn, deep)
        extra = (
            *goroutine_fetch(self.binary.arch, self.register_abi(fn), self._goid_offset),
            *caller_fetch(self.binary.arch),
            *stack_walk_fetch(self.binary.arch, self.stack_walk),
        )
        ret_vaddrs = sites.returns if returns else ()
        cond = self.condition(fn, entry_plan, ret_plan)
        if cond is not None and cond.on_return and not ret_vaddrs:
            raise ProbeError(
                f"--where {cond.text!r} on {fn.key}: it reads results, which needs "
                "return probes" + (" (--ret)" if not returns else "")
            )
        filters = {"entry": "", "return": ""}
        more: dict[str, tuple[str, ...]] = {"entry": (), "return": ()}
        side = None if cond is None else "return" if cond.on_return else "entry"
        if cond is not None and side is not None:
            filters[side], more[side] = cond.filter, cond.fetch
            if side == "entry" and ret_vaddrs and extra:
                # returns pair with their entry by the call's depth in its goroutine's stack:
                # a return whose entry was filtered out then finds nothing, even in recursion
                depth = depth_fetch(self.binary.arch)
                more = {"entry": (*more["entry"], *depth), "return": depth}
        out = _Plan(fn, [], note)
        places: list[tuple[EventKind, int, FetchPlan]] = [
            (ENTRY, sites.entry, entry_plan),
            *[(RETURN, r, ret_plan) for r in ret_vaddrs],
        ]
        for kind, vaddr, plan in places:
            off = self.binary.elf.file_offset(vaddr, executable=True)
            if off is None:
                raise ProbeError(f"{fn.key}: {vaddr:#x} is not in an executable segment")
            site = Site(
                fn.key,
                kind,
                vaddr,
                off,
                plan.values,
                has_return=kind == "entry" and bool(ret_vaddrs),
                at_entry=kind == "return" and vaddr == sites.entry,
                types_base=self._types_base,
                # the decoder drops what the kernel let through that does not match
                entry_filtered=kind == "return" and side == "entry",
                condition=cond.tree if cond is not None and side == kind else None,
            )
            out.sites.append((site, (*plan.args, *extra, *more[kind]), filters[kind]))
        return self._inlined_plan(out, fn, deep)

    # -- inlined copies ---------------------------------------------------------------
    @cached_property
    def inline(self) -> InlineSites:
        return InlineSites(self.binary, self._goroutine_of, lambda: self._types_base, self.pointer_depth)

    def _goroutine_of(self, holder: Function) -> tuple[str, ...]:
        return goroutine_fetch(self.binary.arch, self.register_abi(holder), self._goid_offset)

    def inlined_calls(self, fn: Function) -> int:
        """How many inlined calls of this function there are (each is one probe, at most)."""
        return self.inline.count(fn)

    def _inlined_plan(self, out: _Plan, fn: Function, deep: bool = True) -> _Plan:
        """Add the probes of its inlined calls (inline_sites.py)."""
        if not self.inline.count(fn):
            if fn.inlined_only:
                raise ProbeError(f"{fn.key}: no inlined call of it is left in the binary")
            return out
        plan = self.inline.plan(fn, self.condition_text(fn), deep)
        out.sites.extend((site, fetch, "") for site, fetch in plan.sites)
        out.inlined_calls += plan.calls
        out.inlined_missed += sum(plan.missed.values())
        out.note = "; ".join(filter(None, (out.note, plan.note(fn))))
        if fn.inlined_only and not plan.sites:
            raise ProbeError(f"{fn.key}: {plan.note(fn) or 'no inlined call could be probed'}")
        return out

    # -- source lines ---------------------------------------------------------------
    @cached_property
    def lines(self) -> LineSites:
        return LineSites(self.binary, self._goroutine_of, lambda: self._types_base, self.pointer_depth)

    def _line_plan(self, fn: Function, deep: bool) -> _Plan:
        try:
            plan = self.lines.plan(fn, self.condition_text(fn), deep)
        except LineError as exc:
            raise ProbeError(str(exc)) from None
        out = _Plan(fn, [(site, fetch, "") for site, fetch in plan.sites], plan.note(fn))
        if not plan.sites:
            raise ProbeError(f"{fn.key}: {plan.note(fn) or 'no place to probe'}")
        return out

    def condition_text(self, fn: Function) -> str:
        """The condition in force for a function: its own (the TUI's `w`), else every --where
        that applies to it."""
        own = self.function_where.get(fn.key)
        return own if own is not None else condition_for(fn.name, self.where)

    def condition(self, fn: Function, entry: FetchPlan, ret: FetchPlan) -> Condition | None:
        """The function's --where, compiled against its values. ProbeError if it cannot be."""
        text = self.condition_text(fn)
        if not text:
            return None
        try:
            return compile_condition(text, entry.values, ret.values, fn.key)
        except GoprobeError as exc:
            raise ProbeError(str(exc)) from None

    # -- goroutine lineage ---------------------------------------------------------------
    def spawn_plan(self) -> tuple[Function, list[Site], tuple[str, ...]]:
        """Probes at the returns of runtime.newproc1: each new goroutine's id, its parent's,
        the `go` statement and the function started. ProbeError says why not."""
        version = self.binary.buildinfo.goversion or "an unknown Go version"
        arch = self.binary.arch
        if arch not in G_REG:
            raise ProbeError(f"goroutine lineage is read on amd64 and arm64 only (this binary: {arch})")
        # newproc1 must return its g in a register: the register ABI (arm64 got it in 1.18)
        oldest = (1, 18) if arch == "arm64" else (1, 17)
        if self._goversion < oldest:
            raise ProbeError(
                f"goroutine lineage needs Go 1.{oldest[1]} or newer on {arch} (this binary: {version})"
            )
        layout = spawn_layout(self.binary)
        if layout is None:
            known = ", ".join(f"1.{minor}" for _major, minor in sorted(VERIFIED_SPAWN_LAYOUTS))
            raise ProbeError(
                f"goroutine lineage: the runtime's layout of {version} is unknown "
                f"without DWARF (known: {known})"
            )
        fn = self.binary.find(SPAWN_FUNCTION)
        if fn is None:
            raise ProbeError(f"goroutine lineage: no {SPAWN_FUNCTION} in this binary")
        returns = self.sites(fn).returns
        if not returns:
            raise ProbeError(f"goroutine lineage: {SPAWN_FUNCTION} has no RET to probe")
        new = f"%{INT_REGS[arch][0]}"  # the result: the new g
        parent = (
            f"+{layout.parent_goid}({new})"
            if layout.parent_goid is not None
            else f"+{layout.goid}(+{layout.curg}(+{layout.m}(%{G_REG[arch]})))"
        )
        fetch = (
            f"goid={parent}:s64",
            f"cgoid=+{layout.goid}({new}):s64",
            f"gopc=+{layout.gopc}({new}):u64",
            f"spc=+{layout.startpc}({new}):u64",
        )
        sites = []
        for vaddr in returns:
            off = self.binary.elf.file_offset(vaddr, executable=True)
            if off is None:
                raise ProbeError(f"{SPAWN_FUNCTION}: {vaddr:#x} is not in an executable segment")
            sites.append(Site(fn.key, "spawn", vaddr, off, ()))
        return fn, sites, fetch

    def attach_spawns(self) -> ProbeEvent:
        fn, sites, fetch = self.spawn_plan()
        ev, refused = self._live().define(
            "spawn",
            self.path,
            fetch,
            sites,
            pair_by_g=False,
            pie=self._pie,
            identity=self.binary.elf.identity[:2],
        )
        if ev is None or refused:
            why = "; ".join(sorted(set(refused.values()))) or "refused"
            if ev is not None:
                self._live().set_muted(ev, fn.key, True, since=0)
            raise ProbeError(f"goroutine lineage: {SPAWN_FUNCTION}: {why}")
        return ev

    def attach_many(
        self,
        fns: list[Function],
        returns: bool,
        stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
    ) -> tuple[list[AttachedFunction], dict[str, str]]:
        """Attach together. Returns (attached, {function: why not}). stop() is polled between
        kernel writes, so a signal ends a long attach early (what was written is recorded).
        progress(stage, done, total): "planning" per function, then "attaching" per probe."""
        errors: dict[str, str] = {}
        plans: list[_Plan] = []
        deep = self.shallow_from is None or len(fns) <= self.shallow_from
        self.last_shallow = not deep
        for i, fn in enumerate(fns):
            if stop():
                break
            try:
                plans.append(self._plan(fn, returns, deep))
            except (ProbeError, BinaryError) as exc:
                errors[fn.key] = str(exc)
            if progress is not None:
                progress("planning", i + 1, len(fns))
        if "inline" in self.__dict__:
            self.inline.save()  # the next attach of these functions plans from disk
        # One event per kind of probe and fetch args. Inlined copies get events of their own,
        # and an event never holds one offset twice (the kernel refuses the second): two
        # functions inlined at one place go to two events.
        groups: dict[tuple, list[Site]] = {}
        taken: dict[tuple, int] = {}
        packed: dict[str, list[tuple[Site, tuple[str, ...]]]] = {"entry": [], "line": []}
        for plan in plans:
            for site, fetch, kfilter in plan.sites:
                if site.inlined:  # inlined copies and lines: packed into few events
                    packed[site.kind].append((site, fetch))
                    continue
                pair_by_g = any(a.startswith("g=") for a in fetch)
                key = (site.kind, fetch, pair_by_g, kfilter, bool(site.inlined))
                slot = taken.get((key, site.offset), 0)
                taken[(key, site.offset)] = slot + 1
                groups.setdefault((*key, slot), []).append(site)
        for kind, these in packed.items():
            for i, (fetch, sites) in enumerate(pack(these)):
                groups[(kind, fetch, any(a.startswith("g=") for a in fetch), "", True, i)] = sites
        attached = {
            p.fn.key: AttachedFunction(
                p.fn, returns, note=p.note, inlined_calls=p.inlined_calls, inlined_missed=p.inlined_missed
            )
            for p in plans
        }
        for p in plans:  # every site knows: the decoder's statistics mark the count partial
            for site, *_rest in p.sites:
                site.untraced = p.inlined_missed
        refused_entry: set[str] = set()
        total = sum(len(sites) for sites in groups.values())
        # entries first: a return probe enabled before its entry could only be unpaired
        ordered = sorted(groups.items(), key=lambda kv: kv[0][0] != "entry")
        requests = [
            EventRequest(kind, fetch, sites, pair_by_g, kfilter)
            for (kind, fetch, pair_by_g, kfilter, *_rest), sites in ordered
        ]
        placed = [0]

        def finished(i: int) -> None:
            placed[0] += len(requests[i].sites)
            if progress is not None:
                progress("attaching", placed[0], total)

        if progress is not None:
            progress("attaching", 0, total)
        try:
            results = self._live().define_many(
                self.path,
                requests,
                pie=self._pie,
                identity=self.binary.elf.identity[:2],
                stop=stop,
                done=finished,
            )
        except ProbeError as exc:
            results = [(None, {i: str(exc) for i in range(len(r.sites))}) for r in requests]
        stopped = placed[0] < total and stop()
        for request, (ev, refused) in zip(requests, results, strict=True):
            sites = request.sites
            for i, why in refused.items():
                name = sites[i].function
                if sites[i].inlined:  # one inlined copy less: the rest still count
                    attached[name].inlined_calls -= len(sites[i].inlined)
                    attached[name].inlined_missed += len(sites[i].inlined)
                    attached[name].note = "; ".join(
                        filter(None, (attached[name].note, f"inlined copy at {sites[i].vaddr:#x}: {why}"))
                    )
                elif sites[i].kind == "entry":
                    refused_entry.add(name)
                    errors[name] = why
                elif name not in errors:
                    errors[name] = f"return probe at {sites[i].vaddr:#x}: {why}"
            if ev is not None:
                for name in ev.functions():
                    attached[name].events.append(ev)
        if progress is not None and not stopped:
            progress("attaching", total, total)
        ok = []
        for name, att in attached.items():
            # Entry groups are defined first, so a function without events never got as far
            # as its entry (stop() or the kernel refused it).
            if stopped and not att.events:
                continue  # interrupted before its turn: not an error
            if name in refused_entry or not att.events:
                for ev in att.events:  # its return probes alone would only be unpaired
                    self._live().set_muted(ev, name, True, since=0)
                errors.setdefault(name, "not attached")
                continue
            ok.append(att)
        return ok, errors

    def attach(self, fn: Function, returns: bool = False) -> AttachedFunction:
        return only_one(fn, *self.attach_many([fn], returns))


def only_one(fn: Function, attached: list[AttachedFunction], errors: dict[str, str]) -> AttachedFunction:
    """The result of attaching one function, or ProbeError saying why it was not."""
    if not attached:
        raise ProbeError(f"{fn.key}: {errors.get(fn.key, 'not attached')}")
    return attached[0]
