"""Bad input: one line on stderr naming the file and the cause, exit 2, no traceback, no hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from goprobe_tui.errors import BadInput
from tests.conftest import need
from tests.support import toolchains as tc


def run_list(path: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "list", *extra, path],
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], path: str, cause: str) -> None:
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert path in lines[0] and cause in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def divide() -> Path:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    return tc.build("divide", "1.27.3")


def test_missing_file(tmp_path: Path) -> None:
    p = str(tmp_path / "nope")
    assert_one_line_error(run_list(p), p, "No such file")


def test_directory(tmp_path: Path) -> None:
    assert_one_line_error(run_list(str(tmp_path)), str(tmp_path), "not a regular file")


def test_not_elf(tmp_path: Path) -> None:
    p = tmp_path / "script.sh"
    p.write_text("#!/bin/sh\necho hi\n" * 10)
    assert_one_line_error(run_list(str(p)), str(p), "not an ELF file")


def test_elf_but_not_go(tmp_path: Path) -> None:
    p = tmp_path / "c-program"
    src = tmp_path / "x.c"
    src.write_text("int main(void){return 0;}\n")
    subprocess.run(["cc", "-o", str(p), str(src)], check=True)
    assert_one_line_error(run_list(str(p)), str(p), "not a Go binary")


def test_truncated(tmp_path: Path, divide: Path) -> None:
    p = tmp_path / "truncated"
    p.write_bytes(divide.read_bytes()[:200_000])
    assert_one_line_error(run_list(str(p), "--json"), str(p), "truncated")


def test_absurd_function_count(tmp_path: Path, divide: Path) -> None:
    data = bytearray(divide.read_bytes())
    magic = data.find(b"\xf1\xff\xff\xff\x00\x00\x01\x08")
    data[magic + 8 : magic + 16] = (2**62).to_bytes(8, "little")
    p = tmp_path / "absurd"
    p.write_bytes(bytes(data))
    assert_one_line_error(run_list(str(p)), str(p), "functions")


def test_corrupt_function_table(tmp_path: Path, divide: Path) -> None:
    data = bytearray(divide.read_bytes())
    magic = data.find(b"\xf1\xff\xff\xff\x00\x00\x01\x08")
    pcln = int.from_bytes(data[magic + 8 + 7 * 8 : magic + 8 + 8 * 8], "little")
    ftab = magic + pcln
    data[ftab + 8 : ftab + 12] = b"\xff\xff\xff\x7f"  # second entry far beyond the rest
    data[ftab + 12 : ftab + 16] = b"\xff\xff\xff\x7f"  # and its _func far out of bounds
    p = tmp_path / "corrupt"
    p.write_bytes(bytes(data))
    assert_one_line_error(run_list(str(p)), str(p), "function table is not sorted")


def test_json_is_one_object(divide: Path) -> None:
    import json

    proc = run_list(str(divide), "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert set(doc) == {
        "path",
        "goversion",
        "arch",
        "pclntab_version",
        "text_start",
        "functions",
        "inlined_only",
    }
    assert all(isinstance(f["offset"], int) for f in doc["functions"])
    assert all(isinstance(f["inlined_sites"], int) for f in doc["functions"])
    assert all(set(f) == {"name", "sites"} for f in doc["inlined_only"])
    assert proc.stdout.count("\n") == 1


def run_trace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "trace", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--duration", "0"),
        ("--duration", "nan"),
        ("--duration", "-1"),
        ("--duration", "inf"),
        ("--count", "0"),
        ("--count", "-5"),
        ("--max-probes", "-1"),
        ("--max-rate", "0"),
    ],
)
def test_counts_and_durations_must_be_positive(divide: Path, flag: str, value: str) -> None:
    assert_one_line_error(run_trace(flag, value, str(divide), "main.Divide"), flag, value)


def test_fetch_for_a_function_not_traced_is_an_error(divide: Path) -> None:
    proc = run_trace("--fetch", "main.main=a=%ax:s64", str(divide), "main.Divide")
    assert_one_line_error(proc, "main.main", "not among the traced functions")


def test_list_shows_non_ascii_names_as_they_are() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    out = run_list(str(tc.build("hostile", "1.27.3")))
    assert out.returncode == 0 and "main.Größe" in out.stdout


def test_probe_path_longer_than_the_kernel_takes_is_named_so(tmp_path: Path) -> None:
    from goprobe_tui.tracefs.naming import check_probe_path

    with pytest.raises(BadInput, match="longer than the kernel takes"):
        check_probe_path("/" + "a/" * 2100 + "bin")


def test_tracefs_covered_by_tmpfs_or_read_only_is_named_so(monkeypatch) -> None:
    from goprobe_tui.tracefs import fs
    from goprobe_tui.tracefs.errors import TracefsError

    monkeypatch.setattr(fs, "_mounts", lambda: {"/sys/kernel/tracing": ("tmpfs", "rw")})
    monkeypatch.setattr(fs.os.path, "exists", lambda _p: False)
    with pytest.raises(TracefsError, match="covered by a tmpfs mount"):
        fs.find_tracefs(mount=False)


def test_save_is_all_or_nothing(tmp_path: Path) -> None:
    from goprobe_tui.atomic_file import save_atomically

    target = tmp_path / "events.jsonl"
    target.write_text("old\n")

    def disk_full(out):
        out.write("one\n")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        save_atomically(str(target), disk_full)
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]
    save_atomically(str(target), lambda out: out.writelines(["a\n", "b\n"]))
    assert target.read_text() == "a\nb\n"


def test_read_only_tracefs_is_named_so(monkeypatch) -> None:
    from goprobe_tui.tracefs import fs
    from goprobe_tui.tracefs.errors import TracefsError

    monkeypatch.setattr(fs, "_mounts", lambda: {"/sys/kernel/tracing": ("tracefs", "ro,nosuid")})
    monkeypatch.setattr(fs.os.path, "exists", lambda _p: True)
    monkeypatch.setattr(fs.os, "access", lambda _p, mode: mode != fs.os.W_OK)
    monkeypatch.setattr(fs, "_lockdown", lambda: "none")
    with pytest.raises(TracefsError, match="mounted read-only"):
        fs.find_tracefs(mount=False)


def test_generic_function_name_matches_itself() -> None:
    from goprobe_tui.engine.patterns import matches as _matches

    assert _matches("main.Gen[go.shape.int]", "main.Gen[go.shape.int]")
    assert not _matches("main.Gen[go.shape.string]", "main.Gen[go.shape.int]")
    assert _matches("main.Gen[go.shape.string]", "main.Gen*")
    assert _matches("main.Gen[go.shape.int]", "main.Gen[[]*")  # a bracket globbed past, as documented


def test_exit_status_is_not_zero_after_a_ui_crash(divide: Path, monkeypatch) -> None:
    """An exception inside the app ends it; the process must not report success."""
    import argparse

    from textual.app import App

    from goprobe_tui.ui import app as app_module
    from goprobe_tui.ui import launch

    def boom(self) -> None:
        raise RuntimeError("a bug in the UI")

    monkeypatch.setattr(app_module.GoprobeApp, "on_mount", boom)
    monkeypatch.setattr(app_module.GoprobeApp, "run", lambda self: App.run(self, headless=True))
    monkeypatch.setattr(launch, "open_controller", lambda *a: (None, "test: read-only"))
    args = argparse.Namespace(binary=str(divide), pid=None, max_rate=None)
    assert launch.run_ui(args) != 0


def test_list_takes_patterns(divide: Path) -> None:
    import json

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "goprobe_tui", *args], capture_output=True, text=True, timeout=30
        )

    out = run("list", "--json", str(divide), "main.*")
    names = [f["name"] for f in json.loads(out.stdout)["functions"]]
    assert out.returncode == 0 and names == ["main.Divide", "main.main"]
    out = run("list", str(divide), "main.Div*")
    assert out.returncode == 0 and [ln.split()[2] for ln in out.stdout.splitlines()[2:]] == ["main.Divide"]
    out = run("list", str(divide), "nope.*")
    assert out.returncode == 2 and out.stderr.strip().endswith("no function matches nope.*")


@pytest.mark.parametrize(
    ("spec", "cause"),
    [
        ("nosuch.go:3", "no source file ends with 'nosuch.go'"),
        ("main.go:1", "no code at this line (nearest lines with code:"),
        ("main.go:99999", "past the end of its code (the last line with code is"),
        ("proc.go:10", "names 2 files: os/proc.go, runtime/proc.go; give more of the path"),
    ],
)
def test_a_line_that_names_no_code_is_one_line_and_exit_2(divide: Path, spec: str, cause: str) -> None:
    """Checked before anything reaches the kernel (no root needed to be told)."""
    assert_one_line_error(run_trace(str(divide), spec), spec.split(":")[0], cause)


def test_an_unknown_format_is_one_line_and_exit_2() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "trace", "--format", "xml", "/bin/true", "main.*"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "unknown format 'xml' (known: " in out.stderr


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("variant", "args"),
    [
        ("default", ("--where", "main.C: x > 3", "main.*")),
        ("default", ("--where", "x > 3", "main.only")),
        ("strip", ("--where", "arg0 > 3", "main.*")),
        ("strip", ("--field", "arg0.(*main.T).X", "main.*")),
        ("strip", ("--by", "arg0", "main.*")),
    ],
)
def test_functions_that_exist_only_inlined_crash_nothing(
    root: str, tmp_path: Path, variant: str, args: tuple[str, ...]
) -> None:
    """A pattern that takes in a function with no body of its own (main.only) once indexed
    the pclntab's argument sizes past their end: IndexError, traceback, exit 1."""
    del root
    private = tmp_path / "inline"  # probes without --pid fire in every process of the file
    private.write_bytes(tc.build("inline", "1.27.3", variant).read_bytes())
    private.chmod(0o755)
    flag, value, pattern = args
    command = "stats" if flag == "--by" else "trace"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            command,
            flag,
            value,
            str(private),
            pattern,
            "--duration",
            "0.2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    assert done.returncode in (0, 1, 2) and done.stderr.strip(), done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", "BIN", "--ret", "main.A", "main.B"],
        ["trace", "--ret", "BIN", "main.A", "--duration", "1m30s", "main.B"],
        ["trace", "BIN", "main.A", "--where", "d > 50ms", "main.B", "--ret"],
    ],
)
def test_options_stand_anywhere_among_the_positionals(argv: list[str]) -> None:
    from goprobe_tui.cli.parser import parse

    args = parse(argv)
    assert (args.command, args.binary, args.patterns, args.ret) == (
        "trace",
        "BIN",
        ["main.A", "main.B"],
        True,
    )


def test_durations_on_the_command_line_are_seconds_or_go_durations() -> None:
    from goprobe_tui.cli.parser import parse

    assert parse(["stats", "BIN", "main.A", "--duration", "1m30s"]).duration == 90
    assert parse(["stats", "BIN", "main.A", "--duration", "2.5"]).duration == 2.5
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "stats", "BIN", "--duration", "3x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "Go duration" in done.stderr and len(done.stderr.splitlines()) == 1


def test_untraced_inlined_calls_of_many_functions_are_one_summary_line(capsys) -> None:
    """strings.* on hugo printed a line per function about inlined calls left unprobed (38):
    above 3 such functions one summary line says it, and other notes stay."""
    from types import SimpleNamespace

    from goprobe_tui.cli.headless import _say_notes

    def att(name: str, missed: int, note: str) -> SimpleNamespace:
        return SimpleNamespace(
            function=SimpleNamespace(key=name), inlined_missed=missed, inlined_calls=10, note=note
        )

    why = "(2 its code is entered at 3 places; 1 its first block is also reached from inside it)"
    many = [att(f"main.F{i}", 3, f"3 of its 13 inlined calls not traced {why}") for i in range(5)]
    many.append(att("main.G", 1, f"entry probe only; 1 of its 11 inlined calls not traced {why}"))
    _say_notes(many, "/bin/app")
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "goprobe-tui: 'main.G': entry probe only",
        "goprobe-tui: 16 of 76 inlined calls of 6 functions have no place that runs once "
        "per call: their counts are partial (+); `goprobe-tui list /bin/app PATTERN` "
        "says which",
    ]
    _say_notes(many[:2], "/bin/app")
    assert len(capsys.readouterr().err.splitlines()) == 2  # few: each says its own


def test_a_long_attach_shows_progress_on_stderr(monkeypatch) -> None:
    """Over half a second: count and total, in place on a terminal (cleared at the end), plain
    lines at most once a second otherwise; a short attach shows nothing."""
    import io

    from goprobe_tui.cli import progress as mod

    clock = [100.0]
    monkeypatch.setattr(mod.time, "monotonic", lambda: clock[0])
    plain = mod.ProgressLine(io.StringIO(), tty=False)
    plain("planning", 1, 10)  # not yet half a second
    for done in range(2, 11):
        clock[0] += 0.3
        plain("planning", done, 10)
    lines = plain.stream.getvalue().splitlines()
    assert lines[0] == "goprobe-tui: planning 3/10 (30%)" and lines[-1].endswith("10/10 (100%)")
    assert len(lines) == 3  # 3, 7 (a second later), and the last one
    term = mod.ProgressLine(io.StringIO(), tty=True)
    clock[0] += 1
    term("attaching", 500, 6822)
    term.close()
    assert term.stream.getvalue() == "\r\x1b[Kgoprobe-tui: attaching 500/6,822 (7%)\r\x1b[K"


def test_the_same_note_of_many_functions_is_one_line(capsys) -> None:
    """hugolib.(*HugoSites).* printed 25 lines `'F': no RET instruction (…): entry probe only`:
    above 3 functions one line says it, with how many and the first names."""
    from types import SimpleNamespace

    from goprobe_tui.cli.headless import _say_notes

    note = "no RET instruction (ends in a tail call or never returns): entry probe only"
    many = [
        SimpleNamespace(
            function=SimpleNamespace(key=f"main.F{i}"), inlined_missed=0, inlined_calls=0, note=note
        )
        for i in range(25)
    ]
    _say_notes(many, "/bin/app")
    assert capsys.readouterr().err.splitlines() == [
        f"goprobe-tui: 25 functions ('main.F0', 'main.F1', 'main.F2', …): {note}"
    ]
