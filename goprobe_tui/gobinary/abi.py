"""Turn Go parameters into tracefs fetch args, by Go's register ABI or the stack ABI0.

Kernel field names are generated (v0_0, v0_1, ...), never taken from the binary: DWARF
names are untrusted and only ever displayed. See Go's src/cmd/compile/abi-internal.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goprobe_tui.gobinary.dwarfparams import FieldPath, Param, Part

INT_REGS = {
    "amd64": ("ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"),
    "arm64": tuple(f"x{i}" for i in range(16)),
}
FLOAT_REGS = {"amd64": 15, "arm64": 16}
G_REG = {"amd64": "r14", "arm64": "x28"}  # the current goroutine, for entry/return pairing
STRING_BYTES = 32  # how much of a string argument to fetch; tracefs arrays max out at 64
IFACE_WORDS = 4  # words fetched behind an interface's data pointer
POINTEE_FIELDS, POINTEE_BYTES = 8, 64  # how much of a struct behind a pointer is read
SLICE_BYTES = 32  # how much of a slice's backing array is read
POSITIONAL_ARGS = 16  # argument words shown without DWARF (a record stays small)
RESULT_REGISTERS = 2  # without DWARF the results are unknown: the first result registers, raw

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
    sizes: tuple[int, ...] = ()  # byte size of each integer piece (a register is fetched whole)
    fields: tuple[ValueSpec, ...] = ()  # a struct's fields, each with its own keys
    # Pointers the value was read through: if one is nil the read faulted (and the kernel
    # wrote zeros), so the value is not shown.
    guards: tuple[str, ...] = ()


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


def _location_key(loc: str) -> str:
    """Field names come from the location, not the parameter: `%ax` -> ax, `+8(%sp)` -> sp8.
    Two functions that read the same places then have identical fetch args, so their probes
    can share one kernel event (one disable wait instead of one per function)."""
    if loc.startswith("%"):
        return loc[1:]
    m = re.fullmatch(r"\+(\d+)\(%sp\)", loc)
    if not m:
        raise ValueError(f"unexpected location {loc}")
    return f"sp{m.group(1)}"


class _Builder:
    def __init__(self, ptrsize: int, fields: tuple[FieldPath, ...] = ()) -> None:
        self.ptrsize = ptrsize
        self.fields = fields  # --field selectors, read after their root parameter
        self.fetch: dict[str, str] = {}
        self.values: list[ValueSpec] = []
        self._locs: dict[str, str] = {}

    def _behind(self, key: str, loc: str) -> list[str]:
        """An interface's dynamic type is unknown at probe time: fetch the first words behind
        its data pointer, and the bytes behind words 0 and 2 (string data of the first fields),
        to decode once the type is read from the binary."""
        out = []
        for i in range(IFACE_WORDS):
            out.append(f"{key}_d{i}")
            self.fetch[out[-1]] = f"{out[-1]}=+{8 * i}({loc}):x64"
        for i in (0, 2):
            out.append(f"{key}_b{i}")
            self.fetch[out[-1]] = f"{out[-1]}=+0(+{8 * i}({loc})):u8[{STRING_BYTES}]"
        return out

    def add(self, p: Param, locs: list[str]) -> None:
        """locs: one fetch expression per int part (register or stack slot), in order."""
        self.values.append(self._spec(p, iter(locs)))
        for i, path in enumerate(self.fields):
            if path.root == p.name and p.kind == "ptr" and locs:
                self.values.append(self._field(path, locs[0], i))

    def _field(self, path: FieldPath, loc: str, index: int) -> ValueSpec:
        """A selector chain as nested dereferences: r.URL.Path -> +PATH(+URL(%ax))."""
        base, key = loc, f"fld{index}"
        guards = [_location_key(loc)]
        for j, (_deref, off) in enumerate(path.steps[:-1]):
            base = f"+{off}({base})"
            guards.append(f"{key}_p{j}")
            self.fetch[guards[-1]] = f"{guards[-1]}={base}:x64"
        off, leaf = path.steps[-1][1], path.leaf
        if leaf.kind in ("int", "uint", "bool", "ptr") and leaf.size in (1, 2, 4, 8):
            self.fetch[key] = f"{key}=+{off}({base}):x{8 * leaf.size}"
            return ValueSpec(path.expr, leaf.kind, (key,), leaf.type_name, (leaf.size,),
                             guards=tuple(guards))
        if leaf.kind == "string":
            n, s = f"{key}_n", f"{key}_s"
            self.fetch[key] = f"{key}=+{off}({base}):x64"
            self.fetch[n] = f"{n}=+{off + 8}({base}):x64"
            self.fetch[s] = f"{s}=+0(+{off}({base})):u8[{STRING_BYTES}]"
            return ValueSpec(path.expr, "string", (key, n, s), leaf.type_name, (8, 8),
                             guards=tuple(guards))
        raise ValueError(f"--field {path.expr}: a {leaf.type_name} cannot be shown "
                         "(ints, bools, pointers and strings can)")

    def _spec(self, p: Param, locs) -> ValueSpec:
        if p.members and p.kind == "struct":  # each field decodes from its own pieces
            fields = tuple(self._spec(m, locs) for m in p.members)
            return ValueSpec(p.name, "struct", tuple(k for f in fields for k in f.keys),
                             p.type_name, (), fields)
        keys: list[str] = []
        int_parts = [part for part in p.parts if part.kind != "float"]
        for part in int_parts:
            loc = next(locs)
            key = _location_key(loc)
            keys.append(key)
            # registers are read whole; a stack slot exactly (its neighbour may be unmapped)
            bits = 8 * (self.ptrsize if loc.startswith("%") else part.size)
            self.fetch[key] = f"{key}={loc}:x{bits}"
            self._locs[key] = loc
            if p.kind == "string" and len(keys) == 1:
                self.fetch[f"{key}_s"] = f"{key}_s=+0({loc}):u8[{STRING_BYTES}]"
        if p.kind == "string" and keys:
            keys.append(f"{keys[0]}_s")
        if p.kind == "iface" and len(keys) == 2 and self.ptrsize == 8:
            keys.extend(self._behind(keys[1], self._locs[keys[1]]))
        if p.kind == "map" and keys and self.ptrsize == 8:
            # a map's header starts with its element count (hmap.count; Map.used since 1.24)
            count = f"{keys[0]}_n"
            self.fetch[count] = f"{count}=+0({self._locs[keys[0]]}):x64"
            keys.append(count)
        fields: tuple[ValueSpec, ...] = ()
        if p.kind == "slice" and p.elem is not None and keys and self.ptrsize == 8:
            fields = self._elements(p.elem, keys[0], self._locs[keys[0]])
        if p.pointee is not None and keys and self.ptrsize == 8:
            fields = self._through(p.pointee, keys[0], self._locs[keys[0]])
        kind = p.kind if not any(part.kind == "float" for part in p.parts) else "float"
        return ValueSpec(p.name, kind, tuple(keys), p.type_name, tuple(part.size for part in int_parts),
                         fields)

    def _elements(self, elem: Param, base: str, loc: str) -> tuple[ValueSpec, ...]:
        """The first elements of a slice's backing array: its bytes, and for strings the bytes
        behind the first two; one spec saying how to read them."""
        if elem.kind not in ("int", "uint", "bool", "string") or elem.size not in (1, 2, 4, 8, 16):
            return ()
        keys = [f"{base}_e"]
        self.fetch[keys[0]] = f"{keys[0]}=+0({loc}):u8[{SLICE_BYTES}]"
        if elem.kind == "string":
            for i in (0, 1):
                keys.append(f"{base}_e{i}s")
                self.fetch[keys[-1]] = f"{keys[-1]}=+0(+{16 * i}({loc})):u8[{STRING_BYTES}]"
        return (ValueSpec("elements", elem.kind, tuple(keys), elem.type_name, (elem.size,)),)

    def _through(self, struct: Param, base: str, loc: str) -> tuple[ValueSpec, ...]:
        """The first fields of a struct behind a pointer, read in the same probe."""
        out = []
        for m in struct.members[:POINTEE_FIELDS]:
            key, off = f"{base}_f{m.offset}", m.offset
            if off + m.size > POINTEE_BYTES:
                out.append(ValueSpec(m.name, "elided", ()))
            elif m.kind in ("int", "uint", "bool", "ptr") and m.size in (1, 2, 4, 8):
                self.fetch[key] = f"{key}=+{off}({loc}):x{8 * m.size}"
                out.append(ValueSpec(m.name, m.kind, (key,), m.type_name, (m.size,)))
            elif m.kind == "string":
                n, s = f"{base}_f{off + 8}", f"{key}s"
                self.fetch[key] = f"{key}=+{off}({loc}):x64"
                self.fetch[n] = f"{n}=+{off + 8}({loc}):x64"
                self.fetch[s] = f"{s}=+0(+{off}({loc})):u8[{STRING_BYTES}]"
                out.append(ValueSpec(m.name, "string", (key, n, s), m.type_name, (8, 8)))
            else:
                out.append(ValueSpec(m.name, "elided", ()))
        return tuple(out)

    def pad_registers(self, regs: tuple[str, ...]) -> None:
        for r in regs:
            self.fetch.setdefault(r, f"{r}=%{r}:x{8 * self.ptrsize}")

    def unavailable(self, p: Param) -> None:
        self.values.append(ValueSpec(p.name, "unavailable", (), p.type_name))

    def plan(self) -> FetchPlan:
        return FetchPlan(tuple(self.fetch[k] for k in sorted(self.fetch, key=_fetch_order)),
                         tuple(self.values))


def _fetch_order(key: str) -> tuple[int, int, str]:
    """Deterministic field order, so equal sets give equal signatures: registers, stack, bytes."""
    if key.endswith("_s"):
        return (2, 0, key)
    if key.startswith("sp") and key[2:].isdigit():
        return (1, int(key[2:]), key)
    return (0, 0, key)


def _padded(used: int, available: int) -> int:
    """Registers to fetch for `used` live ones: few buckets, so most functions share events."""
    if used == 0:
        return 0
    return min(available, 3) if used <= 3 else available


def plan_register(arch: str, ptrsize: int, params: list[Param], stack_start: int | None = None,
                  fields: tuple[FieldPath, ...] = ()) -> tuple[FetchPlan, int]:
    """Go's register assignment: each value goes whole into the next free registers, or, if it
    does not fit (or cannot go in registers at all), whole onto the stack, in order, from
    stack_start above the return address. Returns (plan, end of the stack-assigned area)."""
    regs = INT_REGS[arch]
    b = _Builder(ptrsize, fields)
    used_int = used_float = 0
    off = ptrsize if stack_start is None else stack_start
    for p in params:
        nint = sum(1 for part in p.parts if part.kind != "float")
        nfloat = len(p.parts) - nint
        fits = (not p.size or p.parts) and (used_int + nint <= len(regs)
                                           and used_float + nfloat <= FLOAT_REGS[arch])
        if fits:
            b.add(p, [f"%{r}" for r in regs[used_int : used_int + nint]])
            used_int += nint
            used_float += nfloat  # tracefs cannot read vector registers: shown as unavailable
            continue
        off = (off + p.align - 1) // p.align * p.align
        if p.parts:
            b.add(p, _stack_slots(p, off))
        else:
            b.unavailable(p)  # a large struct or array: its words are not fetched
        off += p.size
    b.pad_registers(regs[:_padded(used_int, len(regs))])
    return b.plan(), (off + ptrsize - 1) // ptrsize * ptrsize


def _stack_slots(p: Param, off: int) -> list[str]:
    """A fetch location per int piece of a value laid out in memory at +off(%sp)."""
    locs = []
    for part in p.parts:
        off = (off + part.size - 1) // part.size * part.size
        if part.kind != "float":
            locs.append(f"+{off}(%sp)")
        off += part.size
    return locs


def plan_stack(arch: str, ptrsize: int, params: list[Param], start: int,
               fields: tuple[FieldPath, ...] = ()) -> tuple[FetchPlan, int]:
    """ABI0: every value in memory above the return address. Returns (plan, end offset)."""
    b = _Builder(ptrsize, fields)
    off = start
    for p in params:
        off = (off + p.align - 1) // p.align * p.align
        if p.size and not p.parts:
            b.unavailable(p)
        else:
            b.add(p, _stack_slots(p, off))
        off += p.size
    return b.plan(), off


def plan_function(arch: str, ptrsize: int, register_abi: bool, params: list[Param] | None,
                  args_size: int, fields: tuple[FieldPath, ...] = ()) -> tuple[FetchPlan, FetchPlan]:
    """(entry plan, return plan). Without DWARF params: positional registers or stack words."""
    if params is None:
        # _func.args: the argument words exactly (with the register ABI, their spill area plus
        # the stack-assigned ones), so none is invented; what they mean is unknown.
        words = min(POSITIONAL_ARGS, max(0, args_size) // ptrsize)
        word = Part("int", ptrsize)
        ins = [Param(f"arg{i}", "", "int", ptrsize, ptrsize, False, (word,)) for i in range(words)]
        if register_abi:
            regs = INT_REGS[arch][:RESULT_REGISTERS]
            outs = [Param(_register_name(arch, r), "", "register", ptrsize, ptrsize, True, (word,))
                    for r in regs]
            return plan_register(arch, ptrsize, ins)[0], plan_register(arch, ptrsize, outs)[0]
        entry, _ = plan_stack(arch, ptrsize, ins, ptrsize)
        return entry, FetchPlan((), ())  # where ABI0 results live needs the arg sizes
    ins = [p for p in params if not p.result]
    outs = [p for p in params if p.result]
    if register_abi:
        # At a RET, SP is back at the return address: stack results follow the stack args.
        entry, end = plan_register(arch, ptrsize, ins, fields=fields)
        return entry, plan_register(arch, ptrsize, outs, end)[0]
    entry, end = plan_stack(arch, ptrsize, ins, ptrsize, fields)
    end = (end + ptrsize - 1) // ptrsize * ptrsize
    ret, _ = plan_stack(arch, ptrsize, outs, end)
    return entry, ret


def _register_name(arch: str, reg: str) -> str:
    return f"r{reg}" if arch == "amd64" and len(reg) == 2 else reg  # ax -> rax, as Go engineers read


def goroutine_fetch(arch: str, register_abi: bool, goid_offset: int | None = None) -> tuple[str, ...]:
    """The g pointer (entries and returns pair per goroutine, not per thread) and, where its
    offset is known, the goroutine id behind it."""
    if not (arch == "arm64" or (arch == "amd64" and register_abi)):
        return ()  # ABI0 on amd64 keeps g in thread-local storage: out of a probe's reach
    reg = G_REG[arch]
    goid = (f"goid=+{goid_offset}(%{reg}):u64",) if goid_offset is not None else ()
    return (f"g=%{reg}:x64", *goid)


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
