"""Go values as a Go engineer reads them, on the real kernel: every argument (stack ones too),
durations, nil, pointers, and the goroutine id on every event."""

from __future__ import annotations

import re
import signal

import pytest

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.gobinary.goroutine import VERIFIED_GOID_OFFSETS
from tests.conftest import need
from tests.kernel_helpers import TraceRun, run_program
from tests.support import toolchains as tc

OLDEST_REGISTER_ABI, NEWEST = "1.19", "1.27.3"


def _toolchain(version: str) -> None:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")


def test_goid_offsets_of_the_table_match_dwarf() -> None:
    """The table stripped binaries rely on, checked against the DWARF of real builds."""
    for version in tc.goroots():
        for variant in ("default", "arm64"):
            with GoBinary.open(str(tc.build("values", version, variant))) as b:
                offset = b.dwarf.member_offset("runtime", "runtime.g", "goid")
                assert offset == VERIFIED_GOID_OFFSETS[b.buildinfo.version_tuple()], (version, variant)


def _trace_values(version: str, variant: str) -> tuple[dict[str, list[dict]], str, str]:
    binary = tc.build("values", version, variant)
    run = TraceRun("--json", "--ret", str(binary), "main.*")
    out = run_program(binary)
    assert out.returncode == 0, out.stderr
    run.proc.send_signal(signal.SIGINT)  # teardown prints every event recorded before it
    events, err = run.finish()
    by_function: dict[str, list[dict]] = {}
    for e in events:
        by_function.setdefault(e["function"], []).append(e)
    return by_function, out.stdout, err


@pytest.mark.kernel
@pytest.mark.parametrize("version", [OLDEST_REGISTER_ABI, NEWEST])
def test_values_read_as_go_writes_them(root: str, version: str) -> None:
    _toolchain(version)
    ev, stdout, err = _trace_values(version, "default")
    assert ev["main.Describe"][0]["args"] == {"u": {"ID": 1, "Name": "bob", "Admin": True}}
    assert ev["main.Open"][0]["args"] == {"path": "/nonexistent/file"}  # .rodata, from the file
    many = ev["main.Many"][0]["args"]
    assert many == {name: i + 1 for i, name in enumerate("abcdefghijk")}, err  # j, k: stack
    wait_in, wait_out = ev["main.Wait"]
    assert wait_in["args"] == {"d": "1.5s"} and wait_out["returns"] == {"~r0": "750ms"}
    serve = ev["main.Serve"]
    assert serve[0]["args"]["u"] == {"ID": 1, "Name": "bob", "Admin": True}  # followed one level
    assert serve[1]["returns"] == {"~r0": 200, "~r1": None}  # a nil error
    assert serve[2]["args"] == {"u": None} and serve[3]["returns"]["~r0"] == 404
    # interfaces: the dynamic type from the binary's type metadata, and the value behind it
    assert [e["args"]["v"] for e in ev["main.Classify"] if e["kind"] == "entry"] == [
        {"type": "int", "value": 7},
        {"type": "string", "value": "seven"},
    ]
    assert serve[3]["returns"]["~r1"] == {
        "type": "*errors.errorString",
        "value": {"s": "not found: /missing"},
    }
    path_error = ev["main.Open"][1]["returns"]["~r0"]
    assert path_error["type"] == "*fs.PathError"
    assert {k: path_error["value"][k] for k in ("Op", "Path")} == {"Op": "open", "Path": "/nonexistent/file"}
    assert ev["main.Divide"][0]["args"] == {"a": 7, "b": 2}
    assert ev["main.Sum"][0]["args"] == {"xs": {"len": 3, "cap": 3, "elements": [1, 2, 3]}}
    assert ev["main.Count"][0]["args"] == {"m": {"len": 2}}
    assert ev["main.Paint"][0]["args"] == {
        "c": 3,
        "scale": "<float: in a vector register, which uprobes cannot read>",
    }
    assert ev["main.Divide"][1]["returns"] == {"~r0": 3, "~r1": 1}
    assert [(e["kind"], e["args"], e["returns"]) for e in ev["main.Nothing"]] == [
        ("entry", {}, {}),
        ("return", {}, {}),
    ]
    assert [e["returns"] for e in ev["main.(*MemStore).Get"] if e["kind"] == "return"][1] == {
        "~r0": "",
        "~r1": {"type": "*errors.errorString", "value": {"s": "too many"}},
    }
    _assert_goids(ev, stdout)
    # a typed nil is nil, typed: never the zeros a faulted read leaves
    keep = [e["args"]["v"] for e in ev["main.Keep"] if e["kind"] == "entry"]
    assert keep[0] == {"type": "*main.Evil", "value": None}
    assert [e["returns"]["~r1"] for e in ev["main.TypedNil"] if e["kind"] == "return"] == [
        {"type": "*main.MyErr", "value": None},
        {"type": "*main.MyErr", "value": {"msg": "boom"}},
    ]
    # behind an interface, the fields that were read, and how many were not
    big = keep[1]
    assert big["type"] == "*main.Big" and big["unread_fields"] == 6
    assert int(big["value"]["A"], 16) and (big["value"]["B"], big["value"]["C"]) == (None, None)
    # an invalid byte is not the text `\xff`
    assert [e["args"]["s"] for e in ev["main.Text"] if e["kind"] == "entry"] == ["a\ufffdb", "a\\xffb"]


@pytest.mark.kernel
def test_typed_nils_and_invalid_bytes_in_text(root: str) -> None:
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST)
    run = TraceRun("--ret", str(binary), "main.Keep", "main.TypedNil", "main.Text")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    out = run.proc.communicate(timeout=60)[0]
    assert "-> main.Keep(v=(*main.Evil)(nil))" in out
    assert "<- main.TypedNil = (~r0=2, ~r1=(*main.MyErr)(nil))" in out
    assert re.search(r"-> main\.Keep\(v=\*main\.Big\{A:0x[0-9a-f]+, B:nil, C:nil, …\+6\}\)", out)
    assert '-> main.Text(s="a\\xffb")' in out and '-> main.Text(s="a\\\\xffb")' in out


@pytest.mark.kernel
@pytest.mark.parametrize("version", [OLDEST_REGISTER_ABI, NEWEST])
def test_without_dwarf_nothing_is_invented_and_goid_is_known(root: str, version: str) -> None:
    """-s -w: the argument words exactly (_func.args), grouped into arguments by ArgInfo."""
    _toolchain(version)
    ev, stdout, _err = _trace_values(version, "sw")
    _assert_goids(ev, stdout)
    assert ev["main.Nothing"][0]["args"] == {}
    assert ev["main.Many"][0]["args"] == {f"arg{i}": i + 1 for i in range(11)}
    assert ev["main.Divide"][0]["args"] == {"arg0": 7, "arg1": 2}
    # User{ID:1, Name:"bob", Admin:true} is one argument of four words: 1, &"bob", 3, true;
    # words of an unknown type are "0x…" strings, as Go's traceback prints them
    (describe,) = [e["args"] for e in ev["main.Describe"] if e["kind"] == "entry"]
    assert list(describe) == ["arg0"] and describe["arg0"][0::2] == ["0x1", "0x3"]
    assert describe["arg0"][3] == "0x1" and int(describe["arg0"][1], 16) > 0
    # []int{1, 2, 3}: pointer, len, cap; an interface: type and data words
    assert [e["args"]["arg0"][1:] for e in ev["main.Sum"] if e["kind"] == "entry"] == [["0x3", "0x3"]]
    assert all(
        len(e["args"]) == 1 and len(e["args"]["arg0"]) == 2
        for e in ev["main.Classify"]
        if e["kind"] == "entry"
    )
    returns = [e for e in ev["main.Divide"] + ev["main.Nothing"] if e["kind"] == "return"]
    assert all(e["returns"] == {} and set(e["registers"]) == {"rax", "rbx"} for e in returns)
    # Methods: the full signature from the runtime type metadata, results and errors included
    get = ev["main.(*MemStore).Get"]
    assert [{k: v for k, v in e["args"].items() if k != "recv"} for e in get if e["kind"] == "entry"] == [
        {"arg0": "id", "arg1": 1},
        {"arg0": "id", "arg1": 2},
    ]
    # the receiver's struct, found by name in the type metadata and followed as with DWARF
    assert all(e["args"]["recv"] == {"prefix": "k:"} for e in get if e["kind"] == "entry")
    assert [e["returns"] for e in get if e["kind"] == "return"] == [
        {"ret0": "k:id", "ret1": None},
        {"ret0": "", "ret1": {"type": "*errors.errorString", "value": {"s": "too many"}}},
    ]
    assert [e["args"]["recv"] for e in ev["main.Counter.Get"] if e["kind"] == "entry"] == [
        {"N": 4, "Step": 2}
    ] * 2
    assert all("registers" not in e for e in get + ev["main.Counter.Get"])


def _assert_goids(ev: dict[str, list[dict]], stdout: str) -> None:
    """Each worker's goid as the program itself printed it (runtime.Stack's first line)."""
    reported = {int(w): int(g) for g, w in re.findall(r"goid (\d+) worker (\d+)", stdout)}
    seen = {
        e["args"].get("n", e["args"].get("arg0")): e["goid"]
        for e in ev["main.Worker"]
        if e["kind"] == "entry"
    }
    assert len(reported) == 3 and seen == reported
    assert {e["goid"] for e in ev["main.Divide"]} == {1}  # main's goroutine


@pytest.mark.kernel
def test_text_output_reads_like_go(root: str) -> None:
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST)
    run = TraceRun(
        "--count", "10", "--ret", str(binary), "main.Wait", "main.Serve", "main.Describe", "main.Paint"
    )
    assert run_program(binary).returncode == 0
    out, _err = run.proc.communicate(timeout=60)
    assert "-> main.Wait(d=1.5s)" in out and "-> main.Serve(u=nil)" in out
    assert '-> main.Describe(u=main.User{ID:1, Name:"bob", Admin:true})' in out
    assert "-> main.Paint(c=main.Color(3), scale=<float: in a vector register" in out
    assert '<- main.Serve = (~r0=404, ~r1=*errors.errorString{s:"not found: /missing"})' in out
    assert re.search(r' g1 cpu\d+ -> main.Serve\(u=&main.User\{ID:1, Name:"bob", Admin:true\}\)', out), out


@pytest.mark.kernel
def test_field_selectors_follow_pointers(root: str) -> None:
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST)
    run = TraceRun(
        "--json", "--count", "2", "--field", "r.URL.Path", "--field", "r.Method", str(binary), "main.Handle"
    )
    assert run_program(binary).returncode == 0
    events, err = run.finish()
    assert [{k: e["args"][k] for k in ("r.URL.Path", "r.Method")} for e in events] == [
        {"r.URL.Path": "/healthz", "r.Method": "GET"},
        {"r.URL.Path": "<nil pointer on the way>", "r.Method": "HEAD"},
    ], err


def test_a_bad_field_is_one_line_and_exit_2() -> None:
    import subprocess
    import sys

    _toolchain(NEWEST)
    binary = str(tc.build("values", NEWEST))
    for expr, why in (
        ("r.URL.Nope", "main.URL has no field Nope"),
        ("q.Path", "no traced function has a parameter q"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "trace", "--field", expr, binary, "main.Handle"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1
        assert lines[0].startswith(f"goprobe-tui: --field {expr}: {why}")


@pytest.mark.kernel
def test_pie_reads_types_and_literals_at_the_load_bias(root: str) -> None:
    """A PIE maps the binary elsewhere: the bias seen at the probe's own address converts."""
    _toolchain(NEWEST)
    ev, _stdout, err = _trace_values(NEWEST, "pie")
    assert [e["args"]["v"] for e in ev["main.Classify"] if e["kind"] == "entry"] == [
        {"type": "int", "value": 7},
        {"type": "string", "value": "seven"},
    ], err
    assert ev["main.Describe"][0]["args"] == {"u": {"ID": 1, "Name": "bob", "Admin": True}}
    assert ev["main.Open"][0]["args"] == {"path": "/nonexistent/file"}
    # an itab of the binary's data, found at the bias whose page offset matches the RET
    # that fired (the process has exited by the time its events are decoded)
    assert ev["main.Serve"][3]["returns"]["~r1"] == {
        "type": "*errors.errorString",
        "value": {"s": "not found: /missing"},
    }


@pytest.mark.kernel
def test_pointer_depth_can_be_changed(root: str) -> None:
    """--depth 0: the pointer alone; the default 1: the struct behind it; 2: one more level."""
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST)
    seen = {}
    for depth in ("0", "2"):
        run = TraceRun("--json", "--depth", depth, str(binary), "main.Handle")
        assert run_program(binary).returncode == 0
        run.proc.send_signal(signal.SIGINT)
        events, _err = run.finish()
        seen[depth] = [e["args"]["r"] for e in events]
    assert all(isinstance(r, str) and r.startswith("0x") for r in seen["0"])
    assert seen["2"] == [
        {"Method": "GET", "URL": {"Host": "x", "Path": "/healthz"}},
        {"Method": "HEAD", "URL": None},
    ]


@pytest.mark.kernel
def test_text_output_of_a_stripped_build(root: str) -> None:
    """-s -w, as text: no invented names or results; a method's results from type metadata."""
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST, "sw")
    run = TraceRun("--ret", str(binary), "main.Nothing", "main.Divide", "main.(*MemStore).Get")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    out, _err = run.proc.communicate(timeout=60)
    assert "-> main.Nothing()" in out and "-> main.Divide(arg0=7, arg1=2)" in out
    assert re.search(r"<- main\.Divide returned \(results unknown; registers rax=0x3, rbx=0x1\)", out)
    assert '-> main.(*MemStore).Get(recv=&main.MemStore{prefix:"k:"}, arg0="id", arg1=2)' in out
    assert '<- main.(*MemStore).Get = (ret0="", ret1=*errors.errorString{s:"too many"})' in out


@pytest.mark.kernel
def test_a_condition_on_a_field_reads_it_and_filters(root: str) -> None:
    _toolchain(NEWEST)
    binary = tc.build("values", NEWEST)
    run = TraceRun("--json", "--where", 'r.Method == "GET"', str(binary), "main.Handle")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert [e["args"]["r.Method"] for e in events] == ["GET"], err
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            "trace",
            "--where",
            'r.Nope == "x"',
            str(binary),
            "main.Handle",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "r.Nope" in out.stderr and len(out.stderr.splitlines()) == 1
