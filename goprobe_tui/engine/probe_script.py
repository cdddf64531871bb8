"""`trace --emit-script DIR`: the probes of a trace, written as a shell script for another
machine (an arm64 board, a container without Python), and the plan to decode its records.

The attach is the real one (Attacher on a ProbeSession), only its writes go into the script
(tracefs/script.py). The plan keeps what the decoder learns of each event; the event formats
come back with the records, and `replay` (replay.py) decodes them with the real decoder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from goprobe_tui.atomic_file import save_atomically
from goprobe_tui.engine.attach import AttachedFunction, Attacher
from goprobe_tui.engine.options import EngineOptions
from goprobe_tui.engine.plan_file import dump_plan, read_plan_file
from goprobe_tui.errors import BadInput, GoprobeError
from goprobe_tui.gobinary import Function, GoBinary
from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.naming import check_target_path
from goprobe_tui.tracefs.script import ScriptControl, script_session_name
from goprobe_tui.tracefs.session import MAX_PROBE_WALK, ProbeEvent, ProbeSession

PLAN_FILE = "plan.json"
SCRIPT_FILE = "probes.sh"
PLAN_VERSION = 2  # 1 was a pickle: never read
STACK_FRAMES = 8  # --stack: as many callers as the kernel's own walk gives
SCRIPT_BUFFER_KB = 16384  # per CPU: the script reads the buffer once, after the program ended


@dataclass
class Plan:
    """What `replay` needs besides the records."""

    version: int
    binary: str  # here: the file the decoder reads values and symbols from
    target_path: str  # there: the file the probes name
    goversion: str
    arch: str
    group: str  # the tracefs event group (and instance) of the script
    events: list[ProbeEvent] = field(default_factory=list)


@dataclass
class ProbeScript:
    script: str
    plan: Plan
    attached: list[AttachedFunction]
    errors: dict[str, str]
    notes: list[str] = field(default_factory=list)


def build_probe_script(
    binary: GoBinary,
    fns: list[Function],
    returns: bool,
    options: EngineOptions,
    target_path: str | None = None,
    goroutines: bool = False,
) -> ProbeScript:
    """The script and plan of a trace of `fns`, without touching this machine's kernel."""
    if options.pid is not None:
        raise BadInput(
            "--emit-script traces every process of the binary on the target; --pid names a process here"
        )
    if options.otlp or options.by or options.max_rate:
        raise BadInput("--emit-script records only: --otlp, --by and --max-rate apply to a live trace")
    if (options.stack_depth or 0) > MAX_PROBE_WALK + 1:
        raise BadInput(
            f"--emit-script: a probe walks at most {MAX_PROBE_WALK + 1} frames "
            "(deeper stacks need perf, which a script cannot open)"
        )
    try:
        target = check_target_path(target_path or binary.path)
    except GoprobeError as exc:
        raise BadInput(f"--target-path: {exc}") from None
    control = ScriptControl()
    session = ProbeSession(
        control.root, name=script_session_name(), buffer_kb=SCRIPT_BUFFER_KB, control=control
    )
    attacher = Attacher(
        binary, session, target, options.overrides, options.fields, options.where, options.depth
    )
    notes = []
    if options.stacks or options.stack_depth:
        # the probe walks the frames itself: the target's kernel may have no user stack walk
        # of its own (arm64 has none in 6.1)
        attacher.stack_walk = (options.stack_depth or STACK_FRAMES) - 1
    attached, errors = attacher.attach_many(fns, returns) if fns else ([], {})
    if goroutines:
        try:
            attacher.attach_spawns()
        except ProbeError as exc:
            raise BadInput(str(exc)) from None
        notes.append("goroutine lineage: probes at the returns of runtime.newproc1")
    if not session.events:
        session.close()
        raise BadInput("no probe could be planned: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    control.finishing = True
    session.attach_reader(_SaveRecords(control, session))
    events = list(session.events.values())
    session.close()
    names = ", ".join(a.function.key for a in attached)
    header = (
        f"goprobe-tui probe script: {len(attached)} functions of {target} "
        f"({binary.goversion}, {binary.arch}){' with returns' if returns else ''}\n"
        f"{names[:300]}\n\n"
        "Run as root on the target:   sh probes.sh PROGRAM [ARG...]\n"
        "It sets the probes up in a tracing instance of its own, runs the program, saves\n"
        "the records in $GOPROBE_OUT (default ./goprobe-records) and removes everything it\n"
        "set up, on exit and on INT/TERM/HUP (after a SIGKILL: sh probes.sh --cleanup).\n"
        "Back here:  goprobe-tui replay THIS_FOLDER RECORDS_FOLDER"
    )
    plan = Plan(PLAN_VERSION, binary.path, target, binary.goversion, binary.arch, session.group, events)
    return ProbeScript(control.render(header), plan, attached, errors, notes)


class _SaveRecords:
    """Stands where a live session's reader would: its last read is the script's copy."""

    def __init__(self, control: ScriptControl, session: ProbeSession) -> None:
        self.control = control
        self.session = session

    def stop(self) -> None:
        self.control.save_records(
            self.session.instance, [(self.session.group, name) for name in self.session.events]
        )


def write_probe_script(folder: str, result: ProbeScript) -> None:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, SCRIPT_FILE)
    with open(path, "w", encoding="ascii") as f:
        f.write(result.script)
    os.chmod(path, 0o755)
    save_atomically(os.path.join(folder, PLAN_FILE), lambda f: f.write(dump_plan(result.plan)))


def read_plan(folder: str) -> Plan:
    path = os.path.join(folder, PLAN_FILE)
    plan = read_plan_file(path, Plan)
    if plan.version != PLAN_VERSION:
        raise BadInput(f"{path}: a plan of another goprobe-tui version: emit the script again")
    return plan
