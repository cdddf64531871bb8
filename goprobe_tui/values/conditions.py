"""`--where COND`: a condition on a function's arguments (or results), compiled into the
kernel's event filter, so calls that do not match never reach the ring buffer.

    i >= 990            path ~ "/api/*"        err != nil        ok == true && n < 0
    arg0 == 3           (a > 1 || b > 1) && !(name == "bob")

Each name is a parameter (DWARF), `argN` / `retN` by position, or `err` for the error
result. Each compared value gets a fetch arg of its own with the right signed type, so the
kernel compares as Go does.

Strings: the kernel filters on their length only (a register, always exact); the decoder
checks their bytes. A probe cannot read a literal in a page the process never touched, and
the kernel's glob then compares stale bytes: measured here, `~ "/healthz*"` matched every
call and `~ "/api/*"` none. So every condition is also evaluated on the decoded values
(`matches`), which drops what the kernel let through and is final. A glob must end in `*`
(a prefix) or have none (exact).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from goprobe_tui.values.decoded import NIL, Marker
from goprobe_tui.values.kinds import ValueSpec, location_of
from goprobe_tui.values.limits import STRING_BYTES

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+))
  | (?P<op>==|!=|<=|>=|&&|\|\||!~|[<>~()!])
  | (?P<name>~?[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)
_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "~", "!~")
_ORDERED = ("<", "<=", ">", ">=")
MAX_TERMS = 16


@dataclass(frozen=True)
class Condition:
    text: str  # as the user wrote it
    on_return: bool  # it reads results: it filters the return events
    filter: str  # the kernel's filter expression
    fetch: tuple[str, ...]  # extra fetch args the filter reads
    tree: tuple  # the same condition on decoded values, for `matches` (plain tuples: pickled)


class _Compiler:
    def __init__(self, text: str, args: tuple[ValueSpec, ...], results: tuple[ValueSpec, ...]) -> None:
        self.text = text
        self.args, self.results = args, results
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.fetch: dict[str, str] = {}
        self.sides: set[str] = set()
        self.terms = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ValueError(f"cannot read {text[pos:].strip()[:20]!r}")
            out.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
            pos = m.end()
        return out

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise ValueError("it ends too early")
        self.pos += 1
        return tok

    def compile(self) -> tuple[str, tuple]:
        out = self._or()
        if self._peek() is not None:
            raise ValueError(f"unexpected {self._peek()[1]!r}")
        return out

    def _joined(self, op: str, word: str, parse) -> tuple[str, tuple]:
        parts = [parse()]
        while self._peek() == ("op", op):
            self._take()
            parts.append(parse())
        if len(parts) == 1:
            return parts[0]
        return f" {op} ".join(k for k, _t in parts), (word, *(t for _k, t in parts))

    def _or(self) -> tuple[str, tuple]:
        return self._joined("||", "or", self._and)

    def _and(self) -> tuple[str, tuple]:
        return self._joined("&&", "and", self._unary)

    def _unary(self) -> tuple[str, tuple]:
        tok = self._peek()
        if tok == ("op", "!"):
            self._take()
            kernel, tree = self._unary()
            return f"!({kernel})", ("not", tree)
        if tok == ("op", "("):
            self._take()
            kernel, tree = self._or()
            if self._peek() != ("op", ")"):
                raise ValueError("a ( is not closed: add a )")
            self._take()
            return f"({kernel})", tree
        return self._comparison()

    def _comparison(self) -> tuple[str, tuple]:
        kind, name = self._take()
        if kind != "name":
            raise ValueError(f"expected a parameter name, not {name!r}")
        kind, op = self._take()
        if kind != "op" or op not in _COMPARE:
            raise ValueError(f"expected a comparison (== != < <= > >= ~ !~) after {name}")
        lit_kind, lit = self._take()
        if lit_kind not in ("str", "num", "name"):
            raise ValueError(f"expected a value after {name} {op} (a number, a \"string\", nil, "
                             f"true or false), not {lit!r}")
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise ValueError(f"more than {MAX_TERMS} comparisons")
        spec, side = self._lookup(name)
        self.sides.add(side)
        kernel = self._term(spec, name, op, lit_kind, lit)
        value = json.loads(lit) if lit_kind == "str" else (
            int(lit, 0) if lit_kind == "num" else {"nil": None, "true": True, "false": False}.get(lit))
        return kernel, ("cmp", spec.name, spec.kind, op, value)

    def _lookup(self, name: str) -> tuple[ValueSpec, str]:
        for side, specs in (("entry", self.args), ("return", self.results)):
            for spec in specs:
                if spec.name == name:
                    return spec, side
        m = re.fullmatch(r"(arg|ret)(\d+)", name)
        if m:
            specs = self.args if m.group(1) == "arg" else self.results
            i = int(m.group(2))
            if i < len(specs):
                return specs[i], "entry" if m.group(1) == "arg" else "return"
        if name == "err":
            errs = [s for s in self.results if s.type_name == "error"]
            if len(errs) == 1:
                return errs[0], "return"
        known = [s.name for s in self.args + self.results]
        raise ValueError(f"no parameter {name} (known: {', '.join(known) or 'none'})")

    def _field(self, typ: str, loc: str) -> str:
        name = f"c{len(self.fetch)}"
        self.fetch[name] = f"{name}={loc}:{typ}"
        return name

    def _term(self, spec: ValueSpec, name: str, op: str, lit_kind: str, lit: str) -> str:
        kind = spec.kind
        if not spec.keys or kind not in ("int", "uint", "bool", "ptr", "map", "iface", "string"):
            raise ValueError(f"{name} ({spec.type_name or kind}) cannot be compared in the kernel")
        loc = location_of(spec.keys[0])
        if kind == "string":
            return self._string(spec, name, op, lit_kind, lit)
        if op in ("~", "!~"):
            raise ValueError(f"{name} is not a string: ~ does not apply")
        if kind in ("ptr", "map", "iface"):
            if lit != "nil" or op not in ("==", "!="):
                raise ValueError(f"{name} can only be compared with nil (== nil, != nil)")
            return f"{self._field('u64', loc)} {op} 0"
        if kind == "bool":
            if lit not in ("true", "false") or op not in ("==", "!="):
                raise ValueError(f"{name} is a bool: compare it with true or false")
            return f"{self._field('u8', loc)} {op} {int(lit == 'true')}"
        if lit_kind != "num":
            raise ValueError(f"{name} is a number: compare it with a number, not {lit}")
        value = int(lit, 0)
        size = spec.sizes[0] if spec.sizes else 8
        signed = kind == "int"
        lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << 8 * size) - 1)
        if not lo <= value <= hi:
            raise ValueError(f"{value} is out of range for {name} ({spec.type_name or kind})")
        typ = f"{'s' if signed else 'u'}{8 * size}"
        return f"{self._field(typ, loc)} {op} {value}"

    def _string(self, spec: ValueSpec, name: str, op: str, lit_kind: str, lit: str) -> str:
        if lit_kind != "str":
            raise ValueError(f"{name} is a string: compare it with a \"quoted\" string")
        if op in _ORDERED:
            raise ValueError(f"{name} is a string: use ==, !=, ~ or !~")
        value = json.loads(lit)
        if any(c in value for c in '"\\') or not value.isprintable():
            raise ValueError(f"{lit}: quotes, backslashes and control characters cannot be matched")
        glob = op in ("~", "!~")
        if not glob and any(c in value for c in "*?["):
            raise ValueError(f"{lit}: use ~ for a glob (== compares exactly)")
        elements = re.findall(r"\[[^\]]*\]|[^*]", value) if glob else list(value)
        if glob and "*" in value.rstrip("*"):
            raise ValueError(f"{lit}: a * can only end the pattern (a Go string has no end the "
                             "kernel can see)")
        if len(value.encode()) > STRING_BYTES:
            raise ValueError(f"{lit}: longer than the {STRING_BYTES} bytes a probe reads of a string")
        length = self._field("s64", location_of(spec.keys[1]))
        exact = not (glob and value.endswith("*"))
        if op in ("!=", "!~"):
            return f"{length} >= 0"  # a length alone cannot exclude a call: the decoder decides
        return f"{length} == {len(elements)}" if exact else f"{length} >= {len(elements)}"


def compile_condition(text: str, args: tuple[ValueSpec, ...], results: tuple[ValueSpec, ...],
                      function: str) -> Condition:
    """ValueError with a one-line reason (naming the function) if it cannot be compiled."""
    c = _Compiler(text, args, results)
    try:
        kernel, tree = c.compile()
    except ValueError as exc:
        raise ValueError(f"--where {text!r} on {function}: {exc}") from None
    if not c.tokens:
        raise ValueError(f"--where on {function}: the condition is empty")
    if len(c.sides) > 1:
        raise ValueError(f"--where {text!r} on {function}: arguments and results cannot be "
                         "combined (arguments are gone at the return, results unknown at the entry)")
    return Condition(text, c.sides == {"return"}, kernel, tuple(c.fetch.values()), tree)


def matches(tree: tuple, values: dict[str, Any]) -> bool:
    """The condition on decoded values. A value that could not be read (a marker) cannot be
    judged: the call is kept rather than silently lost."""
    op = tree[0]
    if op == "and":
        return all(matches(t, values) for t in tree[1:])
    if op == "or":
        return any(matches(t, values) for t in tree[1:])
    if op == "not":
        return not matches(tree[1], values)
    _cmp, name, kind, rel, want = tree
    have = values.get(name)
    if kind in ("ptr", "map", "iface"):
        is_nil = have is None or have == NIL
        return is_nil if rel == "==" else not is_nil
    if kind == "string":
        if not isinstance(have, str) or isinstance(have, Marker):
            return True
        if rel in ("~", "!~"):
            return fnmatch.fnmatchcase(have, want) == (rel == "~")
        return (have == want) == (rel == "==")
    if isinstance(have, Marker) or not isinstance(have, int):
        return True
    return {"==": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
            ">": have > want, ">=": have >= want}[rel]
