"""Attach Go functions: pick probe sites, plan fetch args, batch them into kernel events.

Functions attached together share events: every probe whose fetch args are identical goes
into one multi-probe event (all RET sites of a function always do). Disabling an event costs
one kernel wait however many probes it has, so a 1,000-probe teardown takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from goprobe_tui.gobinary import BinaryError, Function, GoBinary
from goprobe_tui.gobinary.abi import assign_function, uses_register_abi
from goprobe_tui.gobinary.funcdata import FuncData
from goprobe_tui.gobinary.goroutine import goid_offset
from goprobe_tui.gobinary.method_sigs import MethodSignatures
from goprobe_tui.gobinary.retsweep import ProbeSites, probe_sites
from goprobe_tui.gobinary.textbase import moduledata_types
from goprobe_tui.gobinary.type_shapes import POINTER_DEPTH
from goprobe_tui.tracefs.conditions import Condition, compile_condition
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.fetch_args import caller_fetch, depth_fetch, goroutine_fetch
from goprobe_tui.tracefs.session import ProbeEvent, ProbeSession, Site
from goprobe_tui.tracefs.value_kinds import FetchPlan, build_plan

NO_RET_NOTE = "no RET instruction (ends in a tail call or never returns): entry probe only"
# Above this many functions attached at once, values are read from registers and stack slots
# only: reads behind pointers differ per function, and each distinct set of fetch args is a
# kernel event that costs one ~70 ms wait at detach (1,040 functions: 317 events, 21 s;
# shallow: about 30 events, 2 s).
MASS_ATTACH = 200
SHALLOW_NOTE = (f"more than {MASS_ATTACH} functions at once: values are read from registers and "
                "the stack only (no string bytes or fields behind pointers), so detaching stays fast")


def executable_of(pid: int) -> str:
    """A path to the process's executable that resolves here, also for processes in containers."""
    link = f"/proc/{pid}/exe"
    try:
        target = os.readlink(link).removesuffix(" (deleted)")
        want = os.stat(link)
    except OSError as exc:
        raise TracefsError(f"process {pid}: {exc.strerror}") from None
    for cand in (target, f"/proc/{pid}/root{target}"):
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return cand
    raise TracefsError(f"process {pid}: its executable {target} is not reachable by path")


@dataclass
class AttachedFunction:
    function: Function
    returns: bool  # return probes were asked for
    events: list[ProbeEvent] = field(default_factory=list)  # every event holding its sites
    note: str = ""  # what the user should know (e.g. entry probe only)

    @property
    def probes(self) -> int:
        name = self.function.key
        return sum(1 for ev in self.events for s in ev.sites if s.function == name)


@dataclass
class _Plan:
    fn: Function
    sites: list[tuple[Site, tuple[str, ...], str]]  # (site, fetch args, kernel filter)
    note: str = ""


class Attacher:
    def __init__(self, binary: GoBinary, session: ProbeSession, path: str | None = None,
                 overrides: dict[str, FetchPlan] | None = None, fields: tuple[str, ...] = (),
                 where: str = "", pointer_depth: int = POINTER_DEPTH) -> None:
        self.binary = binary
        self.session = session
        self.path = path or binary.path
        self.overrides = overrides or {}
        self.fields = fields  # --field selectors, e.g. "r.URL.Path"
        self.function_fields: dict[str, tuple[str, ...]] = {}  # per function, set in the TUI
        self.where = where  # --where: a condition for every function attached
        self.pointer_depth = pointer_depth  # --depth: levels of pointers to structs followed
        self.shallow_from: int | None = MASS_ATTACH  # None: always read behind pointers
        self.last_shallow = False  # the last attach_many read registers only
        self.function_where: dict[str, str] = {}  # per function, set in the TUI ("": none)
        self._goversion = binary.buildinfo.version_tuple()
        self._pie = binary.elf.pie

    # At the first attach, not at start-up: the DWARF index and the moduledata scan cost time
    # on a large binary, and a browse-only session needs neither.
    @cached_property
    def _goid_offset(self) -> int | None:
        return goid_offset(self.binary)

    @cached_property
    def _types_base(self) -> int | None:
        return moduledata_types(self.binary.elf, self.binary.pclntab, self._goversion)

    @cached_property
    def _funcdata(self) -> FuncData:
        return FuncData(self.binary)

    @cached_property
    def _methods(self) -> MethodSignatures:
        return MethodSignatures(self.binary)

    def register_abi(self, fn: Function) -> bool:
        if fn.key != fn.name and fn.file == "<autogenerated>":
            return False  # the ABI0 wrapper of a same-named function: arguments on the stack
        return uses_register_abi(self.binary.arch, self._goversion, self.binary.pclntab_version, fn.name)

    def plans(self, fn: Function, deep: bool = True) -> tuple[FetchPlan, FetchPlan]:
        if fn.name in self.overrides:
            return self.overrides[fn.name], FetchPlan((), ())
        params = self.binary.dwarf.params(fn.name, self.pointer_depth)
        args_size = int(self.binary.functions.args[fn.index])
        arginfo = self._funcdata.arginfo(fn.index) if params is None else None
        if params is None and self.register_abi(fn):
            # stripped: a method's signature survives in the runtime type metadata
            receiver_words = len(arginfo.args[0]) if arginfo and arginfo.args else None
            params = self._methods.params(fn, receiver_words)
        ptrsize = self.binary.elf.ptrsize
        try:
            paths = self.field_paths(fn)
            entry, ret = assign_function(self.binary.arch, ptrsize, self.register_abi(fn),
                                         params, args_size, arginfo)
            return build_plan(entry, ptrsize, paths, deep), build_plan(ret, ptrsize, deep=deep)
        except ValueError as exc:
            raise ProbeError(str(exc)) from None

    def field_paths(self, fn: Function) -> tuple:
        """The --field selectors that apply to this function (it has their root parameter),
        its own if it has some. ValueError names a field that does not exist."""
        own = self.function_fields.get(fn.key)
        if own is not None:
            return self.own_field_paths(fn, own)
        found = (self.binary.dwarf.field_path(fn.name, expr) for expr in self.fields)
        return tuple(p for p in found if p is not None)

    def own_field_paths(self, fn: Function, exprs: tuple[str, ...]) -> tuple:
        """Selectors given for this one function: each must name one of its parameters."""
        if exprs and not self.binary.dwarf.available:
            raise ValueError("fields need DWARF (this binary was built with -s -w or stripped)")
        out = []
        for expr in exprs:
            path = self.binary.dwarf.field_path(fn.name, expr)
            if path is None:
                raise ValueError(f"--field {expr}: {fn.key} has no parameter {expr.split('.')[0]}")
            out.append(path)
        return tuple(out)

    def sites(self, fn: Function) -> ProbeSites:
        if self.binary.arch in ("amd64", "arm64"):
            return probe_sites(self.binary, fn)
        return ProbeSites(fn.entry, (), False)

    def _plan(self, fn: Function, returns: bool, deep: bool = True) -> _Plan:
        if fn.offset < 0:
            raise ProbeError(f"{fn.key} is not in the file")
        sites = self.sites(fn)
        note = NO_RET_NOTE if returns and not sites.returns else ""
        entry_plan, ret_plan = self.plans(fn, deep)
        extra = (*goroutine_fetch(self.binary.arch, self.register_abi(fn), self._goid_offset),
                 *caller_fetch(self.binary.arch))
        ret_vaddrs = sites.returns if returns else ()
        cond = self.condition(fn, entry_plan, ret_plan)
        if cond is not None and cond.on_return and not ret_vaddrs:
            raise ProbeError(f"--where {cond.text!r} on {fn.key}: it reads results, which needs "
                             "return probes" + (" (--ret)" if not returns else ""))
        filters = {"entry": "", "return": ""}
        more: dict[str, tuple[str, ...]] = {"entry": (), "return": ()}
        if cond is not None:
            side = "return" if cond.on_return else "entry"
            filters[side], more[side] = cond.filter, cond.fetch
            if side == "entry" and ret_vaddrs and extra:
                # returns pair with their entry by the call's depth in its goroutine's stack:
                # a return whose entry was filtered out then finds nothing, even in recursion
                depth = depth_fetch(self.binary.arch)
                more = {"entry": (*more["entry"], *depth), "return": depth}
        out = _Plan(fn, [], note)
        for kind, vaddr, plan in [("entry", sites.entry, entry_plan),
                                  *[("return", r, ret_plan) for r in ret_vaddrs]]:
            off = self.binary.elf.file_offset(vaddr, executable=True)
            if off is None:
                raise ProbeError(f"{fn.key}: {vaddr:#x} is not in an executable segment")
            site = Site(fn.key, kind, vaddr, off, plan.values,
                        has_return=kind == "entry" and bool(ret_vaddrs),
                        at_entry=kind == "return" and vaddr == sites.entry,
                        types_base=self._types_base,
                        entry_filtered=kind == "return" and bool(filters["entry"]),
                        condition=cond.tree if cond is not None and filters[kind] else None)
            out.sites.append((site, (*plan.args, *extra, *more[kind]), filters[kind]))
        return out

    def condition(self, fn: Function, entry: FetchPlan, ret: FetchPlan) -> Condition | None:
        """The function's --where, compiled against its values. ProbeError if it cannot be."""
        text = self.function_where.get(fn.key, self.where)
        if not text:
            return None
        try:
            return compile_condition(text, entry.values, ret.values, fn.key)
        except ValueError as exc:
            raise ProbeError(str(exc)) from None

    def attach_many(self, fns: list[Function], returns: bool,
                    stop: Callable[[], bool] = lambda: False
                    ) -> tuple[list[AttachedFunction], dict[str, str]]:
        """Attach together. Returns (attached, {function: why not}). stop() is polled between
        kernel writes, so a signal ends a long attach early (what was written is recorded)."""
        errors: dict[str, str] = {}
        plans: list[_Plan] = []
        deep = self.shallow_from is None or len(fns) <= self.shallow_from
        self.last_shallow = not deep
        for fn in fns:
            try:
                plans.append(self._plan(fn, returns, deep))
            except (ProbeError, BinaryError) as exc:
                errors[fn.key] = str(exc)
        groups: dict[tuple[str, tuple[str, ...], bool, str], list[Site]] = {}
        for plan in plans:
            for site, fetch, kfilter in plan.sites:
                pair_by_g = any(a.startswith("g=") for a in fetch)
                groups.setdefault((site.kind, fetch, pair_by_g, kfilter), []).append(site)
        attached = {p.fn.key: AttachedFunction(p.fn, returns, note=p.note) for p in plans}
        refused_entry: set[str] = set()
        stopped = False
        # entries first: a return probe enabled before its entry could only be unpaired
        for (kind, fetch, pair_by_g, kfilter), sites in sorted(groups.items(),
                                                              key=lambda kv: kv[0][0] != "entry"):
            if stop():
                stopped = True
                break
            try:
                ev, refused = self.session.define(kind, self.path, fetch, sites,
                                                  pair_by_g=pair_by_g, pie=self._pie,
                                                  kernel_filter=kfilter)
            except ProbeError as exc:
                ev, refused = None, {i: str(exc) for i in range(len(sites))}
            for i, why in refused.items():
                name = sites[i].function
                if sites[i].kind == "entry":
                    refused_entry.add(name)
                    errors[name] = why
                elif name not in errors:
                    errors[name] = f"return probe at {sites[i].vaddr:#x}: {why}"
            if ev is not None:
                for name in ev.functions():
                    attached[name].events.append(ev)
        ok = []
        for name, att in attached.items():
            # Entry groups are defined first, so a function without events never got as far
            # as its entry (stop() or the kernel refused it).
            if stopped and not att.events:
                continue  # interrupted before its turn: not an error
            if name in refused_entry or not att.events:
                for ev in att.events:  # its return probes alone would only be unpaired
                    self.session.set_muted(ev, name, True, since=0)
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
