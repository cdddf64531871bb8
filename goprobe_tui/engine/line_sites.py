"""The probes of a source line (FILE:LINE): one per place the statement begins
(gobinary/lines.py), each event with the line's locals where DWARF gives their place there.

A local without a location at that pc is left out (DWARF says nothing of its value there);
without DWARF there are none, and the event says so. A condition is checked per place where
its names are locals there; places where they are not are left out, and the note says so.
"""

from __future__ import annotations

from functools import cached_property

from goprobe_tui.engine.inline_sites import InlinedPlan
from goprobe_tui.engine.site_planner import SitePlanner
from goprobe_tui.gobinary import BinaryError, Function
from goprobe_tui.gobinary.abi import Assignment, Placement
from goprobe_tui.gobinary.dwarf_vars import Variable
from goprobe_tui.gobinary.flow import FlowGraph, flow_graph
from goprobe_tui.gobinary.inline import inline_index
from goprobe_tui.gobinary.lines import LineSite, LineTable
from goprobe_tui.tracefs.session import Site
from goprobe_tui.values.conditions import compile_condition
from goprobe_tui.values.kinds import FetchPlan, build_plan

NO_DWARF = "locals unknown: no DWARF"
NONE_HERE = "no local has a place at this pc (DWARF)"


class LineSites(SitePlanner):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._graphs: dict[int, FlowGraph] = {}

    @cached_property
    def table(self) -> LineTable:
        return LineTable(self.binary)

    def places(self, fn: Function) -> list[LineSite]:
        """Where the line's statement begins (DWARF's is_stmt rows, else the pclntab's rule)."""
        stmts = self.binary.dwarf.statement_addresses(fn.file, fn.line)
        return self.table.sites(fn.file, fn.line, stmts)

    def plan(self, fn: Function, condition: str, deep: bool) -> InlinedPlan:
        places = self.places(fn)
        out = InlinedPlan(total=len(places), what="places of the line")
        index = inline_index(self.binary)
        for place in places:
            holder = self.binary.functions[place.function]
            if place.address not in self._graph(place.function).mnemonics:
                out.missed["not at an instruction start"] += 1
                continue
            off = self.binary.elf.file_offset(place.address, executable=True)
            if off is None:
                out.missed["not in an executable segment"] += 1
                continue
            row = index.row_of(place.function, place.inline) if place.inline >= 0 else None
            scope = index.names[int(index.name_id[row])] if row is not None else holder.name
            frames = index.frames(row) if row is not None else ()
            sp = self.binary.pushed_at(holder, place.address)
            plan, note = self._locals(holder, place.address, sp, deep)
            values = plan.values if plan is not None else ()
            tree = None
            if condition:
                try:
                    tree = compile_condition(condition, values, (), fn.key).tree
                except ValueError:
                    out.missed[f"where --where {condition!r} cannot be read"] += 1
                    continue
            ra = (f"ra{sp}=+{sp}(%sp):u64",) if sp is not None and self.binary.arch == "amd64" else ()
            site = Site(fn.key, "line", place.address, off, (), types_base=self._types_base(),
                        inlined=(frames,), call_values=(values,), call_notes=(note,),
                        call_conditions=(tree,) if condition else (), scope=scope,
                        source=(fn.file, fn.line), ra_key=ra[0].split("=", 1)[0] if ra else "ra")
            fetch = (*self._goroutine(holder), *ra, *(plan.args if plan is not None else ()))
            out.sites.append((site, fetch))
            out.calls += 1
        return out

    def _locals(self, holder: Function, pc: int, sp: int | None,
                deep: bool) -> tuple[FetchPlan | None, str]:
        if not self.binary.dwarf.available:
            return None, NO_DWARF
        if sp is None:
            return None, NONE_HERE
        try:
            found = self._scopes.variables_at(holder.name, pc, sp)
        except (BinaryError, ValueError, IndexError):
            found = None
        if found is None:
            return None, NO_DWARF
        shown: dict[str, Variable] = {}
        for v in found:  # innermost first: a shadowed name is the inner variable
            if v.locs is not None and v.param.name not in shown:
                shown[v.param.name] = v
        if not shown:
            return None, NONE_HERE
        placements = tuple(Placement(v.param, v.locs) for v in shown.values())
        try:
            return build_plan(Assignment(placements), self.binary.elf.ptrsize, (), deep), ""
        except ValueError:
            return None, NONE_HERE

    def _graph(self, fn: int) -> FlowGraph:
        graph = self._graphs.get(fn)
        if graph is None:
            graph = self._graphs[fn] = flow_graph(self.binary, self.binary.functions[fn])
        return graph


