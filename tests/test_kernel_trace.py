"""Real uprobes on the real kernel: decoded args and returns, stack growth, no leftovers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.session import ProbeSession
from tests.conftest import need
from tests.kernel_helpers import TraceRun, goprobe_leftovers, probes_of, run_program, tracefs_state
from tests.support import toolchains as tc

pytestmark = pytest.mark.kernel


def _toolchain(version: str) -> None:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")


NAMED = {"dividend": 5, "divisor": 3}, {"quotient": 1, "remainder": 2}
# Without DWARF: exactly the argument words (_func.args), and results never invented: the
# result registers, raw and labelled as such.
POSITIONAL = {"arg0": 5, "arg1": 3}, {}
RESULT_REGISTERS = {"rax": 1, "rbx": 2}


@pytest.mark.parametrize("variant", ["default", "strip", "pie", "noshdr", "cgo"])
@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_divide_args_returns_latency(root: str, version: str, variant: str) -> None:
    _toolchain(version)
    binary = tc.build("divide", version, variant)
    run = TraceRun("--json", "--ret", "--count", "2", str(binary), "main.Divide")
    assert run_program(binary).stdout.startswith("dividend=5 divisor=3 quotient=1 remainder=2")
    events, err = run.finish()
    assert run.proc.returncode == 0, err
    entry, ret = events
    want_args, want_rets = NAMED if variant in ("default", "pie", "cgo") else POSITIONAL
    assert entry["function"] == "main.Divide" and entry["kind"] == "entry"
    assert entry["args"] == want_args
    assert ret["kind"] == "return" and ret["returns"] == want_rets
    assert ret.get("registers", {}) == ({} if want_rets else RESULT_REGISTERS)
    assert isinstance(ret["latency_ns"], int) and ret["latency_ns"] >= 0
    assert entry["pid"] == ret["pid"] and entry["comm"]
    assert "0 lost" in err
    assert goprobe_leftovers(root) == []


def test_deep_recursion_survives_return_probes(root: str) -> None:
    _toolchain("1.27.3")
    binary = tc.build("recurse", "1.27.3")
    depth = 3000
    run = TraceRun("--json", "--ret", "--count", str(2 * (depth + 1)), str(binary), "main.Recurse")
    proc = run_program(binary, str(depth))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"result {depth}"
    events, err = run.finish()
    entries = [e for e in events if e["kind"] == "entry"]
    returns = [e for e in events if e["kind"] == "return"]
    # One entry per call, even across morestack restarts, and every return paired.
    assert len(entries) == len(returns) == depth + 1, err
    assert sorted(e["args"]["n"] for e in entries) == list(range(depth + 1))
    assert all(r["latency_ns"] is not None for r in returns)


def test_explicit_fetch_spec_overrides_decoding(root: str) -> None:
    _toolchain("1.27.3")
    binary = tc.build("divide", "1.27.3")
    run = TraceRun(
        "--json",
        "--count",
        "1",
        "--fetch",
        "main.Divide=top=%ax:s64,bottom=%bx:u32",
        str(binary),
        "main.Divide",
    )
    run_program(binary)
    events, err = run.finish()
    assert events[0]["args"] == {"top": 5, "bottom": 3}, err


def test_unsafe_fetch_spec_is_refused(root: str) -> None:
    _toolchain("1.27.3")
    binary = tc.build("divide", "1.27.3")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goprobe_tui",
            "trace",
            "--fetch",
            "main.Divide=x=%ax:s64 y=$comm:string",
            str(binary),
            "main.Divide",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 2 and "fetch arg" in err
    assert "attached" not in err and probes_of(root, proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_tear_down(root: str, sig: int) -> None:
    _toolchain("1.27.3")
    binary = tc.build("divide", "1.27.3")
    run = TraceRun("--ret", str(binary), "main.*")
    assert goprobe_leftovers(root) != []  # attached for real
    run.proc.send_signal(sig)
    run.finish(timeout=60)
    assert run.proc.returncode is not None
    assert goprobe_leftovers(root) == []


def test_exception_tears_down(root: str) -> None:
    _toolchain("1.27.3")
    from goprobe_tui.engine.attach import Attacher
    from goprobe_tui.gobinary import GoBinary

    binary = GoBinary.open(str(tc.build("divide", "1.27.3")))
    with pytest.raises(RuntimeError), ProbeSession(root) as session:
        Attacher(binary, session).attach(binary.find("main.Divide"), returns=True)
        assert session.probe_count() >= 2
        raise RuntimeError("boom")
    assert goprobe_leftovers(root) == []


def test_sigkill_then_cleanup_keeps_foreign_probe(root: str, tmp_path: Path) -> None:
    _toolchain("1.27.3")
    binary = tc.build("divide", "1.27.3")
    from goprobe_tui.gobinary import GoBinary

    with GoBinary.open(str(binary)) as b:
        off = b.find("main.Divide").offset
    foreign = f"p:othertool/divide_probe {binary}:{off:#x}"
    fs.append_command(root, foreign)
    os.mkdir(os.path.join(root, "instances", "othertool_inst"))
    try:
        run = TraceRun(str(binary), "main.Divide")
        run.proc.kill()
        run.proc.wait()
        assert goprobe_leftovers(root) != []  # SIGKILL leaves them...
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "cleanup"], capture_output=True, text=True, timeout=60
        )
        # every goprobe-tui start sweeps dead sessions: another run's may have been first
        assert out.returncode == 0 and ("removed" in out.stdout or "nothing to clean up" in out.stdout)
        assert goprobe_leftovers(root) == []  # ...and cleanup removes them
        lines, instances = tracefs_state(root)
        assert any(ln.startswith("p:othertool/divide_probe ") for ln in lines)
        assert "othertool_inst" in instances
    finally:
        os.rmdir(os.path.join(root, "instances", "othertool_inst"))
        fs.append_command(root, "-:othertool/divide_probe")


def test_hostile_function_name_is_traced_safely(root: str, tmp_path: Path) -> None:
    _toolchain("1.27.3")
    data = bytearray(tc.build("divide", "1.27.3", "strip").read_bytes())
    hostile = b"ma\n-:* #Div"  # same length as b"main.Divide"
    pos = data.find(b"main.Divide\x00")
    assert pos > 0
    data[pos : pos + 11] = hostile
    path = tmp_path / "hostile"
    path.write_bytes(bytes(data))
    path.chmod(0o755)
    run = TraceRun("--json", "--count", "1", str(path), "ma*Div")
    added = probes_of(root, run.proc.pid)  # only our session's: others may trace meanwhile
    assert len(added) == 1, added
    assert re.match(r"^p:goprobe_\d+_\d+_n\d+/gp\d+_\d+_[A-Za-z0-9_]+ \S+:0x[0-9a-f]+( \S+)*$", added[0])
    run_program(path)
    events, _err = run.finish()
    assert events and events[0]["function"] == hostile.decode()
    assert events[0]["args"]["arg0"] == 5
    assert probes_of(root, run.proc.pid) == []


def test_probe_definitions_go_many_per_write_and_a_refusal_is_found(root: str) -> None:
    """Definitions go to uprobe_events many per write; the kernel stops a write at the first
    command it refuses, so the probes it kept are read back and the rest go one by one: here
    one offset twice in one event (refused), amid 300 good ones spread over three writes."""
    _toolchain("1.27.3")
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.tracefs.session import Site

    binary = GoBinary.open(str(tc.build("large", "1.27.3")))
    fns = [f for f in binary.functions if f.offset > 0 and f.size > 0][:300]
    assert len(fns) == 300
    sites = [Site(f.name, "entry", f.entry, f.offset, ()) for f in fns]
    sites.insert(150, Site("dup", "entry", fns[10].entry, fns[10].offset, ()))
    with ProbeSession(root) as session:
        ev, refused = session.define(
            "entry", binary.path, (), sites, pair_by_g=False, pie=False, identity=binary.elf.identity[:2]
        )
        assert list(refused) == [150]
        assert ev is not None and sorted(s.offset for s in ev.sites) == sorted(f.offset for f in fns)
        lines, _instances = tracefs_state(root)
        assert sum(1 for ln in lines if f"/{ev.name} " in ln) == 300
    assert goprobe_leftovers(root) == []
