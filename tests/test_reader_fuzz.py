"""Mutated real binaries: the reader raises only BinaryError, and quickly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goprobe_tui.gobinary import BinaryError, GoBinary
from tests.conftest import need
from tests.support import toolchains as tc

_cache: dict[str, bytes] = {}


def _original(variant: str) -> bytes:
    if variant not in _cache:
        need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
        _cache[variant] = tc.build("divide", "1.27.3", variant).read_bytes()
    return _cache[variant]


def _interesting_regions(data: bytes) -> list[tuple[int, int]]:
    """ELF headers plus the pclntab, where mutations hit the parser hardest."""
    regions = [(0, 64 + 56 * 12)]
    pos = data.find(b"\xf1\xff\xff\xff\x00\x00\x01\x08")
    if pos >= 0:
        regions.append((pos, pos + 4096))
        regions.append((pos, min(len(data), pos + 400_000)))
    regions.append((0, len(data)))
    return regions


mutation = st.tuples(st.integers(0, 3), st.floats(0, 1, exclude_max=True), st.integers(0, 255))


@pytest.mark.parametrize("variant", ["default", "noshdr"])
@settings(
    max_examples=120,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutations=st.lists(mutation, min_size=1, max_size=12), cut=st.none() | st.floats(0, 1))
def test_mutated_binary_raises_only_binary_error(variant: str, mutations, cut) -> None:
    data = bytearray(_original(variant))
    regions = _interesting_regions(bytes(data))
    for region, where, value in mutations:
        lo, hi = regions[min(region, len(regions) - 1)]
        data[lo + int(where * (hi - lo))] = value
    if cut is not None:
        del data[max(1, int(cut * len(data))) :]
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        try:
            with GoBinary.open(f.name) as binary:
                fns = binary.functions
                _ = binary.buildinfo
                if len(fns):
                    _ = fns[len(fns) // 2]
        except BinaryError:
            pass


def test_original_is_readable() -> None:
    with tempfile.NamedTemporaryFile() as f:
        f.write(_original("default"))
        f.flush()
        with GoBinary.open(f.name) as binary:
            assert binary.find("main.Divide") is not None


def test_empty_and_tiny_files(tmp_path: Path) -> None:
    for size in (0, 3, 16, 63, 64, 100):
        p = tmp_path / f"f{size}"
        p.write_bytes(b"\x7fELF" + bytes(max(0, size - 4)))
        with pytest.raises(BinaryError):
            GoBinary.open(str(p))
