"""Output for `goprobe-tui list`: a readable table or one JSON object."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from goprobe_tui.exit_codes import OK, fail
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.textsafe import printable


def run_list(args) -> int:
    """`goprobe-tui list BINARY [--json]`."""
    try:
        with GoBinary.open(args.binary) as binary:
            _ = binary.functions  # decode fully before printing anything
            (write_json if args.json else write_table)(binary, sys.stdout)
    except BinaryError as exc:
        return fail(f"{args.binary}: {exc}")
    return OK

_q = json.encoder.encode_basestring_ascii  # C-accelerated, escapes hostile names safely


def write_json(binary: GoBinary, out: TextIO) -> None:
    fns = binary.functions
    head = {
        "path": binary.path,
        "goversion": binary.goversion,
        "arch": binary.arch,
        "pclntab_version": binary.pclntab_version,
        "text_start": binary.text_start,
    }
    out.write(json.dumps(head)[:-1] + ', "functions": [')
    names = map(_q, fns.names)
    quoted_files = {f: _q(f) for f in set(fns.files)}
    files = map(quoted_files.__getitem__, fns.files)
    rows = zip(names, fns.entry.tolist(), fns.end.tolist(), fns.offset.tolist(), files,
               fns.lines.tolist(), strict=True)
    parts = [
        f'{{"name": {n}, "entry": {e}, "end": {x}, "offset": {o}, "file": {f}, "line": {ln}}}'
        for n, e, x, o, f, ln in rows
    ]
    out.write(", ".join(parts))
    out.write("]}\n")


def write_table(binary: GoBinary, out: TextIO) -> None:
    fns = binary.functions
    out.write(f"# {binary.path}: {binary.goversion or 'unknown Go version'} {binary.arch}, "
              f"pclntab {binary.pclntab_version}, runtime.text {binary.text_start:#x} "
              f"({binary.text_start_source}), {len(fns)} functions\n")
    out.write(f"{'OFFSET':>10}  {'SIZE':>6}  {'FUNCTION':<60}  FILE:LINE\n")
    lines = []
    for name, off, entry, end, file, line in zip(fns.names, fns.offset.tolist(), fns.entry.tolist(),
                                                 fns.end.tolist(), fns.files, fns.lines.tolist(),
                                                 strict=True):
        lines.append(printable(f"{off:#10x}  {end - entry:6d}  {name:<60}  {file}:{line}") + "\n")
    out.writelines(lines)
