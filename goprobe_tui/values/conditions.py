"""`--where COND`: a condition on a function's arguments (or results), compiled into the
kernel's event filter, so calls that do not match never reach the ring buffer.

    i >= 990            path ~ "/api/*"        err != nil        ok == true && n < 0
    delay >= 50ms       (a time.Duration: Go's duration literals, 1m30s, 300us, ...)
    arg0 == 3           (a > 1 || b > 1) && !(name == "bob")

Each name is a parameter (DWARF), `argN` / `retN` by position, or `err` for the error
result. Each compared value gets a fetch arg of its own with the right signed type, so the
kernel compares as Go does.

The kernel decides numbers, bools and nil exactly. Of a string it sees only the length (a
register, always exact; Go lengths are bytes): a probe cannot read a literal in a page the
process never touched, and the kernel's glob then compares stale bytes (measured here:
`~ "/healthz*"` matched every call). So the kernel's filter is an over-approximation: a
comparison the kernel cannot decide becomes "maybe", and under `!` a "maybe" is still a
"maybe" (negating the length test would drop calls that match). The decoder then evaluates
the whole condition on the decoded values (`matches`), which is final; a value it cannot
judge (unreadable, or a long string's unread end) keeps the call rather than losing it.
Globs are shell globs on characters: `*`, `?`, `[abc]`, `[!abc]`, `[]a]`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from goprobe_tui.durations import LITERAL as DURATION
from goprobe_tui.durations import parse_go_duration
from goprobe_tui.errors import BadInput
from goprobe_tui.values.decoded import NIL, Duration, Marker, Truncated
from goprobe_tui.values.kinds import ValueSpec, location_of
from goprobe_tui.values.limits import STRING_BYTES

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<dur>"""
    + DURATION
    + r""")(?![A-Za-z0-9_.])
  | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+))
  | (?P<op>==|!=|<=|>=|&&|\|\||!~|[<>~()!])
  | (?P<name>~?[A-Za-z_][A-Za-z0-9_]*(?:\.\([^()\s"]+\))?(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
)""",
    re.VERBOSE,
)
# a field a condition reads: r.URL.Path, or the typed form --field takes,
# arg1.(*net/http.Request).URL.Path (a string literal is skipped whole)
FIELD_NAME = re.compile(r'"(?:[^"\\]|\\.)*"|([A-Za-z_]\w*(?:\.\([^()\s"]+\))?(?:\.[A-Za-z_]\w*)+)')
_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "~", "!~")
_ORDERED = ("<", "<=", ">", ">=")
MAX_TERMS = 16
MAX_DEPTH = 32  # nested ( and ! : deeper is not a condition anyone writes
MAX_TEXT = 4096
NEVER = "common_pid < 0"  # a filter no record passes (a thread id is never negative)

Filter = str | bool  # a kernel expression, or a constant: True (any call may match), False (none)


@dataclass(frozen=True)
class Condition:
    text: str  # as the user wrote it
    on_return: bool  # it reads results: it filters the return events
    filter: str  # the kernel's filter expression ("": none, every call may match)
    fetch: tuple[str, ...]  # extra fetch args the filter reads
    tree: tuple  # the same condition on decoded values, for `matches` (plain tuples: pickled)


def _not(f: Filter) -> Filter:
    return (not f) if isinstance(f, bool) else f"!({f})"


def _join(op: str, parts: list[Filter]) -> Filter:
    """&& or || of kernel expressions, constants folded."""
    absorbing, neutral = (False, True) if op == "&&" else (True, False)
    if any(p is absorbing for p in parts):
        return absorbing
    kept = [p for p in parts if p is not neutral]
    if not kept:
        return neutral
    return kept[0] if len(kept) == 1 else f" {op} ".join(f"({p})" for p in kept)


class _Compiler:
    def __init__(self, text: str, args: tuple[ValueSpec, ...], results: tuple[ValueSpec, ...]) -> None:
        self.text = text
        self.args, self.results = args, results
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0
        self.fetch: dict[str, str] = {}
        self.sides: set[str] = set()
        self.terms = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        if len(text) > MAX_TEXT:
            raise BadInput(f"longer than {MAX_TEXT:,} characters")
        out, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise BadInput(f"cannot read {text[pos:].strip()[:20]!r}")
            out.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
            pos = m.end()
        return out

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise BadInput("it ends too early")
        self.pos += 1
        return tok

    def compile(self) -> tuple[Filter, tuple]:
        """(the kernel's filter: an over-approximation; the exact tree for the decoder)."""
        upper, _lower, tree = self._or()
        left = self._peek()
        if left is not None:
            raise BadInput(f"unexpected {left[1]!r}")
        return upper, tree

    # Each parse step returns (upper, lower, tree): upper is true whenever the condition may
    # hold (what the kernel may filter on), lower only when it surely holds.
    def _joined(self, op: str, word: str, parse) -> tuple[Filter, Filter, tuple]:
        parts = [parse()]
        while self._peek() == ("op", op):
            self._take()
            parts.append(parse())
        if len(parts) == 1:
            return parts[0]
        return (
            _join(op, [u for u, _l, _t in parts]),
            _join(op, [lo for _u, lo, _t in parts]),
            (word, *(t for _u, _l, t in parts)),
        )

    def _or(self) -> tuple[Filter, Filter, tuple]:
        return self._joined("||", "or", self._and)

    def _and(self) -> tuple[Filter, Filter, tuple]:
        return self._joined("&&", "and", self._unary)

    def _unary(self) -> tuple[Filter, Filter, tuple]:
        tok = self._peek()
        if tok not in (("op", "!"), ("op", "(")):
            return self._comparison()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise BadInput(f"nested deeper than {MAX_DEPTH} levels of ( and !")
        self._take()
        if tok == ("op", "!"):
            upper, lower, tree = self._unary()
            out = _not(lower), _not(upper), ("not", tree)
        else:
            out = self._or()
            if self._peek() != ("op", ")"):
                raise BadInput("a ( is not closed: add a )")
            self._take()
        self.depth -= 1
        return out

    def _comparison(self) -> tuple[Filter, Filter, tuple]:
        kind, name = self._take()
        if kind != "name":
            raise BadInput(f"expected a parameter name, not {name!r}")
        kind, op = self._take()
        if kind != "op" or op not in _COMPARE:
            raise BadInput(f"expected a comparison (== != < <= > >= ~ !~) after {name}")
        lit_kind, lit = self._take()
        spec, side = self._lookup(name)
        if lit_kind == "dur":  # a Go duration: nanoseconds, for a time.Duration
            if spec.type_name not in ("", "time.Duration") or spec.kind not in ("int", "uint"):
                raise BadInput(
                    f"{name} is {spec.type_name or spec.kind}, not a time.Duration: "
                    f"compare it with a number, not {lit}"
                )
            lit_kind, lit = "num", str(parse_go_duration(lit))
        if lit_kind not in ("str", "num", "name"):
            raise BadInput(
                f'expected a value after {name} {op} (a number, a "string", nil, true or false), not {lit!r}'
            )
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise BadInput(f"more than {MAX_TERMS} comparisons")
        self.sides.add(side)
        upper, lower = self._term(spec, name, op, lit_kind, lit)
        value = (
            json.loads(lit)
            if lit_kind == "str"
            else (int(lit, 0) if lit_kind == "num" else {"nil": None, "true": True, "false": False}.get(lit))
        )
        return upper, lower, ("cmp", spec.name, spec.kind, op, value)

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
        root, _, rest = name.partition(".")
        named = next((s for s in self.args + self.results if s.name == root), None)
        if rest and named is not None:
            raise BadInput(
                f"{root} ({named.type_name or named.kind}) has no field {rest}, or its "
                "layout is unknown without DWARF: compare a field that exists"
            )
        raise BadInput(f"no parameter {root if rest else name} (known: {', '.join(known) or 'none'})")

    def _field(self, typ: str, loc: str) -> str:
        name = f"c{len(self.fetch)}"
        self.fetch[name] = f"{name}={loc}:{typ}"
        return name

    def _term(self, spec: ValueSpec, name: str, op: str, lit_kind: str, lit: str) -> tuple[Filter, Filter]:
        kind = spec.kind
        if not spec.keys or kind not in ("int", "uint", "bool", "ptr", "map", "iface", "string"):
            raise BadInput(f"{name} ({spec.type_name or kind}) cannot be compared in the kernel")
        if spec.guards:  # a field read through pointers: the decoder decides it alone
            self._check_literal(spec, name, op, lit_kind, lit)
            return True, False
        loc = location_of(spec.keys[0])
        if kind == "string":
            return self._string(spec, name, op, lit_kind, lit)
        if op in ("~", "!~"):
            raise BadInput(f"{name} is not a string: ~ does not apply")
        if kind in ("ptr", "map", "iface"):
            if lit != "nil" or op not in ("==", "!="):
                raise BadInput(f"{name} can only be compared with nil (== nil, != nil)")
            exact = f"{self._field('u64', loc)} {op} 0"
            return exact, exact
        if kind == "bool":
            if lit not in ("true", "false") or op not in ("==", "!="):
                raise BadInput(f"{name} is a bool: compare it with true or false")
            exact = f"{self._field('u8', loc)} {op} {int(lit == 'true')}"
            return exact, exact
        if lit_kind != "num":
            raise BadInput(f"{name} is a number: compare it with a number, not {lit}")
        value = int(lit, 0)
        size = spec.sizes[0] if spec.sizes else 8
        signed = kind == "int"
        lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << 8 * size) - 1)
        if not lo <= value <= hi:
            raise BadInput(f"{value} is out of range for {name} ({spec.type_name or kind})")
        typ = f"{'s' if signed else 'u'}{8 * size}"
        exact = f"{self._field(typ, loc)} {op} {value}"
        return exact, exact

    def _check_literal(self, spec: ValueSpec, name: str, op: str, lit_kind: str, lit: str) -> None:
        """The literal suits the value's kind (what the kernel path checks on its way)."""
        if spec.kind == "string":
            if lit_kind != "str" or op in _ORDERED:
                raise BadInput(f'{name} is a string: compare it with a "quoted" string (==, !=, ~, !~)')
        elif op in ("~", "!~"):
            raise BadInput(f"{name} is not a string: ~ does not apply")
        elif spec.kind == "bool" and lit not in ("true", "false"):
            raise BadInput(f"{name} is a bool: compare it with true or false")
        elif spec.kind == "ptr" and lit != "nil":
            raise BadInput(f"{name} can only be compared with nil (== nil, != nil)")
        elif spec.kind in ("int", "uint") and lit_kind != "num":
            raise BadInput(f"{name} is a number: compare it with a number, not {lit}")

    def _string(self, spec: ValueSpec, name: str, op: str, lit_kind: str, lit: str) -> tuple[Filter, Filter]:
        """(upper, lower) from the length alone: the decoder decides the bytes."""
        if lit_kind != "str":
            raise BadInput(f'{name} is a string: compare it with a "quoted" string')
        if op in _ORDERED:
            raise BadInput(f"{name} is a string: use ==, !=, ~ or !~")
        value = json.loads(lit)
        glob = op in ("~", "!~")
        if not glob and any(c in value for c in "*?["):
            raise BadInput(f"{lit}: use ~ for a glob (== compares exactly)")
        low, high = glob_bytes(value) if glob else (len(value.encode()),) * 2
        if low > STRING_BYTES:
            raise BadInput(f"{lit}: longer than the {STRING_BYTES} bytes a probe reads of a string")
        length = self._field("s64", location_of(spec.keys[1]))
        maybe = (
            f"{length} == {low}"
            if low == high
            else f"{length} >= {low}"
            if high is None
            else f"{length} >= {low} && {length} <= {high}"
        )
        if op in ("==", "~"):
            return maybe, False  # the length can exclude a match, never prove one
        return True, _not(maybe)  # != and !~: a length that cannot match proves them


def glob_elements(pattern: str) -> list[str]:
    """The glob's elements as fnmatch reads them: `*`, `?`, a class `[...]` (`[]a]` holds a
    `]`, `[!a]` negates), or one literal character (a `[` that is not closed is literal)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            end = pattern.find("]", j)
            if end >= 0:
                out.append(pattern[i : end + 1])
                i = end + 1
                continue
        out.append(c)
        i += 1
    return out


def glob_bytes(pattern: str) -> tuple[int, int | None]:
    """(fewest, most) bytes a string matching the glob holds; most is None with a `*`."""
    low = 0
    high: int | None = 0  # None once unbounded
    for el in glob_elements(pattern):
        if el == "*":
            high = None
        elif el == "?" or (el.startswith("[") and (el.startswith("[!") or not el.isascii())):
            low, high = low + 1, None if high is None else high + 4  # any character: 1-4 bytes
        elif el.startswith("["):
            low, high = low + 1, None if high is None else high + 1  # ASCII members only
        else:
            n = len(el.encode("utf-8", "surrogateescape"))
            low, high = low + n, None if high is None else high + n
    return low, high


def compile_condition(
    text: str, args: tuple[ValueSpec, ...], results: tuple[ValueSpec, ...], function: str
) -> Condition:
    """BadInput with a one-line reason (naming the function) if it cannot be compiled."""
    try:
        c = _Compiler(text, args, results)
        upper, tree = c.compile()
    except (BadInput, ValueError) as exc:  # int() and json.loads name bad literals too
        raise BadInput(f"--where {_short(text)} on {function}: {exc}") from None
    if not c.tokens:
        raise BadInput(f"--where on {function}: the condition is empty")
    if len(c.sides) > 1:
        raise BadInput(
            f"--where {_short(text)} on {function}: arguments and results cannot be "
            "combined (arguments are gone at the return, results unknown at the entry)"
        )
    kernel = "" if upper is True else NEVER if upper is False else upper
    fetch = tuple(arg for name, arg in c.fetch.items() if re.search(rf"\b{name}\b", kernel))
    return Condition(text, c.sides == {"return"}, kernel, fetch, tree)


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def matches(tree: tuple, values: dict[str, Any]) -> bool:
    """The condition on decoded values: False only when it surely does not hold. A value that
    cannot be judged (a marker, a long string's unread end) keeps the call."""
    return _judge(tree, values) is not False


def _judge(tree: tuple, values: dict[str, Any]) -> bool | None:
    """True, False, or None (cannot be judged), as Kleene's three-valued logic has it."""
    op = tree[0]
    if op in ("and", "or"):
        results = [_judge(t, values) for t in tree[1:]]
        decisive = op == "or"  # True decides an or, False an and
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if op == "not":
        inner = _judge(tree[1], values)
        return None if inner is None else not inner
    _cmp, name, kind, rel, want = tree
    have = values.get(name)
    if kind in ("ptr", "map", "iface"):
        if have is None or (isinstance(have, Marker) and have.startswith("<")):
            return None  # not read (a "<…>" marker)
        is_nil = isinstance(have, Marker) and have == NIL  # a typed nil interface is not nil
        return is_nil if rel == "==" else not is_nil
    if kind == "string":
        return _judge_string(have, rel, want)
    if isinstance(have, Duration):
        have = have.ns
    elif isinstance(have, Marker) or not isinstance(have, int):
        return None
    return {
        "==": have == want,
        "!=": have != want,
        "<": have < want,
        "<=": have <= want,
        ">": have > want,
        ">=": have >= want,
    }[rel]


def _judge_string(have: Any, rel: str, want: str) -> bool | None:
    if not isinstance(have, str) or isinstance(have, Marker):
        return None
    if isinstance(have, Truncated):  # only its first bytes were read
        low, high = glob_bytes(want) if rel in ("~", "!~") else (len(want.encode()),) * 2
        if have.length < low or (high is not None and have.length > high):
            return rel in ("!=", "!~")  # its length alone decides
        return None
    if rel in ("~", "!~"):
        return fnmatch.fnmatchcase(have, want) == (rel == "~")
    return (have == want) == (rel == "==")
