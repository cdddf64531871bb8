"""Output for `goprobe-tui list [PATTERN...]`: a readable table or one JSON object."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from goprobe_tui.engine.patterns import select
from goprobe_tui.errors import BadInput
from goprobe_tui.exit_codes import OK, fail
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.gobinary.inline import inline_index
from goprobe_tui.gobinary.inline_probes import InlineProbes
from goprobe_tui.textsafe import printable

MAX_CHECKED = 50_000  # inlined calls whose probe place is worked out for a listing (~5 s)


def run_list(args) -> int:
    """`goprobe-tui list BINARY [PATTERN...] [--json]`."""
    try:
        with GoBinary.open(args.binary) as binary:
            _ = binary.functions  # decode fully before printing anything
            inlined = inline_index(binary)
            chosen, only = None, sorted(inlined.inlined_only())
            if args.patterns:
                picked = select(binary, args.patterns)
                chosen = [fn.index for fn in picked if not fn.inlined_only]
                only = [fn.name for fn in picked if fn.inlined_only]
            names = None if not args.patterns else ([binary.functions.names[i] for i in chosen] + only)
            unprobed = None if names is None else untraced_sites(binary, names)
            (write_json if args.json else write_table)(binary, sys.stdout, chosen, only, unprobed)
    except BadInput as exc:
        return fail(f"{args.binary}: {exc}" if isinstance(exc, BinaryError) else str(exc))
    return OK


def untraced_sites(binary: GoBinary, names: list[str]) -> dict[str, int] | None:
    """Per function, its inlined calls that no probe can count once per call (None: too many
    to work out for a listing; an attach still says)."""
    index = inline_index(binary)
    calls = {n: index.calls_of(n) for n in names}
    if sum(len(c) for c in calls.values()) > MAX_CHECKED:
        return None
    probes = InlineProbes(binary, index)
    out = {n: sum(1 for c in found if probes.address(c.row)[0] is None) for n, found in calls.items()}
    probes.save()
    return out


def _columns(binary: GoBinary, chosen: list[int] | None):
    """(names, entry, end, offset, files, lines) of every function, or of those chosen."""
    fns = binary.functions
    if chosen is None:
        return (
            fns.names,
            fns.entry.tolist(),
            fns.end.tolist(),
            fns.offset.tolist(),
            fns.files,
            fns.lines.tolist(),
        )
    return (
        [fns.names[i] for i in chosen],
        fns.entry[chosen].tolist(),
        fns.end[chosen].tolist(),
        fns.offset[chosen].tolist(),
        [fns.files[i] for i in chosen],
        fns.lines[chosen].tolist(),
    )


_q = json.encoder.encode_basestring_ascii  # C-accelerated, escapes hostile names safely


def write_json(
    binary: GoBinary,
    out: TextIO,
    chosen: list[int] | None = None,
    only: list[str] | None = None,
    unprobed: dict[str, int] | None = None,
) -> None:
    """`functions` lists the table's functions (as debug/gosym does), each with its inlined
    calls; `inlined_only` the functions that exist only inlined. With patterns, each also
    says how many of its inlined calls cannot be probed (`untraced_inlined_sites`)."""
    head = {
        "path": binary.path,
        "goversion": binary.goversion,
        "arch": binary.arch,
        "pclntab_version": binary.pclntab_version,
        "text_start": binary.text_start,
    }
    out.write(json.dumps(head)[:-1] + ', "functions": [')
    names, entry, end, offset, files, lines = _columns(binary, chosen)
    counts = inline_index(binary).counts()
    quoted_files = {f: _q(f) for f in set(files)}
    untraced = (
        (lambda n: "")
        if unprobed is None
        else (lambda n: f', "untraced_inlined_sites": {unprobed.get(n, 0)}')
    )
    rows = zip(
        names,
        entry,
        end,
        offset,
        map(quoted_files.__getitem__, files),
        lines,
        [counts.get(n, 0) for n in names],
        strict=True,
    )
    parts = [
        f'{{"name": {_q(n)}, "entry": {e}, "end": {x}, "offset": {o}, "file": {f}, "line": {ln}, '
        f'"inlined_sites": {k}{untraced(n)}}}'
        for n, e, x, o, f, ln, k in rows
    ]
    out.write(", ".join(parts))
    out.write('], "inlined_only": [')
    out.write(", ".join(f'{{"name": {_q(n)}, "sites": {counts[n]}{untraced(n)}}}' for n in only or ()))
    out.write("]}\n")


def write_table(
    binary: GoBinary,
    out: TextIO,
    chosen: list[int] | None = None,
    only: list[str] | None = None,
    unprobed: dict[str, int] | None = None,
) -> None:
    fns = binary.functions
    only = only or []
    names, entry, end, offset, files, lines = _columns(binary, chosen)
    counts = inline_index(binary).counts()
    shown = "" if chosen is None else f" ({len(names) + len(only):,} matching)"
    out.write(
        f"# {binary.path}: {binary.goversion or 'unknown Go version'} {binary.arch}, "
        f"pclntab {binary.pclntab_version}, runtime.text {binary.text_start:#x} "
        f"({binary.text_start_source}), {len(fns)} functions{shown}, "
        f"{len(inline_index(binary).inlined_only()):,} more that exist only inlined\n"
    )

    # INLINED: its inlined calls, and "(N unprobed)" where a probe cannot count N of them
    def inl(n: str) -> str:
        miss = unprobed.get(n, 0) if unprobed else 0
        return f"{counts.get(n, 0) or ''}" + (f" ({miss} unprobed)" if miss else "")

    w = 7 + (12 if unprobed and any(unprobed.values()) else 0)
    out.write(f"{'OFFSET':>10}  {'SIZE':>6}  {'INLINED':>{w}}  {'FUNCTION':<60}  FILE:LINE\n")
    out.writelines(
        printable(f"{o:#10x}  {x - e:6d}  {inl(n):>{w}}  {n:<60}  {f}:{ln}") + "\n"
        for n, e, x, o, f, ln in zip(names, entry, end, offset, files, lines, strict=True)
    )
    out.writelines(
        printable(f"{'-':>10}  {'-':>6}  {inl(n):>{w}}  {n:<60}  (inlined only)") + "\n" for n in only
    )
    if unprobed and any(counts.get(n, 0) for n in unprobed):
        total, miss = sum(counts.get(n, 0) for n in unprobed), sum(unprobed.values())
        out.write(
            f"# {miss:,} of {total:,} inlined calls cannot be probed once per call: "
            "their functions' counts are partial\n"
            if miss
            else f"# every one of the {total:,} inlined calls is probed\n"
        )
