"""--where conditions without a kernel: what each compiles to in the kernel's filter, what the
decoder decides on decoded values, and the one-line reasons for what cannot be compiled."""

from __future__ import annotations

import pytest

from goprobe_tui.values.conditions import compile_condition, matches
from goprobe_tui.values.decoded import NIL, Marker
from goprobe_tui.values.kinds import ValueSpec

ARGS = (ValueSpec("i", "int", ("ax",), "int", (8,)),
        ValueSpec("path", "string", ("bx", "cx"), "string", (8, 8)),
        ValueSpec("ok", "bool", ("di",), "bool", (1,)),
        ValueSpec("small", "uint", ("si",), "uint8", (1,)),
        ValueSpec("p", "ptr", ("r8",), "*main.T", (8,)))
RESULTS = (ValueSpec("n", "int", ("ax",), "int", (8,)),
           ValueSpec("err", "iface", ("bx", "cx"), "error", (8, 8)))


@pytest.mark.parametrize(("text", "kernel", "fetch"), [
    ("i >= 990", "c0 >= 990", ("c0=%ax:s64",)),
    ("arg0 == -3", "c0 == -3", ("c0=%ax:s64",)),
    ("small > 200", "c0 > 200", ("c0=%si:u8",)),
    ("ok == true && p != nil", "c0 == 1 && c1 != 0", ("c0=%di:u8", "c1=%r8:u64")),
    ('path == "/api"', "c0 == 4", ("c0=%cx:s64",)),  # strings: the length in the kernel
    ('path ~ "/api/*"', "c0 >= 5", ("c0=%cx:s64",)),
    ("(i > 1 || i < -1) && !(ok == false)", "(c0 > 1 || c1 < -1) && !((c2 == 0))",
     ("c0=%ax:s64", "c1=%ax:s64", "c2=%di:u8")),
])
def test_what_the_kernel_filters(text, kernel, fetch) -> None:
    cond = compile_condition(text, ARGS, RESULTS, "main.F")
    assert (cond.filter, cond.fetch, cond.on_return) == (kernel, fetch, False)


def test_conditions_on_results_filter_the_returns() -> None:
    cond = compile_condition("err != nil", ARGS, RESULTS, "main.F")
    assert cond.on_return and cond.filter == "c0 != 0"


@pytest.mark.parametrize(("text", "values", "keep"), [
    ("i >= 990", {"i": 990}, True),
    ("i >= 990", {"i": 989}, False),
    ('path == "/api"', {"path": "/api"}, True),
    ('path == "/api"', {"path": "/apx"}, False),  # same length: the decoder decides
    ('path ~ "/api/*"', {"path": "/api/users"}, True),
    ('path !~ "/api/*"', {"path": "/api/users"}, False),
    ("p == nil", {"p": NIL}, True),
    ("i > 3", {"i": Marker("<unavailable>")}, True),  # cannot be judged: kept, never lost
])
def test_what_the_decoder_decides(text, values, keep) -> None:
    cond = compile_condition(text, ARGS, RESULTS, "main.F")
    assert matches(cond.tree, values) is keep


@pytest.mark.parametrize(("text", "reason"), [
    ("", "ends too early"),
    ("nope > 3", "no parameter nope"),
    ("i > ", "ends too early"),
    ("i >> 3", "expected a value after i >"),
    ("i ! 3", "expected a comparison"),
    ("small > 300", "out of range"),
    ('i == "x"', "compare it with a number"),
    ("path > 3", "compare it with a \"quoted\" string"),
    ('path == "a*"', "use ~ for a glob"),
    ('path ~ "*a"', "can only end the pattern"),
    ("p > 3", "can only be compared with nil"),
    ("i > 1 && n > 1", "cannot be combined"),
    ("(i > 1", "not closed"),
    (" || ".join(["i > 1"] * 17), "more than 16 comparisons"),
])
def test_what_cannot_be_compiled_says_why(text, reason) -> None:
    with pytest.raises(ValueError, match=r"main\.F") as info:
        compile_condition(text, ARGS, RESULTS, "main.F")
    assert reason in str(info.value)
