"""A front end's request checked before anything reaches the kernel: which functions a
pattern names, and whether every --field and --where can apply to them. Bad input is one
BadInput with a line that says what is wrong; nothing has been attached then."""

from __future__ import annotations

from goprobe_tui.engine.attach import Attacher
from goprobe_tui.engine.options import EngineOptions
from goprobe_tui.engine.patterns import matches, parse_where, select
from goprobe_tui.engine.signatures import SELECTOR, SELECTOR_HELP, signatures_of
from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.gobinary.abi import positional_params

__all__ = ["check_request", "fetch_overrides", "select"]
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.values.fetch_args import explicit_plan
from goprobe_tui.values.kinds import FetchPlan


def fetch_overrides(specs: list[str]) -> dict[str, FetchPlan]:
    """--fetch FUNC=NAME=EXPR:TYPE[,...], per function."""
    out = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep:
            raise BadInput(f"--fetch {spec!r}: expected FUNC=NAME=EXPR:TYPE[,...]")
        out[name] = explicit_plan(rest)  # BadInput naming the mistake
    return out


def check_request(binary: GoBinary, fns: list[Function], options: EngineOptions, returns: bool) -> None:
    """BadInput unless every option applies to the functions chosen."""
    traced = {fn.name for fn in fns}
    stray = [name for name in options.overrides if name not in traced]
    if stray:
        raise BadInput(f"--fetch {stray[0]}: not among the traced functions (match it with a PATTERN)")
    _check_fields(binary, fns, options.fields)
    _check_where(binary, fns, options, returns)
    if options.by is not None and "." not in options.by:
        _check_by(binary, fns, options.by)


def _check_fields(binary: GoBinary, fns: list[Function], exprs: tuple[str, ...]) -> None:
    signatures = signatures_of(binary)
    for expr in exprs:
        if not SELECTOR.fullmatch(expr) or "." not in expr:
            raise BadInput(f"--field {expr!r}: {SELECTOR_HELP}")
        applies = False
        for fn in fns:
            applies |= signatures.field_path(fn, expr) is not None  # or BadInput
        if not applies:
            root = expr.split(".")[0]
            where = (
                ""
                if binary.dwarf.available
                else (" (without DWARF, parameters are recv, arg0, arg1, ...: see `list` or the details)")
            )
            raise BadInput(f"--field {expr}: no traced function has a parameter {root}{where}")


def _check_by(binary: GoBinary, fns: list[Function], by: str) -> None:
    """A plain --by names a parameter some traced function has."""
    signatures = signatures_of(binary)
    for fn in fns:
        sig = signatures.of(fn)
        names = (
            [p.name for p in sig.params if not p.result]
            if sig.params is not None
            else [
                p.name
                for p in positional_params(
                    binary.arch,
                    binary.elf.ptrsize,
                    signatures.register_abi(fn),
                    binary.args_size(fn),
                    sig.arginfo,
                )
            ]
        )
        if by in names:
            return
    raise BadInput(
        f"--by {by}: no traced function has a parameter {by} (a field: r.URL.Path; "
        "without DWARF, parameters are recv, arg0, arg1, ...)"
    )


def _check_where(binary: GoBinary, fns: list[Function], options: EngineOptions, returns: bool) -> None:
    """Checked before anything is attached, so a bad condition changes nothing in the kernel."""
    if not options.where:
        return
    for pattern, text in parse_where(options.where):
        if not text:
            raise BadInput(f"--where {pattern + ': ' if pattern else ''}: the condition is empty")
        if pattern is not None and not any(matches(fn.name, pattern) for fn in fns):
            raise BadInput(
                f"--where {pattern}: no traced function matches {pattern} "
                "(PATTERN: COND applies to the functions PATTERN names)"
            )
    attacher = Attacher(binary, None, binary.path, options.overrides, options.fields, options.where)
    for fn in fns:
        if fn.inlined_only or fn.source_line:
            continue  # judged per inlined call or per line, where its names can be read
        try:
            cond = attacher.condition(fn, *attacher.plans(fn))
        except ProbeError as exc:
            raise BadInput(str(exc)) from None
        if cond is not None and cond.on_return and not returns:
            raise BadInput(f"--where {cond.text!r} reads results: add --ret")
