"""Turn Go parameters into tracefs fetch args, by Go's register ABI or the stack ABI0.

Kernel field names are generated (v0_0, v0_1, ...), never taken from the binary: DWARF
names are untrusted and only ever displayed. See Go's src/cmd/compile/abi-internal.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goprobe_tui.gobinary.dwarfparams import Param, Part

INT_REGS = {
    "amd64": ("ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"),
    "arm64": tuple(f"x{i}" for i in range(16)),
}
FLOAT_REGS = {"amd64": 15, "arm64": 16}
G_REG = {"amd64": "r14", "arm64": "x28"}  # the current goroutine, for entry/return pairing
STRING_BYTES = 32  # how much of a string argument to fetch; tracefs arrays max out at 64
POSITIONAL_ARGS = 6
POSITIONAL_RETS = 2

_FETCH_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]{0,31}="
    r"(?:%[a-z0-9]{1,6}|@\+?(?:0x)?[0-9a-f]+|(?:[+-](?:0x)?[0-9a-f]+\()+%[a-z0-9]{1,6}\)+)"
    r":(?:[suxSUX](?:8|16|32|64))(?:\[\d{1,2}\])?$"
)


def valid_fetch_arg(arg: str) -> bool:
    """Whitelist grammar for a fetch arg, checked before anything reaches uprobe_events."""
    return len(arg) <= 96 and bool(_FETCH_RE.match(arg)) and not arg.startswith("common_")


@dataclass(frozen=True)
class ValueSpec:
    name: str  # display name (from DWARF, or argN/retN)
    kind: str  # int uint bool ptr string slice iface struct raw unavailable
    keys: tuple[str, ...]  # kernel field names for its pieces
    type_name: str = ""


@dataclass(frozen=True)
class FetchPlan:
    args: tuple[str, ...]  # "key=expr:type" for uprobe_events
    values: tuple[ValueSpec, ...]


def uses_register_abi(arch: str, goversion: tuple[int, int], table_version: str, name: str) -> bool:
    if name.endswith(".abi0"):
        return False  # assembly functions keep the stack ABI
    if arch == "amd64":
        return goversion >= (1, 17) or (goversion == (0, 0) and table_version in ("1.18", "1.20"))
    if arch == "arm64":
        return goversion >= (1, 18) or (goversion == (0, 0) and table_version in ("1.18", "1.20"))
    return False


def _kernel_type(part: Part, ptrsize: int) -> str:
    bits = 8 * part.size
    if part.kind == "int":
        return f"s{bits}"
    if part.kind in ("uint", "bool"):
        return f"u{bits}"
    return f"x{8 * ptrsize}"  # pointers


class _Builder:
    def __init__(self, ptrsize: int, prefix: str) -> None:
        self.ptrsize, self.prefix = ptrsize, prefix
        self.args: list[str] = []
        self.values: list[ValueSpec] = []

    def add(self, p: Param, locs: list[str]) -> None:
        """locs: one fetch expression per int part (register or stack slot)."""
        i = len(self.values)
        keys: list[str] = []
        int_parts = [part for part in p.parts if part.kind != "float"]
        for k, (part, loc) in enumerate(zip(int_parts, locs, strict=True)):
            key = f"{self.prefix}{i}_{k}"
            keys.append(key)
            self.args.append(f"{key}={loc}:{_kernel_type(part, self.ptrsize)}")
        if p.kind == "string" and locs:
            key = f"{self.prefix}{i}_s"
            keys.append(key)
            self.args.append(f"{key}=+0({locs[0]}):u8[{STRING_BYTES}]")
        kind = p.kind if not any(part.kind == "float" for part in p.parts) else "unavailable"
        self.values.append(ValueSpec(p.name, kind, tuple(keys), p.type_name))

    def unavailable(self, p: Param) -> None:
        self.values.append(ValueSpec(p.name, "unavailable", (), p.type_name))

    def plan(self) -> FetchPlan:
        return FetchPlan(tuple(self.args), tuple(self.values))


def plan_register(arch: str, ptrsize: int, params: list[Param], prefix: str) -> FetchPlan:
    """Assign params to registers in order; values that don't fit go to the stack (not fetched)."""
    regs = INT_REGS[arch]
    b = _Builder(ptrsize, prefix)
    used_int = used_float = 0
    for p in params:
        nint = sum(1 for part in p.parts if part.kind != "float")
        nfloat = len(p.parts) - nint
        if p.size and not p.parts:
            b.unavailable(p)  # on the stack; its offset depends on the frame layout
            continue
        if used_int + nint > len(regs) or used_float + nfloat > FLOAT_REGS[arch]:
            b.unavailable(p)
            continue
        b.add(p, [f"%{r}" for r in regs[used_int : used_int + nint]])
        used_int += nint
        used_float += nfloat  # tracefs cannot read vector registers: shown as unavailable
    return b.plan()


def plan_stack(arch: str, ptrsize: int, params: list[Param], prefix: str,
               start: int) -> tuple[FetchPlan, int]:
    """ABI0: every value in memory above the return address. Returns (plan, end offset)."""
    b = _Builder(ptrsize, prefix)
    off = start
    for p in params:
        off = (off + p.align - 1) // p.align * p.align
        if p.size and not p.parts:
            b.unavailable(p)
        else:
            locs, poff = [], off
            for part in (q for q in p.parts if q.kind != "float"):
                poff = (poff + part.size - 1) // part.size * part.size
                locs.append(f"+{poff}(%sp)")
                poff += part.size
            b.add(p, locs)
        off += p.size
    return b.plan(), off


def plan_function(arch: str, ptrsize: int, register_abi: bool, params: list[Param] | None,
                  args_size: int) -> tuple[FetchPlan, FetchPlan]:
    """(entry plan, return plan). Without DWARF params: positional registers or stack words."""
    if params is None:
        words = max(1, min(POSITIONAL_ARGS, args_size // ptrsize if args_size > 0 else 1))
        word = Part("int", ptrsize)
        ins = [Param(f"arg{i}", "", "int", ptrsize, ptrsize, False, (word,)) for i in range(words)]
        outs = [Param(f"ret{i}", "", "int", ptrsize, ptrsize, True, (word,))
                for i in range(POSITIONAL_RETS)]
        if register_abi:
            return plan_register(arch, ptrsize, ins, "a"), plan_register(arch, ptrsize, outs, "r")
        entry, _ = plan_stack(arch, ptrsize, ins, "a", ptrsize)
        return entry, FetchPlan((), ())  # where ABI0 results live needs the arg sizes
    ins = [p for p in params if not p.result]
    outs = [p for p in params if p.result]
    if register_abi:
        return plan_register(arch, ptrsize, ins, "a"), plan_register(arch, ptrsize, outs, "r")
    entry, end = plan_stack(arch, ptrsize, ins, "a", ptrsize)
    end = (end + ptrsize - 1) // ptrsize * ptrsize
    ret, _ = plan_stack(arch, ptrsize, outs, "r", end)
    return entry, ret


def goroutine_fetch(arch: str, register_abi: bool) -> tuple[str, ...]:
    """Fetch the g pointer so entries and returns pair per goroutine (not per thread)."""
    if arch == "arm64" or (arch == "amd64" and register_abi):
        return (f"g=%{G_REG[arch]}:x64",)
    return ()


def explicit_plan(spec: str) -> FetchPlan:
    """A user's own fetch args: 'name=%ax:s64,other=+8(%sp):u64'. Raises ValueError if unsafe."""
    args, values = [], []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        if not valid_fetch_arg(item):
            raise ValueError(f"fetch arg {item!r} is not of the form NAME=%REG|+OFF(%REG)|@+OFF:TYPE")
        name = item.split("=", 1)[0]
        args.append(item)
        values.append(ValueSpec(name, "raw", (name,)))
    return FetchPlan(tuple(args), tuple(values))
