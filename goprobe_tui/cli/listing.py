"""Output for `goprobe-tui list [PATTERN...]`: a readable table or one JSON object."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from goprobe_tui.engine.request import select
from goprobe_tui.errors import BadInput
from goprobe_tui.exit_codes import OK, fail
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.textsafe import printable


def run_list(args) -> int:
    """`goprobe-tui list BINARY [PATTERN...] [--json]`."""
    try:
        with GoBinary.open(args.binary) as binary:
            _ = binary.functions  # decode fully before printing anything
            chosen = None
            if args.patterns:
                chosen = [fn.index for fn in select(binary, args.patterns)]
            (write_json if args.json else write_table)(binary, sys.stdout, chosen)
    except BadInput as exc:
        return fail(f"{args.binary}: {exc}" if isinstance(exc, BinaryError) else str(exc))
    return OK


def _columns(binary: GoBinary, chosen: list[int] | None):
    """(names, entry, end, offset, files, lines) of every function, or of those chosen."""
    fns = binary.functions
    if chosen is None:
        return (fns.names, fns.entry.tolist(), fns.end.tolist(), fns.offset.tolist(), fns.files,
                fns.lines.tolist())
    return ([fns.names[i] for i in chosen], fns.entry[chosen].tolist(), fns.end[chosen].tolist(),
            fns.offset[chosen].tolist(), [fns.files[i] for i in chosen], fns.lines[chosen].tolist())

_q = json.encoder.encode_basestring_ascii  # C-accelerated, escapes hostile names safely


def write_json(binary: GoBinary, out: TextIO, chosen: list[int] | None = None) -> None:
    head = {
        "path": binary.path,
        "goversion": binary.goversion,
        "arch": binary.arch,
        "pclntab_version": binary.pclntab_version,
        "text_start": binary.text_start,
    }
    out.write(json.dumps(head)[:-1] + ', "functions": [')
    names, entry, end, offset, files, lines = _columns(binary, chosen)
    quoted_files = {f: _q(f) for f in set(files)}
    rows = zip(map(_q, names), entry, end, offset, map(quoted_files.__getitem__, files), lines,
               strict=True)
    parts = [
        f'{{"name": {n}, "entry": {e}, "end": {x}, "offset": {o}, "file": {f}, "line": {ln}}}'
        for n, e, x, o, f, ln in rows
    ]
    out.write(", ".join(parts))
    out.write("]}\n")


def write_table(binary: GoBinary, out: TextIO, chosen: list[int] | None = None) -> None:
    fns = binary.functions
    names, entry, end, offset, files, lines = _columns(binary, chosen)
    shown = "" if chosen is None else f" ({len(names):,} matching)"
    out.write(f"# {binary.path}: {binary.goversion or 'unknown Go version'} {binary.arch}, "
              f"pclntab {binary.pclntab_version}, runtime.text {binary.text_start:#x} "
              f"({binary.text_start_source}), {len(fns)} functions{shown}\n")
    out.write(f"{'OFFSET':>10}  {'SIZE':>6}  {'FUNCTION':<60}  FILE:LINE\n")
    out.writelines(printable(f"{o:#10x}  {x - e:6d}  {n:<60}  {f}:{ln}") + "\n"
                   for n, e, x, o, f, ln in zip(names, entry, end, offset, files, lines, strict=True))
