"""Where a goroutine's id lives: runtime.g.goid, read through the g register at a probe.

DWARF gives the offset; a stripped binary falls back to offsets read from the DWARF of real
builds of the same Go version (64-bit). A version not in the table gets no goid, never a guess.
"""

from __future__ import annotations

from goprobe_tui.gobinary.binary import GoBinary

# (major, minor) -> offset of goid in runtime.g on 64-bit targets, read from DWARF of real
# builds with each toolchain (tests/test_values_kernel.py checks them against DWARF).
VERIFIED_GOID_OFFSETS = {(1, 19): 152, (1, 21): 152, (1, 24): 160, (1, 27): 152}


def goid_offset(binary: GoBinary) -> int | None:
    offset = binary.dwarf.member_offset("runtime", "runtime.g", "goid")
    if offset is not None:
        return offset
    if binary.elf.ptrsize != 8:
        return None
    return VERIFIED_GOID_OFFSETS.get(binary.buildinfo.version_tuple())
