"""Hit counts read from uprobe_profile while other sessions change the probe list: the kernel
hands the listing out a page at a time, so a line can be skipped or repeated between pages."""

from __future__ import annotations

from goprobe_tui.tracefs import session as session_module
from goprobe_tui.tracefs.session import ProbeEvent, ProbeSession, Site


def _session(listings: list[str], monkeypatch) -> ProbeSession:
    s = object.__new__(ProbeSession)
    s.root = "/nonexistent"
    s._last_hits = {}
    site = Site("main.Work", "entry", 0x1000, 0x1000, ())
    s.events = {
        "gp1_0_main_Work": ProbeEvent("gp1_0_main_Work", "entry", "/bin/x", (), False, False, [site, site])
    }
    reads = iter(listings)
    monkeypatch.setattr(session_module.fs, "read_text", lambda _path: next(reads))
    return s


def _listing(*counts: int) -> str:
    other = "  /usr/bin/other gp9_0_other 7\n"
    return other + "".join(f"  /bin/x gp1_0_main_Work {n}\n" for n in counts) + other


def test_a_line_skipped_by_a_shift_is_read_again(monkeypatch) -> None:
    s = _session([_listing(500), _listing(500, 500)], monkeypatch)
    assert s.hits() == {("gp1_0_main_Work", 0): 500, ("gp1_0_main_Work", 1): 500}


def test_a_repeated_line_is_read_again(monkeypatch) -> None:
    s = _session([_listing(5, 5, 6), _listing(5, 6)], monkeypatch)
    assert s.hits() == {("gp1_0_main_Work", 0): 5, ("gp1_0_main_Work", 1): 6}


def test_never_consistent_keeps_the_last_true_counts(monkeypatch) -> None:
    s = _session([_listing(3, 4)] + [_listing(9)] * session_module.HITS_READS, monkeypatch)
    assert s.hits() == {("gp1_0_main_Work", 0): 3, ("gp1_0_main_Work", 1): 4}
    assert s.hits() == {("gp1_0_main_Work", 0): 3, ("gp1_0_main_Work", 1): 4}  # not 0, not 9
