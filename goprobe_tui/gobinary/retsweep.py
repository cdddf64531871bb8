"""Find probe sites inside a function with a real disassembler (capstone).

- RET instructions: where return probes go (uretprobes crash Go programs).
- The first instruction after the stack-growth check: an entry probe there fires once per call.
  At the true entry it fires twice when the prologue calls morestack (the function restarts).
Every site returned is the start of a decoded instruction inside [entry, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import capstone

from goprobe_tui.gobinary.binary import Function, GoBinary
from goprobe_tui.gobinary.errors import BinaryError

_ARCH = {
    "amd64": (capstone.CS_ARCH_X86, capstone.CS_MODE_64),
    "arm64": (capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM),
}
_PROLOGUE_SCAN = 6  # instructions: the stack check is always at the very top


@dataclass(frozen=True)
class ProbeSites:
    entry: int  # vaddr for the entry probe (post-prologue when there is a stack check)
    returns: tuple[int, ...]  # vaddrs of RET instructions; empty for tail-jump functions
    complete: bool  # the whole body decoded without gaps


@cache
def _disassembler(arch: str) -> capstone.Cs:
    """One per architecture: building a Cs runs capstone code that swallows exceptions (a
    signal handler raising inside it would be lost), and it is not cheap."""
    if arch not in _ARCH:
        raise BinaryError(f"no disassembler for {arch}: return probes need amd64 or arm64")
    md = capstone.Cs(*_ARCH[arch])
    md.skipdata = False
    return md


def probe_sites(binary: GoBinary, fn: Function) -> ProbeSites:
    code = binary.code(fn)
    md = _disassembler(binary.arch)
    insns = list(md.disasm_lite(code, fn.entry))
    decoded = sum(size for _, size, _, _ in insns)
    body = _trim_padding(code, binary.arch)
    rets = tuple(addr for addr, _size, mnemonic, _ in insns if _is_ret(mnemonic, binary.arch))
    return ProbeSites(_body_start(insns, fn, binary.arch), rets, decoded >= body)


def _trim_padding(code: bytes, arch: str) -> int:
    """Length without trailing INT3/zero padding that capstone may refuse to decode."""
    pad = b"\xcc" if arch == "amd64" else b"\x00"
    n = len(code)
    while n and code[n - 1 : n] == pad:
        n -= 1
    if arch == "arm64":
        n = (n + 3) & ~3
    return n


def _is_ret(mnemonic: str, arch: str) -> bool:
    if arch == "amd64":
        return mnemonic in ("ret", "retq")
    return mnemonic == "ret"


def _body_start(insns, fn: Function, arch: str) -> int:
    """The instruction after `cmp sp, g.stackguard; jbe morestack`, if the function has one."""
    head = insns[:_PROLOGUE_SCAN]
    for i, (_addr, _size, mnemonic, ops) in enumerate(head[:-1]):
        nxt_addr, nxt_size, nxt_mnemonic, nxt_ops = head[i + 1]
        if arch == "amd64":
            checks = mnemonic == "cmp" and ("rsp" in ops or "r12" in ops) and "+ 0x10]" in ops
            branch = nxt_mnemonic in ("jbe", "jb")
        else:
            checks = mnemonic == "cmp" and "x16" in ops  # x16 = g.stackguard0
            branch = nxt_mnemonic in ("b.ls", "b.lo")
        if checks and branch and _target(nxt_ops) > nxt_addr:
            after = nxt_addr + nxt_size
            if fn.entry < after < fn.end:
                return after
    return fn.entry


def _target(ops: str) -> int:
    try:
        return int(ops.strip().lstrip("#"), 16)
    except ValueError:
        return -1
