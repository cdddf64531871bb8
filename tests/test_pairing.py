"""Entry/return pairing per goroutine: unmatched returns, abandoned entries, the memory bound."""

from __future__ import annotations

from goprobe_tui.events.calls import CallStacks as Pairing


def test_pairing_unmatched_return_leaves_the_stack_alone() -> None:
    p = Pairing()
    key = (1, 0xA)
    p.push(key, "main.outer", 100)
    p.push(key, "main.inner", 200)
    assert p.pop(key, "main.stray") is None  # e.g. a probe attached mid-call
    assert p.pop(key, "main.inner") == 200
    assert p.pop(key, "main.outer") == 100
    assert (p.unmatched, p.pending) == (1, 0)


def test_pairing_skips_entries_that_never_returned() -> None:
    p = Pairing()
    key = (1, 0xA)
    p.push(key, "main.f", 1)
    p.push(key, "main.panics", 2)  # panicked: its return never comes
    assert p.pop(key, "main.f") == 1
    assert (p.abandoned, p.pending) == (1, 0)


def test_pairing_any_depth_under_a_global_bound() -> None:
    p = Pairing(limit=1000)
    key = (1, 0xA)
    for i in range(5000):  # deeper than the bound: the outermost entries go, counted
        p.push(key, "main.Deep", i)
    assert p.pending == 1000 and p.evicted == 4000
    got = [p.pop(key, "main.Deep") for _ in range(5000)]
    assert got[:1000] == list(range(4999, 3999, -1))
    assert got[1000:] == [None] * 4000 and p.unmatched == 4000
