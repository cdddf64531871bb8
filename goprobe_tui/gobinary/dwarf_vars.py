"""Variables at one pc, from DWARF: an inlined call's parameters, the locals a line sees.

Go describes where each variable lives with location lists: a register, a stack slot (at an
offset from the canonical frame address), or pieces of both for a multi-word value (a
string's pointer and length). Each is turned into the places a probe at that pc reads, one
per register-sized part of the value (abi.Placement's notation). A variable with no location
at the pc, or one this cannot express (a float register, an expression), is unavailable
there: never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from goprobe_tui.gobinary.dwarfparams import DwarfParams, _name
from goprobe_tui.gobinary.params import Param

# DWARF register numbers -> the names uprobe fetch args use
_REGS = {
    "amd64": {
        0: "ax",
        1: "dx",
        2: "cx",
        3: "bx",
        4: "si",
        5: "di",
        6: "bp",
        7: "sp",
        **{n: f"r{n}" for n in range(8, 16)},
    },
    "arm64": {**{n: f"x{n}" for n in range(31)}, 31: "sp"},
}
MAX_SCOPES = 64  # nesting of blocks and inlined calls walked; deeper is corrupt


@dataclass(frozen=True)
class Variable:
    """One variable at a pc: its shape (a Param, as the value model takes it) and where each
    register-sized part of it is there (None: unavailable at this pc)."""

    param: Param
    locs: tuple[str, ...] | None
    is_param: bool
    scope: str  # the function (inlined or not) it belongs to
    decl_line: int = 0  # where it is declared (0: not said): a later one is not in scope yet


class DwarfScopes:
    def __init__(self, dwarf: DwarfParams, arch: str, ptrsize: int) -> None:
        self._dwarf = dwarf
        self._regs = _REGS.get(arch, {})
        self._arch = arch
        self._ptrsize = ptrsize

    @property
    def available(self) -> bool:
        return self._dwarf.available

    # -- an inlined call's parameters ---------------------------------------------------
    def inlined_args(
        self, holder: str, callee: str, code: list[tuple[int, int]], pc: int, sp_delta: int
    ) -> list[Variable] | None:
        """The parameters of the call of `callee` inlined into `holder` whose code is `code`,
        as they are at `pc` (sp_delta: what `holder` has pushed there, pcsp). None: no DWARF
        for it, or no single inlined call in DWARF matches."""
        die = self._dwarf.subprogram(holder)
        if die is None:
            return None
        found = [
            d
            for d in self._inlined_calls(die)
            if _origin_name(d) == callee and _overlaps(self._ranges(d), code)
        ]
        if len(found) != 1:
            return None
        call = found[0]
        # the callee's parameters, from its abstract description; the call's own DIEs say
        # where each is (a parameter the compiler dropped has none: unavailable)
        concrete = {_origin(c).offset: c for c in call.iter_children() if c.tag == "DW_TAG_formal_parameter"}
        abstract = _origin(call)
        out = []
        for origin in abstract.iter_children():
            if origin.tag != "DW_TAG_formal_parameter" or "DW_AT_name" not in origin.attributes:
                continue
            param = self._dwarf.param_of(origin)
            if param.result:
                continue
            child = concrete.get(origin.offset)
            locs = self._locs(child, param, pc, sp_delta) if child is not None else None
            out.append(Variable(param, locs, True, callee))
        return out

    def _inlined_calls(self, die, depth: int = 0):
        if depth > MAX_SCOPES:
            return
        for child in die.iter_children():
            if child.tag == "DW_TAG_inlined_subroutine":
                yield child
            if child.tag in ("DW_TAG_inlined_subroutine", "DW_TAG_lexical_block"):
                yield from self._inlined_calls(child, depth + 1)

    # -- what a line sees ---------------------------------------------------------------
    def variables_at(self, holder: str, pc: int, sp_delta: int) -> list[Variable] | None:
        """Every parameter and local variable in scope at `pc` of function `holder` (its own
        and, where pc is in inlined code, the inlined function's), innermost scope first,
        each with its place there (None: no location at this pc). None: no DWARF for it."""
        die = self._dwarf.subprogram(holder)
        if die is None:
            return None
        chain = [(die, holder)]  # the scopes holding pc, outermost first
        node = die
        for _ in range(MAX_SCOPES):
            inner = next(
                (
                    c
                    for c in node.iter_children()
                    if c.tag in ("DW_TAG_lexical_block", "DW_TAG_inlined_subroutine")
                    and any(lo <= pc < hi for lo, hi in self._ranges(c))
                ),
                None,
            )
            if inner is None:
                break
            scope = _origin_name(inner) if inner.tag == "DW_TAG_inlined_subroutine" else chain[-1][1]
            chain.append((inner, scope))
            node = inner
        out = []
        for scope_die, scope in reversed(chain):
            for child in scope_die.iter_children():
                if child.tag not in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
                    continue
                origin = _origin(child)
                if "DW_AT_name" not in origin.attributes:
                    continue
                param = self._dwarf.param_of(origin)
                if param.result:
                    continue
                decl = origin.attributes.get("DW_AT_decl_line")
                out.append(
                    Variable(
                        param,
                        self._locs(child, param, pc, sp_delta),
                        child.tag == "DW_TAG_formal_parameter",
                        scope,
                        decl.value if decl is not None and isinstance(decl.value, int) else 0,
                    )
                )
        return out

    # -- locations ----------------------------------------------------------------------
    def _locs(self, die, param: Param, pc: int, sp_delta: int) -> tuple[str, ...] | None:
        expr = self._expression_at(die, pc)
        if expr is None:
            return None
        pieces = self._pieces(expr, sp_delta)
        if not pieces or not param.parts:
            return None
        if len(pieces) == 1 and pieces[0][1] is None:
            loc = pieces[0][0]
            if len(param.parts) == 1:
                return (loc,) if loc else None
            return self._spread(loc, param)  # a whole value in memory: part after part
        sizes = [p.size for p in param.parts]
        if [size for _loc, size in pieces] != sizes or any(loc is None for loc, _s in pieces):
            return None  # pieces that do not line up with the value's parts, or missing ones
        return tuple(loc for loc, _size in pieces if loc is not None)

    def _spread(self, loc: str | None, param: Param) -> tuple[str, ...] | None:
        if loc is None or not loc.startswith("+") or not loc.endswith("(%sp)"):
            return None  # a multi-word value in one register: not how Go places values
        base = int(loc[1 : loc.index("(")])
        out, off = [], 0
        for part in param.parts:
            off = (off + part.size - 1) // part.size * part.size
            out.append(f"+{base + off}(%sp)")
            off += part.size
        return tuple(out)

    def _pieces(self, expr: bytes, sp_delta: int) -> list[tuple[str | None, int | None]] | None:
        """[(place, piece size)], size None for a value in one place. None: not expressible."""
        from elftools.dwarf.dwarf_expr import DWARFExprParser

        try:
            ops = DWARFExprParser(self._dwarf.structs()).parse_expr(expr)
        except Exception:  # an opcode pyelftools does not know: unavailable, never a guess
            return None
        cfa = sp_delta + (8 if self._arch == "amd64" else 0)  # the caller's SP before the call
        pieces: list[tuple[str | None, int | None]] = []
        loc: str | None = None
        stack: list = []
        for op in ops:
            name, args = op.op_name, op.args
            if name.startswith("DW_OP_reg") and name != "DW_OP_regx":
                loc = self._reg(int(name[len("DW_OP_reg") :]))
            elif name == "DW_OP_regx":
                loc = self._reg(args[0])
            elif name == "DW_OP_fbreg":  # Go's frame base is the CFA
                loc = _stack(cfa + args[0])
            elif name == "DW_OP_call_frame_cfa":
                stack.append(cfa)
            elif name in ("DW_OP_consts", "DW_OP_constu") or name.startswith("DW_OP_lit"):
                stack.append(args[0] if args else int(name[len("DW_OP_lit") :]))
            elif name == "DW_OP_plus" and len(stack) >= 2:
                stack.append(stack.pop() + stack.pop())
            elif name == "DW_OP_plus_uconst" and stack:
                stack.append(stack.pop() + args[0])
            elif (name == "DW_OP_breg7" and self._arch == "amd64") or (
                name == "DW_OP_breg31" and self._arch == "arm64"
            ):
                loc = _stack(args[0])
            elif name == "DW_OP_piece":
                if stack:
                    loc = _stack(stack.pop())
                pieces.append((loc, args[0]))
                loc, stack = None, []
            else:
                return None
        if stack:
            loc = _stack(stack.pop())
        if loc is not None or not pieces:
            pieces.append((loc, None))
        return pieces

    def _reg(self, number: int) -> str | None:
        reg = self._regs.get(number)
        return None if reg is None or reg == "sp" else f"%{reg}"

    def _expression_at(self, die, pc: int) -> bytes | None:
        """The location expression in force at pc, or None."""
        attr = die.attributes.get("DW_AT_location")
        if attr is None:
            return None
        return self._dwarf.location_at(attr, die, pc)

    def _ranges(self, die) -> list[tuple[int, int]]:
        return self._dwarf.ranges_of(die)


def _stack(offset: int) -> str | None:
    return f"+{offset}(%sp)" if offset >= 0 else None


def _origin(die):
    seen = 0
    while "DW_AT_abstract_origin" in die.attributes and seen < 4:
        die = die.get_DIE_from_attribute("DW_AT_abstract_origin")
        seen += 1
    return die


def _origin_name(die) -> str:
    return _name(_origin(die))


def _overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(lo < y and x < hi for lo, hi in a for x, y in b)
