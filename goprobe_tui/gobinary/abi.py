"""Where Go parameters live at a probe: Go's register ABI or the stack ABI0.

This module only places values (registers, stack slots); what to fetch there and how to
decode it is each value kind's job (tracefs/value_kinds.py). See Go's
src/cmd/compile/abi-internal.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from goprobe_tui.gobinary.funcdata import ArgInfo, ArgWord
from goprobe_tui.gobinary.params import Param, Part

INT_REGS = {
    "amd64": ("ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"),
    "arm64": tuple(f"x{i}" for i in range(16)),
}
FLOAT_REGS = {"amd64": 15, "arm64": 16}
G_REG = {"amd64": "r14", "arm64": "x28"}  # the current goroutine, for entry/return pairing
POSITIONAL_ARGS = 16  # argument words shown without DWARF (a record stays small)
RESULT_REGISTERS = 2  # without DWARF the results are unknown: the first result registers, raw


@dataclass(frozen=True)
class Placement:
    """Where one parameter lives at the probe: one location per integer piece, in order
    (`%ax`, `+8(%sp)`: the assembler's notation, which tracefs shares). No locations: its
    words are not fetchable (a large struct or array)."""

    param: Param
    locs: tuple[str, ...] | None


@dataclass(frozen=True)
class Assignment:
    placements: tuple[Placement, ...]
    pad: tuple[str, ...] = ()  # registers fetched besides, so most functions share events


def uses_register_abi(arch: str, goversion: tuple[int, int], table_version: str, name: str) -> bool:
    if name.endswith(".abi0"):
        return False  # assembly functions keep the stack ABI
    if arch == "amd64":
        return goversion >= (1, 17) or (goversion == (0, 0) and table_version in ("1.18", "1.20"))
    if arch == "arm64":
        return goversion >= (1, 18) or (goversion == (0, 0) and table_version in ("1.18", "1.20"))
    return False


def _padded(used: int, available: int) -> int:
    """Registers to fetch for `used` live ones: few buckets, so most functions share events."""
    if used == 0:
        return 0
    return min(available, 3) if used <= 3 else available


def assign_register(
    arch: str, ptrsize: int, params: list[Param], stack_start: int | None = None
) -> tuple[Assignment, int]:
    """Go's register assignment: each value goes whole into the next free registers, or, if it
    does not fit (or cannot go in registers at all), whole onto the stack, in order, from
    stack_start above the return address. Returns (assignment, end of the stack area)."""
    regs = INT_REGS[arch]
    out: list[Placement] = []
    used_int = used_float = 0
    off = ptrsize if stack_start is None else stack_start
    for p in params:
        nint = sum(1 for part in p.parts if part.kind != "float")
        nfloat = len(p.parts) - nint
        fits = (not p.size or p.parts) and (
            used_int + nint <= len(regs) and used_float + nfloat <= FLOAT_REGS[arch]
        )
        if fits:
            out.append(Placement(p, tuple(f"%{r}" for r in regs[used_int : used_int + nint])))
            used_int += nint
            used_float += nfloat  # tracefs cannot read vector registers: shown as such
            continue
        off = (off + p.align - 1) // p.align * p.align
        out.append(Placement(p, _stack_slots(p, off) if p.parts else None))
        off += p.size
    pad = regs[: _padded(used_int, len(regs))]
    return Assignment(tuple(out), pad), (off + ptrsize - 1) // ptrsize * ptrsize


def _stack_slots(p: Param, off: int) -> tuple[str, ...]:
    """A location per int piece of a value laid out in memory at +off(%sp)."""
    locs = []
    for part in p.parts:
        off = (off + part.size - 1) // part.size * part.size
        if part.kind != "float":
            locs.append(f"+{off}(%sp)")
        off += part.size
    return tuple(locs)


def assign_stack(params: list[Param], start: int) -> tuple[Assignment, int]:
    """ABI0: every value in memory above the return address. Returns (assignment, end)."""
    out = []
    off = start
    for p in params:
        off = (off + p.align - 1) // p.align * p.align
        out.append(Placement(p, None if p.size and not p.parts else _stack_slots(p, off)))
        off += p.size
    return Assignment(tuple(out)), off


def assign_function(
    arch: str,
    ptrsize: int,
    register_abi: bool,
    params: list[Param] | None,
    args_size: int,
    arginfo: ArgInfo | None = None,
) -> tuple[Assignment, Assignment]:
    """(entry, return). Without DWARF params: the argument words (grouped by ArgInfo where it
    proves the layout), and at returns the first result registers, raw."""
    if params is None:
        ins = positional_params(arch, ptrsize, register_abi, args_size, arginfo)
        if register_abi:
            word = Part("int", ptrsize)
            outs = [
                Param(_register_name(arch, r), "", "register", ptrsize, ptrsize, True, (word,))
                for r in INT_REGS[arch][:RESULT_REGISTERS]
            ]
            return assign_register(arch, ptrsize, ins)[0], assign_register(arch, ptrsize, outs)[0]
        return assign_stack(ins, ptrsize)[0], Assignment(())  # ABI0 results: sizes unknown
    ins = [p for p in params if not p.result]
    outs = [p for p in params if p.result]
    if register_abi:
        # At a RET, SP is back at the return address: stack results follow the stack args.
        entry, end = assign_register(arch, ptrsize, ins)
        return entry, assign_register(arch, ptrsize, outs, end)[0]
    entry, end = assign_stack(ins, ptrsize)
    end = (end + ptrsize - 1) // ptrsize * ptrsize
    return entry, assign_stack(outs, end)[0]


def positional_params(
    arch: str, ptrsize: int, register_abi: bool, args_size: int, arginfo: ArgInfo | None
) -> list[Param]:
    """Arguments of a function without DWARF. `_func.args` gives the exact number of words
    (the register spill area plus stack arguments), so none is invented; ArgInfo groups them
    (a string or struct is one argument of several words) when its offsets match Go's
    assignment of integer words, which proves where each word is."""
    words = min(POSITIONAL_ARGS, max(0, args_size) // ptrsize)
    word = Part("int", ptrsize)
    flat = [Param(f"arg{i}", "", "int", ptrsize, ptrsize, False, (word,)) for i in range(words)]
    if arginfo is None or not register_abi:
        return flat
    grouped = _grouped(arch, ptrsize, args_size, arginfo)
    return flat if grouped is None else grouped


def _grouped(arch: str, ptrsize: int, args_size: int, info: ArgInfo) -> list[Param] | None:
    groups: list[list[ArgWord | None]] = [list(g) for g in info.args]
    covered = sum(len(g) for g in groups)
    total = max(0, args_size) // ptrsize
    if info.truncated:  # the runtime lists 10 components: the rest are single words
        groups += [[None] for _ in range(max(0, total - covered))]
    if any(w is not None and w.size not in (1, 2, 4, 8) for g in groups for w in g):
        return None
    params = []
    for i, g in enumerate(groups[:POSITIONAL_ARGS]):
        parts = tuple(Part("int", ptrsize if w is None else w.size) for w in g)
        kind = "int" if len(parts) == 1 else "words"
        params.append(Param(f"arg{i}", "", kind, ptrsize * len(parts), ptrsize, False, parts))
    if not _offsets_match(arch, ptrsize, params, groups):
        return None
    return params


def _offsets_match(arch: str, ptrsize: int, params: list[Param], groups: list[list]) -> bool:
    """Go's register assignment (every word an integer) predicts each word's offset in the
    argument area: stack-assigned values from 0, then the spill area of register-assigned
    ones, each laid out as in memory. Every offset ArgInfo states must agree."""
    regs = len(INT_REGS[arch])
    used = 0
    stack: list[tuple[int, list]] = []  # (param index, parts) in each area, in order
    spill: list[tuple[int, list]] = []
    for i, p in enumerate(params):
        fits = used + len(p.parts) <= regs
        (spill if fits else stack).append((i, list(p.parts)))
        used += len(p.parts) if fits else 0
    expected: dict[tuple[int, int], int] = {}
    off = 0
    for area in (stack, spill):  # the spill area follows the stack-assigned values
        for i, parts in area:
            off = _align(off, max(part.size for part in parts) if parts else 1)
            for j, part in enumerate(parts):
                off = _align(off, part.size)
                expected[(i, j)] = off
                off += part.size
            if area is stack:  # each stack-assigned value takes whole words
                off = _align(off, ptrsize)
    return all(
        w is None or expected.get((i, j)) == w.offset for i, g in enumerate(groups) for j, w in enumerate(g)
    )


def _align(off: int, size: int) -> int:
    return (off + size - 1) // size * size


def _register_name(arch: str, reg: str) -> str:
    return f"r{reg}" if arch == "amd64" and len(reg) == 2 else reg  # ax -> rax, as Go engineers read
