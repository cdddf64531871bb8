"""Fuzzy search: incremental narrowing while typing gives exactly what a fresh search gives."""

from __future__ import annotations

import numpy as np

from goprobe_tui.gobinary import GoBinary
from goprobe_tui.ui.browser.search import FunctionSearch
from tests.conftest import need
from tests.support import toolchains as tc


def test_typing_narrows_to_the_same_results_as_a_fresh_search() -> None:
    need("1.27.3" in tc.goroots(), "Go 1.27.3 toolchain missing: run .ci/run")
    with GoBinary.open(str(tc.build("large", "1.27.3"))) as binary:
        names = binary.functions.names
        typing = FunctionSearch(names)
        keystrokes = [
            "s",
            "sr",
            "srv",
            "srvh",
            "srvhandleconn",
            "srvh",
            "Srv",
            "SrvH",
            "",
            "han",
            "hand",
            "handx",
            "hand",
        ]
        for query in keystrokes:
            for std in (True, False):
                got = typing.search(query, include_std=std)
                want = FunctionSearch(names).search(query, include_std=std)
                assert np.array_equal(got, want), (query, std)
        assert names[typing.search("srvhandleconn")[0]] == "main.(*Server).handleConn"


def test_own_module_first_then_dependencies_then_std() -> None:
    names = [
        "runtime.main",
        "fmt.Println",
        "github.com/x/dep.F",
        "example.com/me/pkg.G",
        "main.main",
        "example.com/me.H",
        "example.com/meh.I",
    ]
    search = FunctionSearch(names, "example.com/me")
    assert [names[i] for i in search.search("")] == [
        "example.com/me/pkg.G",
        "main.main",
        "example.com/me.H",  # own, in table order
        "github.com/x/dep.F",
        "example.com/meh.I",  # dependencies
        "runtime.main",
        "fmt.Println",
    ]  # std
    # ties in the ranking go to the own module
    assert [names[i] for i in search.search("main")][:1] == ["main.main"]


def test_search_before_and_after_its_tables_are_built_agree() -> None:
    names = [
        "main.(*Server).handleConn",
        "net/http.(*conn).serve",
        "main.main",
        "fmt.Sprintf",
        "main.handle",
        "x.Y\u00e9z",
    ]
    cold = FunctionSearch(names)
    assert not cold.ready("hand")  # tables not built yet: a worker should answer
    warm = FunctionSearch(names)
    warm.warm()
    assert warm.ready("hand") and not warm.ready("Hand")  # a capital: the case-exact tables
    for q in ("hand", "h", "srvhandleconn", "Main", "é", "zz", "x" * 100):
        assert np.array_equal(cold.search(q), warm.search(q)), q
    assert [names[i] for i in warm.search("hand")][:2] == ["main.handle", "main.(*Server).handleConn"]


def test_a_package_prefix_puts_that_packages_functions_first() -> None:
    names = [
        "runtime.main",
        "runtime.main.func2",
        "runtime.main.func1",
        "main.C",
        "main.D",
        "main.main",
        "internal/domain.F",
    ]
    search = FunctionSearch(names)
    ranked = [names[i] for i in search.search("main.")]
    assert set(ranked[:3]) == {"main.C", "main.D", "main.main"}, ranked
