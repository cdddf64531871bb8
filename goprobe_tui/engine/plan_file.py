"""The plan of a probe script on disk: JSON with a version, checked field by field on the way
back. Plans travel between machines, so a plan is untrusted input: nothing in it is ever
executed or unpickled, every value must have the type its dataclass field declares, and sizes
are bounded.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

from goprobe_tui.errors import BadInput
from goprobe_tui.safe_read import NotReadable, read_small
from goprobe_tui.tracefs.formats import RecordLayout

FORMAT = "goprobe-plan"
MAX_PLAN_BYTES = 64 << 20  # a plan of 20,000 probes with their values is a few MB
MAX_DEPTH = 64  # nesting of value specs and conditions
_CONDITION_OPS = frozenset({"and", "or", "not", "cmp"})
_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "~", "!~"})


class PlanDamage(BadInput):
    """Where the file and the plan's schema part ways."""


def dump_plan(plan: Any) -> str:
    return json.dumps({"format": FORMAT, "plan": _encode(plan)}, separators=(",", ":"))


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.type != "RecordLayout | None"
        }  # layouts come back with the records
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} has no place in a plan")


def read_plan_file(path: str, plan_type: type) -> Any:
    """The plan in `path`, or BadInput naming what is wrong (one line)."""
    try:
        data = read_small(path, MAX_PLAN_BYTES)
    except NotReadable as exc:
        raise BadInput(f"{path}: {exc} (a plan is written by trace --emit-script)") from None
    try:
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise PlanDamage("no goprobe-plan header")
        return _decode(doc.get("plan"), plan_type, "plan", 0)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadInput(f"{path}: not a plan of this goprobe-tui (not JSON: {exc})") from None
    except PlanDamage as exc:
        raise BadInput(f"{path}: not a plan of this goprobe-tui ({exc})") from None


def _decode(raw: Any, typ: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlanDamage(f"{where}: nested too deeply")
    if dataclasses.is_dataclass(typ):
        return _decode_dataclass(raw, typ, where, depth)
    origin = typing.get_origin(typ)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(typ)
        if raw is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                try:
                    return _decode(raw, option, where, depth)
                except PlanDamage:
                    continue
        raise PlanDamage(f"{where}: not a {typ}")
    if origin is typing.Literal:  # an event kind: one of its words, nothing else
        if raw not in typing.get_args(typ) or not isinstance(raw, str):
            raise PlanDamage(f"{where}: not one of {', '.join(map(str, typing.get_args(typ)))}")
        return raw
    if typ is tuple:  # untyped tuples in a plan are conditions
        return _condition(raw, where, depth) if raw else ()
    if origin in (tuple, list):
        if not isinstance(raw, list):
            raise PlanDamage(f"{where}: not a list")
        args = typing.get_args(typ)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(raw):
                raise PlanDamage(f"{where}: {len(raw)} items, not {len(args)}")
            return tuple(
                _decode(v, t, f"{where}[{i}]", depth + 1)
                for i, (v, t) in enumerate(zip(raw, args, strict=True))
            )
        items = [_decode(v, args[0], f"{where}[{i}]", depth + 1) for i, v in enumerate(raw)]
        return tuple(items) if origin is tuple else items
    if typ is RecordLayout:
        raise PlanDamage(f"{where}: a layout has no place in a plan")
    if typ is bool:
        if not isinstance(raw, bool):
            raise PlanDamage(f"{where}: not true or false")
        return raw
    if typ is int:
        if not isinstance(raw, int) or isinstance(raw, bool) or not -(1 << 64) < raw < (1 << 64):
            raise PlanDamage(f"{where}: not a 64-bit integer")
        return raw
    if typ is str:
        if not isinstance(raw, str):
            raise PlanDamage(f"{where}: not a string")
        return raw
    raise PlanDamage(f"{where}: {typ} has no place in a plan")


def _decode_dataclass(raw: Any, typ: Any, where: str, depth: int) -> Any:
    if not isinstance(raw, dict):
        raise PlanDamage(f"{where}: not an object")
    hints = typing.get_type_hints(typ)
    known = {f.name: f for f in dataclasses.fields(typ)}
    extra = set(raw) - set(known)
    if extra:
        raise PlanDamage(f"{where}: unknown field {sorted(extra)[0]!r}")
    values = {}
    for name, f in known.items():
        if hints[name] == RecordLayout | None:
            continue
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise PlanDamage(f"{where}: no {name}")
            continue
        values[name] = _decode(raw[name], hints[name], f"{where}.{name}", depth + 1)
    return typ(**values)


def _condition(raw: Any, where: str, depth: int) -> tuple:
    """A --where tree (values/conditions.py): ("and"|"or", t, ...), ("not", t),
    ("cmp", name, kind, relation, value)."""
    if depth > MAX_DEPTH:
        raise PlanDamage(f"{where}: nested too deeply")
    if not isinstance(raw, list) or not raw or raw[0] not in _CONDITION_OPS:
        raise PlanDamage(f"{where}: not a condition")
    op = raw[0]
    if op == "cmp":
        ok = (
            len(raw) == 5
            and isinstance(raw[1], str)
            and isinstance(raw[2], str)
            and raw[3] in _RELATIONS
            and (raw[4] is None or isinstance(raw[4], bool | int | str))
        )
        if not ok:
            raise PlanDamage(f"{where}: not a comparison")
        return tuple(raw)
    if len(raw) < 2 or (op == "not") != (len(raw) == 2):
        raise PlanDamage(f"{where}: {op} with {len(raw) - 1} operands")
    return (op, *(_condition(t, f"{where}[{i}]", depth + 1) for i, t in enumerate(raw[1:], 1)))
