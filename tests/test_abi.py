"""Go's argument assignment without a kernel: registers, stack slots, results, ABI0, and the
argument words of a function without DWARF (table-driven, from abi-internal.md's rules)."""

from __future__ import annotations

import pytest

from goprobe_tui.gobinary.abi import assign_function, assign_register, positional_params
from goprobe_tui.gobinary.funcdata import ArgInfo, ArgWord
from goprobe_tui.gobinary.params import Param, Part

W = Part("int", 8)


def p(name: str, *parts: Part, size: int | None = None, result: bool = False, kind: str = "int") -> Param:
    return Param(name, "", kind, size if size is not None else 8 * len(parts), 8, result, parts)


def locs(assignment) -> list[tuple[str, tuple[str, ...] | None]]:
    return [(pl.param.name, pl.locs) for pl in assignment.placements]


@pytest.mark.parametrize(
    ("arch", "params", "expected"),
    [
        (
            "amd64",
            [p("a", W), p("s", W, W), p("xs", W, W, W)],
            [("a", ("%ax",)), ("s", ("%bx", "%cx")), ("xs", ("%di", "%si", "%r8"))],
        ),
        # the 10th word does not fit: it goes whole onto the stack, above the return address
        (
            "amd64",
            [p(f"i{n}", W) for n in range(10)],
            [
                *[
                    (f"i{n}", (f"%{r}",))
                    for n, r in enumerate(("ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"))
                ],
                ("i9", ("+8(%sp)",)),
            ],
        ),
        # a value that does not fit goes to the stack whole; later ones still take registers
        (
            "amd64",
            [p(f"i{n}", W) for n in range(8)] + [p("s", W, W), p("k", W)],
            [
                *[
                    (f"i{n}", (f"%{r}",))
                    for n, r in enumerate(("ax", "bx", "cx", "di", "si", "r8", "r9", "r10"))
                ],
                ("s", ("+8(%sp)", "+16(%sp)")),
                ("k", ("%r11",)),
            ],
        ),
        # floats take vector registers: no integer register, nothing fetchable
        ("amd64", [p("f", Part("float", 8), kind="float"), p("i", W)], [("f", ()), ("i", ("%ax",))]),
        ("arm64", [p("a", W), p("s", W, W)], [("a", ("%x0",)), ("s", ("%x1", "%x2"))]),
        # a value that cannot go in registers at all (a [4]int): on the stack, not fetchable whole
        ("amd64", [p("arr", size=32), p("i", W)], [("arr", None), ("i", ("%ax",))]),
    ],
)
def test_register_assignment(arch, params, expected) -> None:
    assignment, _end = assign_register(arch, 8, params)
    assert locs(assignment) == expected


def test_results_at_a_ret_follow_the_stack_arguments() -> None:
    args = [p(f"i{n}", W) for n in range(10)]  # i9 on the stack at +8
    entry, ret = assign_function(
        "amd64", 8, True, [*args, p("r", W, result=True), p("err", W, W, result=True)], 80
    )
    assert locs(entry)[-1] == ("i9", ("+8(%sp)",))
    assert locs(ret) == [("r", ("%ax",)), ("err", ("%bx", "%cx"))]


def test_abi0_puts_everything_on_the_stack() -> None:
    entry, ret = assign_function("amd64", 8, False, [p("a", W), p("s", W, W), p("r", W, result=True)], 24)
    assert locs(entry) == [("a", ("+8(%sp)",)), ("s", ("+16(%sp)", "+24(%sp)"))]
    assert locs(ret) == [("r", ("+32(%sp)",))]


def test_without_dwarf_the_argument_words_are_exact_and_results_are_raw_registers() -> None:
    entry, ret = assign_function("amd64", 8, True, None, 16)
    assert locs(entry) == [("arg0", ("%ax",)), ("arg1", ("%bx",))]
    assert [pl.param.kind for pl in ret.placements] == ["register", "register"]
    assert locs(ret) == [("rax", ("%ax",)), ("rbx", ("%bx",))]


@pytest.mark.parametrize(
    ("args_size", "info", "expected"),
    [
        (0, None, []),
        (24, None, [("arg0", "int"), ("arg1", "int"), ("arg2", "int")]),
        # ArgInfo groups a string (2 words) and an int whose offsets match Go's assignment
        (
            24,
            ArgInfo(((ArgWord(0, 8), ArgWord(8, 8)), (ArgWord(16, 8),)), False),
            [("arg0", "words"), ("arg1", "int")],
        ),
        # offsets that disagree with the assignment prove nothing: the words stay apart
        (
            24,
            ArgInfo(((ArgWord(0, 8), ArgWord(16, 8)), (ArgWord(8, 8),)), False),
            [("arg0", "int"), ("arg1", "int"), ("arg2", "int")],
        ),
    ],
)
def test_argument_words_without_dwarf(args_size, info, expected) -> None:
    params = positional_params("amd64", 8, True, args_size, info)
    assert [(q.name, q.kind) for q in params] == expected
