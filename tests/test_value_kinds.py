"""The value kinds without a kernel: what each fetches for a placed parameter, and how recorded
fields decode back into Go values (table-driven)."""

from __future__ import annotations

import pytest

from goprobe_tui.events.text import format_duration, json_values
from goprobe_tui.gobinary.abi import Assignment, Placement
from goprobe_tui.gobinary.params import Param, Part
from goprobe_tui.values.decoded import NIL, NIL_DEREF, IfaceValue, Marker, StructValue, Words, decode_text
from goprobe_tui.values.fetch_args import valid_fetch_arg
from goprobe_tui.values.kinds import UNAVAILABLE, ValueSpec, build_plan, decode_value

W = Part("int", 8)
INT = Param("n", "int", "int", 8, 8, False, (W,))
STRING = Param("s", "string", "string", 16, 8, False, (Part("ptr", 8), W))
SLICE = Param(
    "xs",
    "[]int",
    "slice",
    24,
    8,
    False,
    (Part("ptr", 8), W, W),
    elem=Param("", "int", "int", 8, 8, False, (W,)),
)
USER = Param(
    "",
    "main.User",
    "struct",
    16,
    8,
    False,
    (),
    members=(
        Param("ID", "int", "int", 8, 8, False, (W,), offset=0),
        Param("Admin", "bool", "bool", 1, 1, False, (Part("bool", 1),), offset=8),
    ),
)
PTR_USER = Param("u", "*main.User", "ptr", 8, 8, False, (Part("ptr", 8),), pointee=USER)
FLOAT = Param("f", "float64", "float", 8, 8, False, (Part("float", 8),))
BIG = Param("a", "[4]int", "unknown", 32, 8, False, ())


def _plan(param: Param, locs: tuple[str, ...] | None, deep: bool = True):
    return build_plan(Assignment((Placement(param, locs),)), 8, deep=deep)


@pytest.mark.parametrize(
    ("param", "locs", "deep", "fetch"),
    [
        (INT, ("%ax",), True, ("ax=%ax:x64",)),
        (INT, ("+8(%sp)",), True, ("sp8=+8(%sp):x64",)),  # a stack slot is read exactly
        (STRING, ("%ax", "%bx"), True, ("ax=%ax:x64", "bx=%bx:x64", "ax_s=+0(%ax):u8[32]")),
        (STRING, ("%ax", "%bx"), False, ("ax=%ax:x64", "bx=%bx:x64")),  # mass attach: registers only
        (
            SLICE,
            ("%ax", "%bx", "%cx"),
            True,
            ("ax=%ax:x64", "ax_e=+0(%ax):u8[32]", "bx=%bx:x64", "cx=%cx:x64"),
        ),
        (PTR_USER, ("%ax",), True, ("ax=%ax:x64", "ax_f0=+0(%ax):x64", "ax_f8=+8(%ax):x8")),
        (PTR_USER, ("%ax",), False, ("ax=%ax:x64",)),
        (FLOAT, (), True, ()),  # vector registers cannot be read: nothing fetched
        (BIG, None, True, ()),  # on the stack, not fetchable whole
    ],
)
def test_what_each_kind_fetches(param, locs, deep, fetch) -> None:
    plan = _plan(param, locs, deep)
    assert plan.args == fetch
    assert all(valid_fetch_arg(a) for a in plan.args)
    assert plan.values[0].name == param.name


@pytest.mark.parametrize(
    ("param", "locs", "fields", "shown"),
    [
        (INT, ("%ax",), {"ax": (1 << 64) - 7}, "-7"),
        (STRING, ("%ax", "%bx"), {"ax": 0xC000010000, "bx": 5, "ax_s": b"hello\0\0"}, '"hello"'),
        (STRING, ("%ax", "%bx"), {"ax": 0, "bx": 0, "ax_s": b""}, '""'),
        (
            SLICE,
            ("%ax", "%bx", "%cx"),
            {"ax": 0x10, "bx": 2, "cx": 4, "ax_e": (1).to_bytes(8, "little") + (2).to_bytes(8, "little")},
            "[]int{1, 2}",
        ),
        (SLICE, ("%ax", "%bx", "%cx"), {"ax": 0, "bx": 0, "cx": 0, "ax_e": b""}, "nil"),
        (PTR_USER, ("%ax",), {"ax": 0xC000012345, "ax_f0": 7, "ax_f8": 1}, "&main.User{ID:7, Admin:true}"),
        (PTR_USER, ("%ax",), {"ax": 0, "ax_f0": 0, "ax_f8": 0}, "nil"),
        (FLOAT, (), {}, "<float: in a vector register, which uprobes cannot read>"),
        (BIG, None, {}, "<unavailable>"),
    ],
)
def test_how_each_kind_decodes(param, locs, fields, shown) -> None:
    from goprobe_tui.events.text import format_value

    spec = _plan(param, locs).values[0]
    assert format_value(decode_value(spec, fields)) == shown


def _spec(kind: str, n: int, sizes: tuple[int, ...] = (), type_name: str = "") -> ValueSpec:
    return ValueSpec("v", kind, tuple(f"k{i}" for i in range(n)), type_name, sizes)


@pytest.mark.parametrize(
    ("spec", "fields", "value"),
    [
        (_spec("string", 3), {"k0": 0xC000010000, "k1": 5, "k2": b"hello\0\0"}, "hello"),
        # bytes never asked of the probe (a mass attach) are not reported as a fault
        (_spec("string", 2), {"k0": 0xC000010000, "k1": 12}, "<12 bytes, not read>"),
        (_spec("string", 3), {"k0": 1, "k1": 40, "k2": b"a" * 32}, "a" * 32 + "…(+8)"),
        (_spec("string", 3), {"k0": 1, "k1": -1, "k2": b""}, "<bad string>"),
        (_spec("int", 1, (8,)), {"k0": (1 << 64) - 7}, -7),
        (_spec("int", 1, (4,)), {"k0": 0xDEAD_FFFF_FFF9}, -7),  # a register's upper half ignored
        (_spec("uint", 1, (1,)), {"k0": 0x1FF}, 0xFF),
        (_spec("bool", 1, (1,)), {"k0": 0x100}, False),
        (_spec("slice", 3), {"k0": 0x10, "k1": 2, "k2": 4}, {"ptr": "0x10", "len": 2, "cap": 4}),
        (_spec("iface", 2), {"k0": 0, "k1": 0}, NIL),
        (_spec("ptr", 1), {"k0": 0xC000012345}, "0xc000012345"),
        (_spec("ptr", 1), {"k0": 0}, NIL),
        (_spec("int", 1, (8,), "time.Duration"), {"k0": 1_500_000_000}, "1.5s"),
        (_spec("int", 1, (8,), "main.Color"), {"k0": 3}, 3),
        (_spec("words", 2), {"k0": 1, "k1": 2}, [1, 2]),
        (_spec("nosuchkind", 1), {"k0": 1}, UNAVAILABLE),
        (ValueSpec("p", "int", ("x",), "", (8,), guards=("g",)), {"x": 0, "g": 0}, NIL_DEREF),
    ],
)
def test_decode_values(spec, fields, value) -> None:
    assert decode_value(spec, fields) == value


def test_json_of_nil_and_durations() -> None:
    duration = _spec("int", 1, (8,), "time.Duration")
    assert json_values({"p": NIL, "d": decode_value(duration, {"k0": 150_000})}) == {"p": None, "d": "150µs"}


@pytest.mark.parametrize(
    ("ns", "text"),
    [(None, "—"), (850, "850ns"), (12_345, "12.3µs"), (50_612_000, "50.6ms"), (1_500_000_000, "1.50s")],
)
def test_durations_adapt(ns, text) -> None:
    assert format_duration(ns) == text


@pytest.mark.parametrize("arg", ["a=%ax:s64", "a_s=+0(%ax):u8[32]", "x=+8(+16(%sp)):x64"])
def test_fetch_arg_whitelist_accepts(arg) -> None:
    assert valid_fetch_arg(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "a=%ax:string",
        "a=%ax:s64 b=%bx:s64",
        "a=%ax:s64\n-:foo",
        "common_pid=%ax:s64",
        "a=$comm:string",
        "a=%ax:s64#",
        "a=@sym:s64",
    ],
)
def test_fetch_arg_whitelist_refuses(arg) -> None:
    assert not valid_fetch_arg(arg)


@pytest.mark.parametrize(
    ("value", "text", "as_json"),
    [
        (
            IfaceValue(type="*main.MyErr", value=NIL),
            "(*main.MyErr)(nil)",
            {"type": "*main.MyErr", "value": None},
        ),
        (
            IfaceValue(type="*http.response", address=Marker("0xc000123400")),
            "*http.response(0xc000123400)",
            {"type": "*http.response", "address": "0xc000123400"},
        ),
        (
            IfaceValue(type="*T", value=StructValue("", {"a": Marker("0x10"), "b": 3}), unread_fields=2),
            "*T{a:0x10, b:3, …+2}",
            {"type": "*T", "value": {"a": "0x10", "b": 3}, "unread_fields": 2},
        ),
        (IfaceValue(type="int", value=7), "int(7)", {"type": "int", "value": 7}),
        (Words([1, 0x49F059, None]), "{0x1, 0x49f059, ?}", ["0x1", "0x49f059", None]),
        (decode_text(b"a\xffb"), '"a\\xffb"', "a\ufffdb"),  # an invalid byte...
        ("a\\xffb", '"a\\\\xffb"', "a\\xffb"),  # ...is not the text \xff
        (Marker("0xc000012345"), "0xc000012345", "0xc000012345"),
        (NIL, "nil", None),
    ],
)
def test_one_rule_for_text_and_json(value, text, as_json) -> None:
    from goprobe_tui.events.text import format_value

    assert format_value(value) == text
    assert json_values({"v": value})["v"] == as_json
