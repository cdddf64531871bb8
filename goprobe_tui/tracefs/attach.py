"""Attach Go functions: pick probe sites, plan fetch args, add the probes to a session."""

from __future__ import annotations

import os

from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.abi import FetchPlan, goroutine_fetch, plan_function, uses_register_abi
from goprobe_tui.gobinary.retsweep import ProbeSites, probe_sites
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.session import Probe, ProbeSession


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


class Attacher:
    def __init__(self, binary: GoBinary, session: ProbeSession, path: str | None = None,
                 overrides: dict[str, FetchPlan] | None = None) -> None:
        self.binary = binary
        self.session = session
        self.path = path or binary.path
        self.overrides = overrides or {}
        self._goversion = binary.buildinfo.version_tuple()

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

    def attach(self, fn: Function, returns: bool = False) -> list[Probe]:
        """Entry probe (after the stack check) and, if asked, one probe per RET instruction."""
        if fn.offset < 0:
            raise ProbeError(f"{fn.name} is not in the file")
        sites = self.sites(fn)
        if returns and not sites.returns:
            raise ProbeError(f"{fn.name} has no RET instruction (tail call or no return): "
                             "no return probe possible")
        entry_plan, ret_plan = self.plans(fn)
        extra = goroutine_fetch(self.binary.arch, self.register_abi(fn))
        added: list[Probe] = []
        try:
            for kind, vaddr, plan in [("entry", sites.entry, entry_plan),
                                      *[("return", r, ret_plan) for r in (sites.returns if returns else ())]]:
                off = self.binary.elf.file_offset(vaddr, executable=True)
                if off is None:
                    raise ProbeError(f"{fn.name}: {vaddr:#x} is not in an executable segment")
                # the decoder pairs only entries that can return
                has_return = kind == "entry" and returns
                added.append(self.session.add(self.path, fn.name, kind, vaddr, off, plan, extra, has_return))
        except ProbeError:
            for probe in added:
                self.session.remove(probe.event)
            raise
        return added

    def detach(self, fn: Function) -> None:
        self.session.remove_function(fn.name)
