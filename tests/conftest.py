"""Shared fixtures. Missing toolchains or kernel features fail the run in CI instead of skipping."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI") == "true"


def need(condition: bool, why: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping what it was meant to prove."""
    if condition:
        return
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)
