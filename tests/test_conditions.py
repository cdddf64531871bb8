"""--where conditions without a kernel: what each compiles to in the kernel's filter, what the
decoder decides on decoded values, and the one-line reasons for what cannot be compiled."""

from __future__ import annotations

import re

import pytest

from goprobe_tui.errors import BadInput
from goprobe_tui.values.conditions import compile_condition, matches
from goprobe_tui.values.decoded import NIL, Marker
from goprobe_tui.values.kinds import ValueSpec

ARGS = (
    ValueSpec("i", "int", ("ax",), "int", (8,)),
    ValueSpec("path", "string", ("bx", "cx"), "string", (8, 8)),
    ValueSpec("ok", "bool", ("di",), "bool", (1,)),
    ValueSpec("small", "uint", ("si",), "uint8", (1,)),
    ValueSpec("p", "ptr", ("r8",), "*main.T", (8,)),
)
RESULTS = (
    ValueSpec("n", "int", ("ax",), "int", (8,)),
    ValueSpec("err", "iface", ("bx", "cx"), "error", (8, 8)),
)


@pytest.mark.parametrize(
    ("text", "kernel", "fetch"),
    [
        ("i >= 990", "c0 >= 990", ("c0=%ax:s64",)),
        ("arg0 == -3", "c0 == -3", ("c0=%ax:s64",)),
        ("small > 200", "c0 > 200", ("c0=%si:u8",)),
        ("ok == true && p != nil", "(c0 == 1) && (c1 != 0)", ("c0=%di:u8", "c1=%r8:u64")),
        ('path == "/api"', "c0 == 4", ("c0=%cx:s64",)),  # strings: the length in the kernel
        ('path ~ "/api/*"', "c0 >= 5", ("c0=%cx:s64",)),
        (
            "(i > 1 || i < -1) && !(ok == false)",
            "((c0 > 1) || (c1 < -1)) && (!(c2 == 0))",
            ("c0=%ax:s64", "c1=%ax:s64", "c2=%di:u8"),
        ),
    ],
)
def test_what_the_kernel_filters(text, kernel, fetch) -> None:
    cond = compile_condition(text, ARGS, RESULTS, "main.F")
    assert (cond.filter, cond.fetch, cond.on_return) == (kernel, fetch, False)


def test_conditions_on_results_filter_the_returns() -> None:
    cond = compile_condition("err != nil", ARGS, RESULTS, "main.F")
    assert cond.on_return and cond.filter == "c0 != 0"


@pytest.mark.parametrize(
    ("text", "values", "keep"),
    [
        ("i >= 990", {"i": 990}, True),
        ("i >= 990", {"i": 989}, False),
        ('path == "/api"', {"path": "/api"}, True),
        ('path == "/api"', {"path": "/apx"}, False),  # same length: the decoder decides
        ('path ~ "/api/*"', {"path": "/api/users"}, True),
        ('path !~ "/api/*"', {"path": "/api/users"}, False),
        ("p == nil", {"p": NIL}, True),
        ("i > 3", {"i": Marker("<unavailable>")}, True),  # cannot be judged: kept, never lost
    ],
)
def test_what_the_decoder_decides(text, values, keep) -> None:
    cond = compile_condition(text, ARGS, RESULTS, "main.F")
    assert matches(cond.tree, values) is keep


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "ends too early"),
        ("nope > 3", "no parameter nope"),
        ("i > ", "ends too early"),
        ("i >> 3", "expected a value after i >"),
        ("i ! 3", "expected a comparison"),
        ("small > 300", "out of range"),
        ('i == "x"', "compare it with a number"),
        ("path > 3", 'compare it with a "quoted" string'),
        ('path == "a*"', "use ~ for a glob"),
        ("p > 3", "can only be compared with nil"),
        ("i > 1 && n > 1", "cannot be combined"),
        ("(i > 1", "not closed"),
        (" || ".join(["i > 1"] * 17), "more than 16 comparisons"),
    ],
)
def test_what_cannot_be_compiled_says_why(text, reason) -> None:
    with pytest.raises(BadInput, match=r"main\.F") as info:
        compile_condition(text, ARGS, RESULTS, "main.F")
    assert reason in str(info.value)


# -- strings: the kernel sees only the length (in bytes); the decoder decides ------------------
STRINGS = [
    "bob",
    "bad",
    "héllo",
    "日本語",
    "]",
    "a",
    "b",
    "/api/users",
    "/apx",
    "",
    "x.css",
    "a\\xffb",
    "日本",
]


def _kernel_says(cond, path: str, i: int = 0) -> bool:
    """The kernel's filter evaluated as the kernel would, on the values it reads."""
    if not cond.filter:
        return True
    loc_value = {"%cx": len(path.encode("utf-8", "surrogateescape")), "%ax": i}
    expr = cond.filter.replace("&&", " and ").replace("||", " or ").replace("!(", " not (")
    expr = expr.replace("common_pid < 0", "False")
    for arg in cond.fetch:
        name, _, rest = arg.partition("=")
        expr = re.sub(rf"\b{name}\b", str(loc_value[rest.rsplit(":", 1)[0]]), expr)
    return eval(expr)


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ('path == "héllo"', lambda s: s == "héllo"),
        ('path == "日本語"', lambda s: s == "日本語"),
        ('!(path == "bob")', lambda s: s != "bob"),
        ('!(path != "bob")', lambda s: s == "bob"),
        ('path != "bob" && path != "bad"', lambda s: s not in ("bob", "bad")),
        ('!(path ~ "/api/*")', lambda s: not s.startswith("/api/")),
        ('path ~ "[]abc]"', lambda s: s in ("]", "a", "b")),
        ('path ~ "[!]a]"', lambda s: len(s) == 1 and s not in ("]", "a")),
        ('path ~ "?"', lambda s: len(s) == 1),
        ('path ~ "*.css"', lambda s: s.endswith(".css")),
        ('path ~ "日*"', lambda s: s.startswith("日")),
        ('!(path ~ "??") || path == ""', lambda s: len(s) != 2),
        ('path ~ "*"', lambda s: True),
        ('path == "bob" && !(path == "bob")', lambda s: False),
    ],
)
def test_string_conditions_select_exactly_their_go_meaning(text, meaning) -> None:
    cond = compile_condition(text, ARGS, RESULTS, "main.F")
    for s in STRINGS:
        want = meaning(s)
        assert matches(cond.tree, {"path": s}) is want, (text, s)
        if want:  # the kernel may let more through, never fewer
            assert _kernel_says(cond, s), (text, s, cond.filter)


def test_a_long_string_is_judged_by_what_was_read() -> None:
    from goprobe_tui.values.decoded import Truncated

    long = Truncated("a" * 32, 40, 32)  # 40 bytes, the first 32 read
    assert matches(compile_condition('path == "bob"', ARGS, RESULTS, "f").tree, {"path": long}) is False
    assert matches(compile_condition('path != "bob"', ARGS, RESULTS, "f").tree, {"path": long}) is True
    assert matches(compile_condition('path ~ "a*"', ARGS, RESULTS, "f").tree, {"path": long}) is True


@pytest.mark.parametrize("text", ["(" * 400 + "i > 1" + ")" * 400, "!" * 3000 + "i > 1"])
def test_deep_nesting_is_refused_in_one_line(text) -> None:
    with pytest.raises(BadInput, match="nested deeper than 32 levels"):
        compile_condition(text, ARGS, RESULTS, "main.F")


def test_where_for_some_functions_and_for_all() -> None:
    from goprobe_tui.engine.patterns import condition_for, parse_where

    wheres = parse_where(("main.F: i > 3", 'main.(*T).*: path == "a:b"', "n < 0", 'path == "x:y"'))
    assert wheres == (
        ("main.F", "i > 3"),
        ("main.(*T).*", 'path == "a:b"'),
        (None, "n < 0"),
        (None, 'path == "x:y"'),
    )
    assert condition_for("main.F", wheres) == '(i > 3) && (n < 0) && (path == "x:y")'
    assert condition_for("main.(*T).Get", wheres) == '(path == "a:b") && (n < 0) && (path == "x:y")'
    assert condition_for("main.G", parse_where(("main.F: i > 3",))) == ""


DELAY = ValueSpec("delay", "int", ("r9",), "time.Duration", (8,))
DEEP_DELAY = ValueSpec("cfg.Timeout", "int", ("c0",), "time.Duration", (8,), guards=("g0",))


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("delay >= 50ms", 50_000_000),
        ("delay < 1m30s", 90_000_000_000),
        ("delay > 300us", 300_000),
        ("delay > 300µs", 300_000),
        ("delay == 1h", 3_600_000_000_000),
        ("delay > 1.5s", 1_500_000_000),
        ("delay != 0s", 0),
        ("delay > 2ns", 2),
    ],
)
def test_go_durations_compare_a_time_duration(text: str, ns: int) -> None:
    cond = compile_condition(text, (*ARGS, DELAY), (), "main.F")
    assert cond.filter.endswith(f" {ns}") and cond.tree[-1] == ns


def test_a_duration_is_judged_by_its_nanoseconds_in_the_decoder() -> None:
    from goprobe_tui.values.decoded import Duration

    cond = compile_condition("cfg.Timeout >= 50ms", (DEEP_DELAY,), (), "main.F")
    assert cond.filter == ""  # read through a pointer: the decoder alone decides
    assert matches(cond.tree, {"cfg.Timeout": Duration("60ms", 60_000_000)})
    assert not matches(cond.tree, {"cfg.Timeout": Duration("40ms", 40_000_000)})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("i > 50ms", "i is int, not a time.Duration"),
        ("path == 5s", "not a time.Duration"),
        ("delay > 5x", "unexpected 'x'"),
    ],
)
def test_a_duration_where_none_belongs_says_why(text: str, reason: str) -> None:
    with pytest.raises(BadInput, match=re.escape(reason)):
        compile_condition(text, (*ARGS, DELAY), (), "main.F")


def test_go_duration_literals_parse_as_go_does() -> None:
    from goprobe_tui.durations import parse_go_duration

    assert parse_go_duration("1m30s") == 90 * 10**9
    assert parse_go_duration("-2us") == -2000 and parse_go_duration("0") == 0
    assert parse_go_duration("1h2m3.5s") == 3_723_500_000_000
    for bad in ("5", "ms", "--1s", "1e3s", "", "1s ms"):
        with pytest.raises(BadInput):
            parse_go_duration(bad)


def test_the_typed_field_form_is_one_name() -> None:
    """`arg1.(*net/http.Request).URL.Path`: the selector --field takes without DWARF."""
    from goprobe_tui.values.conditions import FIELD_NAME

    field = ValueSpec(
        "arg1.(*net/http.Request).URL.Path", "string", ("f0", "f1"), "string", (8, 8), guards=("g0",)
    )
    cond = compile_condition('arg1.(*net/http.Request).URL.Path ~ "/tags*"', (field,), (), "main.F")
    assert cond.tree == ("cmp", field.name, "string", "~", "/tags*")
    text = 'arg1.(*net/http.Request).URL.Path ~ "a.b" && r.Method == "GET"'
    found = [m for m in FIELD_NAME.findall(text) if m]
    assert found == ["arg1.(*net/http.Request).URL.Path", "r.Method"]
