"""Shared fixtures. Missing toolchains or kernel features fail the run in CI instead of skipping."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    """The tester's own keymap must not change what the tests press, and the tests' cached
    facts about binaries stay out of the tester's cache."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def need(condition: bool, why: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping what it was meant to prove."""
    if condition:
        return
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def root():
    """The tracefs root, for tests that attach real probes; whatever a failing test left behind
    is swept afterwards (and then reported as a failure)."""
    from goprobe_tui.tracefs import fs
    from goprobe_tui.tracefs.stale import sweep_stale
    from tests.kernel_helpers import goprobe_leftovers, stop_started

    need(os.geteuid() == 0, "kernel tests need root")
    try:
        path = fs.find_tracefs()
    except Exception as exc:
        need(False, f"tracefs unusable: {exc}")
    yield path
    stop_started()
    # Only when this test left something: a sweep removes every dead session, and another
    # test (another worker, another run) may have killed one on purpose to clean it up itself.
    if goprobe_leftovers(path):
        sweep_stale(path)
    assert goprobe_leftovers(path) == []
