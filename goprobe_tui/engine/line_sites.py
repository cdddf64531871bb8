"""The probes of a source line (FILE:LINE): one per place the statement begins
(gobinary/lines.py), each event with the line's locals where DWARF gives their place there.

A local without a location at that pc is left out (DWARF says nothing of its value there);
without DWARF there are none, and the event says so. A condition is checked per place where
its names are locals there; places where they are not are left out, and the note says so.
"""

from __future__ import annotations

import weakref
from functools import cached_property

from goprobe_tui.engine.inline_sites import InlinedPlan
from goprobe_tui.engine.site_planner import UNREADABLE, SitePlanner
from goprobe_tui.errors import GoprobeError
from goprobe_tui.gobinary import Function
from goprobe_tui.gobinary.abi import Assignment, Placement
from goprobe_tui.gobinary.dwarf_vars import Variable
from goprobe_tui.gobinary.flow import FlowGraph, flow_graph
from goprobe_tui.gobinary.frame_pointer import return_address_fetch
from goprobe_tui.gobinary.inline import inline_index
from goprobe_tui.gobinary.inline_probes import once_per_call
from goprobe_tui.gobinary.lines import LineSite, LineTable, line_target
from goprobe_tui.tracefs.session import Site
from goprobe_tui.values.kinds import FetchPlan, ValueSpec, build_plan

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

    def once_per_execution(self, fn: Function, places: list[LineSite]) -> list[LineSite]:
        """One place per execution of the statement in each function and inline context: a
        statement the compiler split (`acc += k % 13` begins twice, around a register move)
        fired once per piece. Where its code has an entry that runs once per execution (as an
        inlined call's, inline_probes.once_per_call), the instruction of that block with the
        most locals placed; else the first place of each block."""
        groups: dict[tuple[int, int], list[LineSite]] = {}
        for place in places:
            groups.setdefault((place.function, place.inline), []).append(place)
        runs = self.table.code(fn.file).get(fn.line, [])
        out: list[LineSite] = []
        for (function, ctx), group in groups.items():
            graph = self._graph(function)
            body = [(s, e) for f, s, e, c in runs if f == function and c == ctx]
            head, _why = once_per_call(graph, body, group[0].address, False) if body else (None, "")
            if head is None:
                seen: set[int] = set()
                for place in group:  # at least never twice in one block
                    block = graph.block_of(place.address) if graph.starts else place.address
                    if block not in seen:
                        seen.add(block)
                        out.append(place)
                continue
            ours = [pc for pc in graph.instructions(head) if any(s <= pc < e for s, e in body)]
            firsts = [p.address for p in group if graph.block_of(p.address) == head]
            candidates = firsts + [pc for pc in ours if pc not in firsts] or [head]
            best = max(candidates, key=lambda pc: (self._placed(function, pc), -candidates.index(pc)))
            out.append(LineSite(best, function, ctx))
        return out

    def locals_shown(self, fn: Function) -> tuple[list[str], list[str]]:
        """(read, unavailable): the locals a probe on this line shows, over its places; each
        name once, read wherever any place reads it."""
        read: dict[str, None] = {}
        gone: dict[str, None] = {}
        for place in self.once_per_execution(fn, self.places(fn)):
            holder = self.binary.functions[place.function]
            sp = self.binary.pushed_at(holder, place.address)
            plan, _note = self._locals(holder, place.address, sp, False, fn.line)
            for spec in plan.values if plan is not None else ():
                (gone if spec.kind == "unavailable" else read)[spec.name] = None
        return list(read), [n for n in gone if n not in read]

    def _placed(self, function: int, pc: int) -> int:
        """How many locals DWARF places at pc (0 without DWARF)."""
        if not self.binary.dwarf.available:
            return 0
        holder = self.binary.functions[function]
        sp = self.binary.pushed_at(holder, pc)
        try:
            found = self._scopes.variables_at(holder.name, pc, sp or 0) or []
        except (GoprobeError, ValueError, IndexError):
            return 0
        return sum(1 for v in found if v.locs is not None)

    def plan(self, fn: Function, condition: str, deep: bool) -> InlinedPlan:
        places = self.once_per_execution(fn, self.places(fn))
        out = InlinedPlan(total=len(places), what="places of the line")
        index = inline_index(self.binary)
        for place in places:
            holder = self.binary.functions[place.function]
            if not self._graph(place.function).is_instruction(place.address):
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
            plan, note = self._locals(holder, place.address, sp, deep, fn.line)
            values = plan.values if plan is not None else ()
            tree = self.condition_tree(condition, values, fn.key)
            if tree is UNREADABLE:
                out.missed[f"where --where {condition!r} cannot be read"] += 1
                continue
            ra = return_address_fetch(self.binary, holder, place.address, sp, self._frame_ready)
            site = Site(
                fn.key,
                "line",
                place.address,
                off,
                (),
                types_base=self._types_base(),
                inlined=(frames,),
                call_values=(values,),
                call_notes=(note,),
                call_conditions=(tree,) if condition else (),
                scope=scope,
                source=(fn.file, fn.line),
                ra_key=ra[0].split("=", 1)[0] if ra else "ra",
            )
            fetch = (*self._goroutine(holder), *ra, *(plan.args if plan is not None else ()))
            out.sites.append((site, fetch))
            out.calls += 1
        return out

    def _locals(
        self, holder: Function, pc: int, sp: int | None, deep: bool, line: int
    ) -> tuple[FetchPlan | None, str]:
        """Every local in scope at the line: read where DWARF places it at pc, the others
        shown as <unavailable> (never left out: a debugger cannot read them there either)."""
        if not self.binary.dwarf.available:
            return None, NO_DWARF
        if sp is None:
            return None, NONE_HERE
        try:
            found = self._scopes.variables_at(holder.name, pc, sp)
        except (GoprobeError, ValueError, IndexError):
            found = None
        if found is None:
            return None, NO_DWARF
        in_scope: dict[str, Variable] = {}
        for v in found:  # innermost first: a shadowed name is the inner variable
            declared_later = not v.is_param and v.decl_line > line
            if v.param.name not in in_scope and not declared_later and not v.param.name.startswith("~"):
                in_scope[v.param.name] = v
        if not in_scope:
            return None, NONE_HERE
        placed = [v for v in in_scope.values() if v.locs is not None]
        try:
            plan = (
                build_plan(
                    Assignment(tuple(Placement(v.param, v.locs) for v in placed)),
                    self.binary.elf.ptrsize,
                    (),
                    deep,
                )
                if placed
                else FetchPlan((), ())
            )
        except ValueError:
            plan, placed = FetchPlan((), ()), []
        by_name = {spec.name: spec for spec in plan.values}
        values = tuple(
            by_name.get(name) or ValueSpec(name, "unavailable", (), v.param.type_name)
            for name, v in in_scope.items()
        )
        return FetchPlan(plan.args, values), "" if placed else NONE_HERE

    def _graph(self, fn: int) -> FlowGraph:
        graph = self._graphs.get(fn)
        if graph is None:
            graph = self._graphs[fn] = flow_graph(self.binary, self.binary.functions[fn])
        return graph


_FOR_DETAILS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def line_locals(binary, spec: str) -> str:
    """What a probe on FILE:LINE shows, in one line for the details screen: `reads n, k;
    <unavailable> there: i, s` (DWARF places those nowhere at the probe)."""
    planner = _FOR_DETAILS.get(binary)
    if planner is None:
        planner = _FOR_DETAILS[binary] = LineSites(binary, lambda _holder: (), lambda: None, 1)
    try:
        read, gone = planner.locals_shown(line_target(binary, spec))
    except GoprobeError as exc:
        return str(exc)
    if not binary.dwarf.available:
        return "locals: none without DWARF"
    if not read and not gone:
        return "locals: none in scope"
    return "; ".join(
        filter(
            None,
            (
                f"reads {', '.join(read)}" if read else "",
                f"<unavailable> there: {', '.join(gone)}" if gone else "",
            ),
        )
    )
