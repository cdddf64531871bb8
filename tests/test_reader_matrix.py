"""Every function of real Go binaries equals debug/gosym's answer: name, entry, end, offset, file, line."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from goprobe_tui.cli.listing import write_json
from goprobe_tui.gobinary import GoBinary
from tests.conftest import need
from tests.support import npm_fixtures
from tests.support import toolchains as tc

# Which file the reference reads, and where it gets the true runtime.text from.
# Stripped builds keep the default build's layout; the reference uses its symbol table.
_REFERENCE = {
    "default": ("self", None),
    "sw": ("self", "default"),
    "strip": ("self", "default"),
    "pie": ("self", None),
    "cgo": ("self", None),
    "arm64": ("self", None),
    "arm64-sw": ("self", "arm64"),
    "noshdr": ("default", None),
}


def reference(path: Path, *flags: str) -> dict:
    out = subprocess.run(
        [str(tc.goref_binary()), *flags, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def ours(path: Path) -> dict:
    buf = io.StringIO()
    with GoBinary.open(str(path)) as binary:
        write_json(binary, buf)
    return json.loads(buf.getvalue())


def assert_same_functions(mine: dict, ref: dict) -> None:
    got, want = mine["functions"], ref["functions"]
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert isinstance(g.pop("inlined_sites"), int)  # ours alone: gosym does not read it
        assert g == w, f"function #{i} differs"


@pytest.mark.parametrize("variant", tc.VARIANTS)
@pytest.mark.parametrize("program", ["divide", "large"])
@pytest.mark.parametrize("version", tc.expected_versions())
def test_every_function_matches_gosym(version: str, program: str, variant: str) -> None:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    path = tc.build(program, version, variant)
    source, text_from = _REFERENCE[variant]
    ref_path = path if source == "self" else tc.build(program, version, source)
    flags = ("-textfrom", str(tc.build(program, version, text_from))) if text_from else ()
    ref = reference(ref_path, *flags)
    mine = ours(path)
    assert mine["text_start"] == ref["text_start"]
    assert mine["arch"] == ("arm64" if variant.startswith("arm64") else "amd64")
    assert mine["goversion"].startswith(f"go{version}")
    assert_same_functions(mine, ref)
    names = {f["name"] for f in mine["functions"]}
    assert "main.main" in names
    if program == "large":
        assert "main.(*Server).handleConn" in names


@pytest.mark.parametrize("pkg", npm_fixtures.OLD_BINARIES, ids=lambda p: p.id)
def test_old_release_binaries_match_gosym(pkg: npm_fixtures.NpmBinary) -> None:
    path = npm_fixtures.fetch(pkg)
    ref = reference(path, *([pkg.text] if pkg.text else []))
    mine = ours(path)
    assert mine["pclntab_version"] == pkg.table
    assert mine["goversion"] == pkg.goversion
    assert_same_functions(mine, ref)
    assert len(mine["functions"]) > 4000


@pytest.mark.parametrize("version", tc.expected_versions())
def test_divide_offset_matches_seed_readelf_recipe(version: str) -> None:
    """The seed computes sym - .text addr + .text offset by hand with readelf."""
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    path = tc.build("divide", version)
    syms = subprocess.run(
        ["readelf", "--wide", "--syms", str(path)], check=True, capture_output=True, text=True
    ).stdout
    addr = next(int(line.split()[1], 16) for line in syms.splitlines() if line.endswith(" main.Divide"))
    secs = subprocess.run(
        ["readelf", "--wide", "--section-headers", str(path)], check=True, capture_output=True, text=True
    ).stdout
    fields = next(line.split("]", 1)[1].split() for line in secs.splitlines() if " .text " in line)
    text_addr, text_off = int(fields[2], 16), int(fields[3], 16)
    with GoBinary.open(str(path)) as binary:
        fn = binary.find("main.Divide")
    assert fn is not None
    assert fn.entry == addr
    assert fn.offset == addr - text_addr + text_off
