"""Where the return address of the function holding a pc is, read the same way at every pc.

An inlined call's probe reports who called the function it was inlined into: that return
address sits `pcsp` bytes above SP, a different number at each place, so each place read it
under a name of its own (`ra72`, `ra120`, ...) and an event packing thousands of places
carried 32 of them in every record (the kernel parses and compares each, 1.4 s for strings.*
on hugo, and each hit reads them all). Once an amd64 function has set up its frame pointer,
the return address is at 8(BP) wherever it is: one name for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.disasm import disassemble

PROLOGUE_BYTES = 96  # the stack check, the frame's allocation and BP's set-up fit
_SETS_BP = re.compile(r"^rbp, (rsp|\[rsp \+ (0x[0-9a-f]+|\d+)\])$")
BP_FETCH = "rabp=+8(%bp):u64"


def frame_set_at(binary: GoBinary, fn: Function) -> int | None:
    """The address after which BP holds this function's frame (RA at 8(BP)), or None when
    the prologue does not show it: `push rbp; mov rbp, rsp` or `mov [rsp+N], rbp;
    lea rbp, [rsp+N]`, BP saved just below the return address either way."""
    if binary.arch != "amd64":
        return None
    code = binary.code(fn)[:PROLOGUE_BYTES]
    insns = disassemble("amd64", code, fn.entry)
    saved = False
    for i in range(len(insns)):
        mnemonic, ops = insns.mnemonic(i), insns.operands(i)
        if (mnemonic == "push" and ops == "rbp") or (
            mnemonic == "mov" and ops.endswith(", rbp") and ops.startswith("qword ptr [rsp")
        ):
            saved = True
        elif mnemonic in ("mov", "lea") and _SETS_BP.match(ops):
            return int(insns.address[i]) + int(insns.size[i]) if saved else None
        elif ops.startswith("rbp") or mnemonic in ("call", "ret", "jmp"):
            return None  # BP used otherwise, or the prologue is over
    return None


def return_address_fetch(
    binary: GoBinary, holder: Function, pc: int, sp: int | None, ready_at: Callable[[int], int | None]
) -> tuple[str, ...]:
    """The fetch arg that reads the return address of `holder` at `pc`, where it has pushed
    `sp` bytes (pcsp); () where unknown. ready_at(function index): frame_set_at of that
    function, as the caller keeps it across calls."""
    if sp is None or binary.arch != "amd64":
        return ()
    if sp > 8:
        ready = ready_at(holder.index)
        if ready is not None and pc >= ready:
            return (BP_FETCH,)
    return (f"ra{sp}=+{sp}(%sp):u64",)
