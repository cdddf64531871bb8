"""Fetch args as uprobe_events takes them: the whitelist every arg passes before it is
written, a user's own (`--fetch`), and the goroutine's g and id."""

from __future__ import annotations

import re

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary.abi import G_REG
from goprobe_tui.values.kinds import FetchPlan, ValueSpec

_DEREF = r"(?:[+-](?:0x)?[0-9a-f]+\()+%[a-z0-9]{1,6}\)+"
_FETCH_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]{0,31}=(?:"
    r"(?:%[a-z0-9]{1,6}|@\+?(?:0x)?[0-9a-f]+|" + _DEREF + r"):[suxSUX](?:8|16|32|64)(?:\[\d{1,2}\])?"
    r"|" + _DEREF + r":string)$"  # a string is read behind a pointer, never from a register
)


# The thread's name as the probe fires: exact, where /proc is gone by the time a record is
# decoded and the kernel's saved_cmdlines may still hold an earlier process with the same id.
COMM_FETCH = "comm=$comm"


def valid_fetch_arg(arg: str) -> bool:
    """Whitelist grammar for a fetch arg, checked before anything reaches uprobe_events."""
    if arg == COMM_FETCH:
        return True
    return len(arg) <= 96 and bool(_FETCH_RE.match(arg)) and not arg.startswith("common_")


def goroutine_fetch(arch: str, register_abi: bool, goid_offset: int | None = None) -> tuple[str, ...]:
    """The g pointer (entries and returns pair per goroutine, not per thread) and, where its
    offset is known, the goroutine id behind it."""
    if not (arch == "arm64" or (arch == "amd64" and register_abi)):
        return ()  # ABI0 on amd64 keeps g in thread-local storage: out of a probe's reach
    reg = G_REG[arch]
    goid = (f"goid=+{goid_offset}(%{reg}):u64",) if goid_offset is not None else ()
    return (f"g=%{reg}:x64", *goid)


def caller_fetch(arch: str) -> tuple[str, ...]:
    """The return address, at a function's entry and at its RETs: the direct caller, which a
    frame-pointer walk misses there (the frame pointer is still, or again, the caller's)."""
    if arch == "amd64":
        return ("ra=+0(%sp):u64",)
    return ("ra=%x30:u64",) if arch == "arm64" else ()


# The kernel takes a fetch argument of 63 characters at most: `s12=+8(+0(…(%bp)…)):x64`
# nests 11 dereferences in 59, so a walk in fetch args reaches 12 frames above the caller.
MAX_WALK = 12
FRAME_POINTER = {"amd64": "%bp", "arm64": "%x29"}


def stack_walk_fetch(arch: str, frames: int) -> tuple[str, ...]:
    """A frame-pointer walk in the probe itself (--stack-depth): frame k's return address is
    +8 past the k-th saved frame pointer. At a function's entry and its RETs the frame pointer
    is the caller's, so with `ra` (the direct caller) these give frames+1 callers. Go's arm64
    frames are laid out alike around x29 (runtime: fpTracebackPCs)."""
    if arch not in FRAME_POINTER or frames <= 0:
        return ()
    out, base = [], FRAME_POINTER[arch]
    for k in range(1, min(frames, MAX_WALK) + 1):
        out.append(f"s{k}=+8({base}):x64")
        base = f"+0({base})"
    return tuple(out)


def depth_fetch(arch: str) -> tuple[str, ...]:
    """The goroutine's stack top (g.stack.hi) and the stack pointer: their difference is a
    call's depth, the same at its entry and at its RET, and unchanged when the stack moves."""
    return (f"gsh=+8(%{G_REG[arch]}):u64", "gsp=%sp:u64")


def explicit_plan(spec: str) -> FetchPlan:
    """A user's own fetch args: 'name=%ax:s64,other=+8(%sp):u64'. Raises ValueError if unsafe."""
    args, values = [], []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        if not valid_fetch_arg(item):
            raise BadInput(f"fetch arg {item!r} is not of the form NAME=%REG|+OFF(%REG)|@+OFF:TYPE")
        name = item.split("=", 1)[0]
        args.append(item)
        values.append(ValueSpec(name, "raw", (name,)))
    return FetchPlan(tuple(args), tuple(values))
