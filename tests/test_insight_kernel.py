"""Insight on the real kernel: per-function statistics (`stats`), on DWARF and stripped builds."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import need
from tests.kernel_helpers import TraceRun, run_program
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel
NEWEST = "1.27.3"
MS = 1_000_000


def _stats(variant: str, mode: str, *patterns: str) -> dict[str, dict]:
    need(NEWEST in tc.goroots(), f"Go {NEWEST} toolchain missing: run .ci/run")
    binary = tc.build("insight", NEWEST, variant)
    run = TraceRun("--json", str(binary), *patterns, command="stats")
    assert run_program(binary, mode).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    rows, err = run.finish()
    assert run.proc.returncode == 0, err
    return {r["function"]: r for r in rows}


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_stats_latency_percentiles_and_histogram(root: str, variant: str) -> None:
    """Sleepy sleeps 10 ms x20 and 50 ms x5."""
    sleepy = _stats(variant, "sleep", "main.Sleepy")["main.Sleepy"]
    assert (sleepy["calls"], sleepy["returns"], sleepy["unpaired_returns"]) == (25, 25, 0)
    assert 10 * MS <= sleepy["p50_ns"] < 15 * MS
    assert 50 * MS <= sleepy["max_ns"] < 70 * MS and 50 * MS <= sleepy["p99_ns"] <= sleepy["max_ns"]
    assert sum(n for _lo, _hi, n in sleepy["histogram"]) == 25
    buckets = {lo: n for lo, _hi, n in sleepy["histogram"]}
    assert buckets[1 << 23] == 20 and buckets[1 << 25] == 5  # 8.4-16.8 ms and 33.6-67.1 ms
    slowest = sleepy["slowest"]
    assert slowest["latency_ns"] == sleepy["max_ns"]
    assert slowest["args"] == ({"ms": 50} if variant == "default" else {"arg0": 50})
    assert sleepy["errors"] is None  # Sleepy has no error result


@pytest.mark.parametrize("variant", ["default", "sw"])
def test_stats_count_errors_where_the_result_type_is_known(root: str, variant: str) -> None:
    """Fallible returns an error every 4th call of 100; stripped, its results are unknown."""
    fallible = _stats(variant, "errors", "main.Fallible")["main.Fallible"]
    assert (fallible["calls"], fallible["returns"]) == (100, 100)
    assert fallible["errors"] == (25 if variant == "default" else None)
