"""The probes an attach of some functions plans, as text: one line per site (function, kind,
address, the inlined call it stands for). A digest of it per function is kept in
tests/golden/: planning made faster must place exactly the same probes."""

from __future__ import annotations

import hashlib

from goprobe_tui.engine.attach import Attacher
from goprobe_tui.engine.patterns import select
from goprobe_tui.gobinary import GoBinary


def planned_sites(
    binary: GoBinary, patterns: list[str], returns: bool = True, reads: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """{function: its sites' lines, sorted}; a function that cannot be planned: [why].
    reads: filled with each site's line and what its probe reads (its fetch args)."""
    attacher = Attacher(binary, session=None)  # planning writes nothing to the kernel
    out: dict[str, list[str]] = {}
    for fn in select(binary, patterns):
        try:
            plan = attacher._plan(fn, returns)
        except Exception as exc:  # the reason is part of what is compared
            out[fn.key] = [f"error {exc}"]
            continue
        out[fn.key] = sorted(f"{s.kind} {s.vaddr:#x} {s.offset:#x} {s.inlined!r}" for s, _f, _k in plan.sites)
        if reads is not None:
            reads[fn.key] = sorted(f"{s.kind} {s.vaddr:#x} {' '.join(f)}" for s, f, _k in plan.sites)
    attacher.inline.save()  # as attach_many does: the next plan reads the places from disk
    return out


def digests(sites: dict[str, list[str]]) -> dict[str, list]:
    """{function: [site count, sha256 of its lines (16 hex digits)]}"""
    return {
        name: [len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]]
        for name, lines in sorted(sites.items())
    }
