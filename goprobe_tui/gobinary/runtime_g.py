"""Where a Go binary keeps its goroutines, for reading them from outside the process: the
address of `runtime.allgs`, the layout of `runtime.g`, and the runtime's own names for
goroutine states and wait reasons.

Taken from the binary itself (its DWARF and symbol table); a binary that does not say is
refused with the reason, never guessed.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.disasm import disassemble
from goprobe_tui.gobinary.runtime_tables import G_OFFSETS, M_OFFSETS, WAIT_REASONS

# runtime/runtime2.go: _Gidle .. _Gdeadextra (Go 1.26 added _Gleaked and _Gdeadextra, a dead
# g kept for cgo callbacks); the words are traceback.go's gStatusStrings. _Gscan (0x1000) is
# or-ed in while the GC scans.
STATUS_NAMES = (
    "idle",
    "runnable",
    "running",
    "syscall",
    "waiting",
    "moribund_unused",
    "dead",
    "enqueue_unused",
    "copystack",
    "preempted",
    "leaked",
    "waiting for cgo callback",
)
SCAN_BIT = 0x1000
WAITING, DEAD, SYSCALL, RUNNING, DEAD_EXTRA = 4, 6, 3, 2, 11
MAX_WAIT_REASONS = 256


@dataclass(frozen=True)
class GLayout:
    """Offsets in runtime.g of what a dump shows."""

    goid: int
    status: int  # atomicstatus, a uint32
    wait_reason: int  # a uint8
    wait_since: int | None  # nanotime() when it parked (Go's "N minutes"), where present
    gopc: int
    startpc: int
    parent_goid: int | None  # Go 1.21+
    sched_pc: int
    sched_sp: int
    sched_lr: int  # the link register where the frame has not saved it yet (arm64)
    m: int | None  # g.m, the M (thread) running it; None: not known for this binary
    m_procid: int | None  # m.procid, the thread's id (a tid on Linux)
    m_id: int | None  # m.id, Go's own number for the M ("m=3" in its dump)
    size: int  # bytes read per g: up to the last field used


class LayoutUnknown(Exception):
    """Why this binary's goroutines cannot be read (a sentence)."""


def g_layout(binary: GoBinary) -> GLayout:
    """From the binary's DWARF, else the table for its Go version (runtime_tables.py)."""
    if binary.dwarf.available:
        return dwarf_g_layout(binary)
    version = binary.buildinfo.version_tuple()
    row = G_OFFSETS.get(version)
    if row is None:
        raise LayoutUnknown(
            f"no DWARF, and runtime.g's layout for {binary.goversion} is not in the verified table "
            f"(Go {', '.join(f'{a}.{b}' for a, b in G_OFFSETS)})"
        )
    goid, status, reason, since, gopc, startpc, parent, pc, sp, lr = row
    m, procid, m_id = M_OFFSETS.get(version, (None, None, None))
    offsets = [v for v in (*row, m) if v is not None]
    return GLayout(
        goid, status, reason, since, gopc, startpc, parent, pc, sp, lr, m, procid, m_id, max(offsets) + 8
    )


def dwarf_g_layout(binary: GoBinary) -> GLayout:
    d = binary.dwarf
    if not d.available:
        raise LayoutUnknown("the binary has no DWARF: runtime.g's layout is not known for it")

    def member(type_name: str, name: str) -> int | None:
        return d.member_offset("runtime", type_name, name)

    found = {
        name: member("runtime.g", name)
        for name in (
            "goid",
            "atomicstatus",
            "waitreason",
            "waitsince",
            "gopc",
            "startpc",
            "parentGoid",
            "sched",
            "m",
        )
    }
    pc, sp = member("runtime.gobuf", "pc"), member("runtime.gobuf", "sp")
    lr = member("runtime.gobuf", "lr")
    need = ("goid", "atomicstatus", "waitreason", "gopc", "startpc", "sched")
    missing = [n for n in need if found[n] is None] + [
        n for n, v in (("gobuf.pc", pc), ("gobuf.sp", sp), ("gobuf.lr", lr)) if v is None
    ]
    if missing:
        raise LayoutUnknown(f"runtime.g of this binary lacks {', '.join(missing)} in its DWARF")
    sched = found["sched"]
    assert sched is not None and pc is not None and sp is not None and lr is not None
    offsets = [v for v in found.values() if v is not None] + [sched + pc, sched + sp, sched + lr]
    return GLayout(
        goid=found["goid"] or 0,
        status=found["atomicstatus"] or 0,
        wait_reason=found["waitreason"] or 0,
        wait_since=found["waitsince"],
        gopc=found["gopc"] or 0,
        startpc=found["startpc"] or 0,
        parent_goid=found["parentGoid"],
        sched_pc=sched + pc,
        sched_sp=sched + sp,
        sched_lr=sched + lr,
        m=found["m"],
        m_procid=member("runtime.m", "procid"),
        m_id=member("runtime.m", "id"),
        size=max(offsets) + 8,
    )


def allgs_address(binary: GoBinary) -> int:
    """The link-time address of runtime.allgs, a []*g (pointer, length, capacity): from the
    symbol table, else from the code of runtime.allgadd (stripped binaries)."""
    found = binary.elf.symbols(["runtime.allgs"])
    if "runtime.allgs" in found:
        return found["runtime.allgs"][0]
    return allgs_from_code(binary)


_RIP_MEMORY = re.compile(r"qword ptr \[rip ([+-]) (0x[0-9a-f]+)\]")
_ADRP = re.compile(r"(x\d+), #(0x[0-9a-f]+|\d+)$")
_ADD_IMM = re.compile(r"(x\d+), (x\d+), #(0x[0-9a-f]+|\d+)$")
_BASE_IMM = re.compile(r"\[(x\d+)(?:, #(-?0x[0-9a-f]+|-?\d+))?\]")
_ARM64_MEMORY = ("ldr", "str", "ldur", "stur", "ldp", "stp", "ldar", "stlr")
# instructions whose first operand is not a register they write (stores and b.cond aside)
_ARM64_NO_WRITE = frozenset(
    {"b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz", "cmp", "cmn", "tst", "nop", "hint"}
)


def allgs_from_code(binary: GoBinary) -> int:
    """runtime.allgadd appends to allgs: it loads and stores the slice's three words, at A,
    A+8 and A+16 (amd64: RIP-relative; arm64: ADRP + ADD or an offset). The lowest A whose
    three words it all touches is the slice."""
    fn = binary.find("runtime.allgadd")
    if fn is None:
        raise LayoutUnknown("runtime.allgadd is not in the binary: runtime.allgs cannot be found")
    if binary.arch == "amd64":
        touched = _touched_amd64(binary, fn)
    elif binary.arch == "arm64":
        touched = _touched_arm64(binary, fn)
    else:
        raise LayoutUnknown(f"runtime.allgs is not looked for on {binary.arch}")
    slices = sorted(a for a in touched if a + 8 in touched and a + 16 in touched)
    if not slices:
        raise LayoutUnknown("runtime.allgadd does not read a slice header: runtime.allgs not found")
    return slices[0]


def _touched_amd64(binary: GoBinary, fn: Function) -> set[int]:
    """Data addresses loaded or stored RIP-relative (a LEA only takes an address)."""
    insns = disassemble(binary.arch, binary.code(fn), fn.entry)
    touched = set()
    for i in range(len(insns)):
        m = _RIP_MEMORY.search(insns.operands(i))
        if m and insns.mnemonic(i) != "lea":
            delta = int(m.group(2), 16)
            end = int(insns.address[i]) + int(insns.size[i])
            touched.add(end + delta if m.group(1) == "+" else end - delta)
    return touched


def _touched_arm64(binary: GoBinary, fn: Function) -> set[int]:
    """Data addresses loaded or stored through a register an ADRP (plus an ADD) has just set:
    Go reaches a global as `adrp x27, page; add x27, x27, #off; ldr x1, [x27]`, or with the
    offset in the load. A register written by anything else is forgotten."""
    insns = disassemble(binary.arch, binary.code(fn), fn.entry)
    known: dict[str, int] = {}
    touched = set()
    for i in range(len(insns)):
        mnemonic, ops = insns.mnemonic(i), insns.operands(i)
        if mnemonic == "adrp" and (m := _ADRP.match(ops)):
            known[m.group(1)] = int(m.group(2), 0)
            continue
        if mnemonic == "add" and (m := _ADD_IMM.match(ops)) and m.group(2) in known:
            known[m.group(1)] = known[m.group(2)] + int(m.group(3), 0)
            continue
        if mnemonic in _ARM64_MEMORY and (m := _BASE_IMM.search(ops)) and m.group(1) in known:
            touched.add(known[m.group(1)] + int(m.group(2) or "0", 0))
            if "!" in ops or "], #" in ops:  # a written-back base is no longer the address
                known.pop(m.group(1), None)
        if not (mnemonic in _ARM64_NO_WRITE or mnemonic.startswith(("st", "b."))):
            known.pop(ops.split(",", 1)[0].strip(), None)  # its first operand was written
    return touched


def wait_reason_names(binary: GoBinary) -> list[str]:
    """runtime.waitReasonStrings, read from the binary's own data: the words Go prints."""
    found = binary.elf.symbols(["runtime.waitReasonStrings"])
    if "runtime.waitReasonStrings" not in found:
        known = WAIT_REASONS.get(binary.buildinfo.version_tuple())
        if known is None:
            raise LayoutUnknown(
                f"runtime.waitReasonStrings is not in the symbol table, and {binary.goversion}'s "
                "wait reasons are not in the verified table"
            )
        return list(known)
    addr, size = found["runtime.waitReasonStrings"]
    ptr = binary.elf.ptrsize
    count = min(size // (2 * ptr), MAX_WAIT_REASONS)
    raw = binary.elf.read_linked(addr, count * 2 * ptr)  # a PIE's pointers: relocation addends
    if raw is None:
        raise LayoutUnknown("runtime.waitReasonStrings is not in the file (it is written at run time)")
    fmt = "<" + ("QQ" if ptr == 8 else "II") * count
    words = struct.unpack(fmt, raw)
    names: list[str] = []
    for i in range(count):
        data, length = words[2 * i], words[2 * i + 1]
        text = binary.elf.read_linked(data, length) if 0 < length < 256 else b""
        names.append((text or b"").decode("utf-8", "replace"))
    return names


def status_name(status: int) -> str:
    base = status & ~SCAN_BIT
    return STATUS_NAMES[base] if base < len(STATUS_NAMES) else f"status {base}"
