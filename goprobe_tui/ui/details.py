"""Text for the function detail view (entry, end, offset, file:line, DWARF params, RET sites)."""

from __future__ import annotations

from goprobe_tui.engine.signatures import ARG_WORDS, DWARF, Signature
from goprobe_tui.gobinary import BinaryError, Function, GoBinary
from goprobe_tui.gobinary.retsweep import probe_sites
from goprobe_tui.textsafe import printable


def describe(binary: GoBinary, fn: Function, sig: Signature) -> str:
    lines = [
        printable(fn.key),
        "",
        f"entry   {fn.entry:#x}        end {fn.end:#x}   size {fn.size}",
        f"offset  {fn.offset:#x}  (uprobe file offset)",
        f"source  {fn.file}:{fn.line}",
        f"package {fn.package or '-'}",
    ]
    if sig.params is None:
        words = int(binary.functions.args[fn.index]) // binary.elf.ptrsize
        grouped = "grouped into arguments by ArgInfo" if sig.arginfo else "one argument each"
        lines.append(f"params  (no DWARF: {words} {ARG_WORDS}, {grouped}: arg0, arg1, …)")
        lines.append("results (unknown without DWARF: the result registers are shown raw)")
    else:
        ins = [f"{p.name} {p.type_name}" for p in sig.params if not p.result]
        outs = [f"{p.name} {p.type_name}" for p in sig.params if p.result]
        source = "" if sig.source == DWARF else f"   (from {sig.source}: no DWARF)"
        lines.append(f"params  ({', '.join(ins)}){source}")
        lines.append(f"results ({', '.join(outs)})")
    try:
        sites = probe_sites(binary, fn)
        lines.append(f"entry probe at {sites.entry:#x}"
                     + ("  (after the stack check)" if sites.entry != fn.entry else ""))
        rets = ", ".join(f"{r:#x}" for r in sites.returns) or "none (tail call): no return probe"
        lines.append(f"RET sites {rets}")
    except BinaryError as exc:
        lines.append(f"RET sites unavailable: {exc}")
    return "\n".join(printable(line) for line in lines)
