"""Text for the function detail view (entry, end, offset, file:line, DWARF params, RET sites)."""

from __future__ import annotations

from goprobe_tui.engine.signatures import ARG_WORDS, DWARF, Signature
from goprobe_tui.gobinary import BinaryError, Function, GoBinary
from goprobe_tui.gobinary.inline import inline_index
from goprobe_tui.gobinary.retsweep import probe_sites
from goprobe_tui.textsafe import printable

MAX_CALLERS = 200  # callers listed with their inlined calls; the rest are counted


def describe(binary: GoBinary, fn: Function, sig: Signature | None) -> str:
    if fn.inlined_only:
        file, line = inline_index(binary).declared_at(fn.name)
        lines = [
            printable(fn.key),
            "",
            "exists only inlined: no body of its own (no entry, no offset, no size); its "
            "inlined calls are probed",
            f"source  {file}:{line}  (its first inlined code)",
            f"package {fn.package or '-'}",
        ]
        return "\n".join(printable(x) for x in [*lines, "", *inlined_calls(binary, fn)])
    lines = [
        printable(fn.key),
        "",
        f"entry   {fn.entry:#x}        end {fn.end:#x}   size {fn.size}",
        f"offset  {fn.offset:#x}  (uprobe file offset)",
        f"source  {fn.file}:{fn.line}",
        f"package {fn.package or '-'}",
    ]
    if sig.params is None:
        words = binary.args_size(fn) // binary.elf.ptrsize
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
        lines.append(
            f"entry probe at {sites.entry:#x}"
            + ("  (after the stack check)" if sites.entry != fn.entry else "")
        )
        rets = ", ".join(f"{r:#x}" for r in sites.returns) or "none (tail call): no return probe"
        lines.append(f"RET sites {rets}")
    except BinaryError as exc:
        lines.append(f"RET sites unavailable: {exc}")
    lines += ["", *inlined_calls(binary, fn)]
    return "\n".join(printable(line) for line in lines)


def inlined_calls(binary: GoBinary, fn: Function) -> list[str]:
    """Where the compiler inlined the function: its calls grouped by the function holding
    them, each with the call's file:line (and the functions it was inlined through)."""
    idx = inline_index(binary)
    calls = idx.calls_of(fn.name)
    if not calls:
        return ["inlined nowhere: every call is out of line"]
    by_holder: dict[str, list[str]] = {}
    for call in calls:
        frames = idx.frames(call.row)
        holder = frames[-1][0]
        via = " ← ".join(f for f, _file, _line in frames[:-1])
        _f, file, line = frames[0]
        by_holder.setdefault(holder, []).append(
            f"{file.rsplit('/', 1)[-1]}:{line}" + (f" (in {via})" if via else "")
        )
    out = [
        f"inlined calls: {len(calls):,} in {len(by_holder):,} function"
        f"{'s' if len(by_holder) != 1 else ''} (each is probed with the function)"
    ]
    for holder, sites in sorted(by_holder.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:MAX_CALLERS]:
        out.append(f"  {holder}: {', '.join(sites)}")
    if len(by_holder) > MAX_CALLERS:
        out.append(f"  … and {len(by_holder) - MAX_CALLERS:,} more functions")
    return out
