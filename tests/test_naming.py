"""Only [A-Za-z0-9_] reaches tracefs names; paths tracefs can't express are rejected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from goprobe_tui.tracefs.naming import (
    check_probe_path,
    event_name,
    parse_session_name,
    session_is_stale,
    session_name,
)


@pytest.mark.parametrize("name", ["main.Divide", "ma\n-:* #Div", "net/http.(*Server).Serve",
                                  "x" * 300, "日本.関数", "type:.eq.[2]interface {}"])
def test_event_names_are_safe(name: str) -> None:
    ev = event_name(12345, 7, name, "ret")
    assert len(ev) <= 63
    assert ev.replace("_", "").isalnum() and ev.isascii()
    assert ev.startswith("gp12345_7_") and ev.endswith("_ret")


def test_session_names() -> None:
    name = session_name()
    assert parse_session_name(name)[0] == os.getpid()
    assert not session_is_stale(name)
    assert session_is_stale("goprobe_999999999_1")
    assert not session_is_stale("othertool_1_1")  # never ours


def test_paths(tmp_path: Path) -> None:
    ok = tmp_path / "bin"
    ok.write_bytes(b"x")
    assert check_probe_path(str(ok)) == str(ok.resolve())
    for bad in ["has space", "hash#mark", "new\nline"]:
        p = tmp_path / bad
        p.write_bytes(b"x")
        with pytest.raises(ValueError):
            check_probe_path(str(p))
    with pytest.raises(ValueError):
        check_probe_path(str(tmp_path))
