"""Attach Go functions: pick probe sites, plan fetch args, batch them into kernel events.

Functions attached together share events: every probe whose fetch args are identical goes
into one multi-probe event (all RET sites of a function always do). Disabling an event costs
one kernel wait however many probes it has, so a 1,000-probe teardown takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from goprobe_tui.gobinary import BinaryError, Function, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan, goroutine_fetch, plan_function, uses_register_abi
from goprobe_tui.gobinary.retsweep import ProbeSites, probe_sites
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.session import ProbeEvent, ProbeSession, Site

NO_RET_NOTE = "no RET instruction (ends in a tail call or never returns): entry probe only"


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
        name = self.function.name
        return sum(1 for ev in self.events for s in ev.sites if s.function == name)


@dataclass
class _Plan:
    fn: Function
    sites: list[tuple[Site, tuple[str, ...]]]  # (site, fetch args)
    note: str = ""


class Attacher:
    def __init__(self, binary: GoBinary, session: ProbeSession, path: str | None = None,
                 overrides: dict[str, FetchPlan] | None = None) -> None:
        self.binary = binary
        self.session = session
        self.path = path or binary.path
        self.overrides = overrides or {}
        self._goversion = binary.buildinfo.version_tuple()
        self._pie = binary.elf.pie

    def register_abi(self, fn: Function) -> bool:
        return uses_register_abi(self.binary.arch, self._goversion, self.binary.pclntab_version, fn.name)

    def plans(self, fn: Function) -> tuple[FetchPlan, FetchPlan]:
        if fn.name in self.overrides:
            return self.overrides[fn.name], FetchPlan((), ())
        params = self.binary.dwarf.params(fn.name)
        args_size = int(self.binary.functions.args[fn.index])
        return plan_function(self.binary.arch, self.binary.elf.ptrsize, self.register_abi(fn),
                             params, args_size)

    def sites(self, fn: Function) -> ProbeSites:
        if self.binary.arch in ("amd64", "arm64"):
            return probe_sites(self.binary, fn)
        return ProbeSites(fn.entry, (), False)

    def _plan(self, fn: Function, returns: bool) -> _Plan:
        if fn.offset < 0:
            raise ProbeError(f"{fn.name} is not in the file")
        sites = self.sites(fn)
        note = NO_RET_NOTE if returns and not sites.returns else ""
        entry_plan, ret_plan = self.plans(fn)
        extra = goroutine_fetch(self.binary.arch, self.register_abi(fn))
        ret_vaddrs = sites.returns if returns else ()
        out = _Plan(fn, [], note)
        for kind, vaddr, plan in [("entry", sites.entry, entry_plan),
                                  *[("return", r, ret_plan) for r in ret_vaddrs]]:
            off = self.binary.elf.file_offset(vaddr, executable=True)
            if off is None:
                raise ProbeError(f"{fn.name}: {vaddr:#x} is not in an executable segment")
            site = Site(fn.name, kind, vaddr, off, plan.values,
                        has_return=kind == "entry" and bool(ret_vaddrs),
                        at_entry=kind == "return" and vaddr == sites.entry)
            out.sites.append((site, (*plan.args, *extra)))
        return out

    def attach_many(self, fns: list[Function], returns: bool,
                    stop: Callable[[], bool] = lambda: False
                    ) -> tuple[list[AttachedFunction], dict[str, str]]:
        """Attach together. Returns (attached, {function: why not}). stop() is polled between
        kernel writes, so a signal ends a long attach early (what was written is recorded)."""
        errors: dict[str, str] = {}
        plans: list[_Plan] = []
        for fn in fns:
            try:
                plans.append(self._plan(fn, returns))
            except (ProbeError, BinaryError) as exc:
                errors[fn.name] = str(exc)
        groups: dict[tuple[str, tuple[str, ...], bool], list[Site]] = {}
        for plan in plans:
            for site, fetch in plan.sites:
                pair_by_g = any(a.startswith("g=") for a in fetch)
                groups.setdefault((site.kind, fetch, pair_by_g), []).append(site)
        attached = {p.fn.name: AttachedFunction(p.fn, returns, note=p.note) for p in plans}
        refused_entry: set[str] = set()
        stopped = False
        # entries first: a return probe enabled before its entry could only be unpaired
        for (kind, fetch, pair_by_g), sites in sorted(groups.items(), key=lambda kv: kv[0][0] != "entry"):
            if stop():
                stopped = True
                break
            try:
                ev, refused = self.session.define(kind, self.path, fetch, sites,
                                                  pair_by_g=pair_by_g, pie=self._pie)
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
        raise ProbeError(f"{fn.name}: {errors.get(fn.name, 'not attached')}")
    return attached[0]
