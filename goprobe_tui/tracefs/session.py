"""A probe session: one tracefs instance and one event group, both `goprobe_<pid>_<start>`.

The instance gives us a private ring buffer, so the global buffer and other tools are never
disturbed; events are enabled only there. Teardown order: disable, stop reading, delete each
event by GROUP/EVENT, rmdir the instance. Stale sessions of dead processes are swept on start.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from goprobe_tui.gobinary.abi import FetchPlan, valid_fetch_arg
from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.naming import (
    check_probe_path,
    event_name,
    parse_session_name,
    session_is_stale,
    session_name,
)

DEFAULT_BUFFER_KB = 8192  # per CPU: absorbs bursts while the reader catches up


@dataclass
class Probe:
    event: str
    function: str  # the real Go name (display only; never written to tracefs)
    kind: str  # "entry" or "return"
    vaddr: int
    offset: int
    plan: FetchPlan
    pair_by_g: bool  # entries/returns carry the goroutine pointer as field g
    has_return: bool = False  # entry probes only: the function also has return probes


def read_overruns(instance: str) -> int:
    """Events the kernel dropped from an instance's buffer (overwrite + dropped), all CPUs."""
    total = 0
    base = os.path.join(instance, "per_cpu")
    try:
        cpus = os.listdir(base)
    except OSError:
        return 0
    for cpu in cpus:
        try:
            text = fs.read_text(os.path.join(base, cpu, "stats"))
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("overrun", "dropped events"):
                total += int(value.strip() or 0)
    return total


def _retry_busy(action: Callable[[], None], attempts: int = 20) -> None:
    for i in range(attempts):
        try:
            action()
            return
        except (OSError, ProbeError) as exc:
            code = exc.errno
            if code != errno.EBUSY or i == attempts - 1:
                raise
            time.sleep(0.05 * (i + 1))


class ProbeSession:
    def __init__(self, root: str | None = None, *, name: str | None = None,
                 buffer_kb: int = DEFAULT_BUFFER_KB, pid_filter: int | None = None) -> None:
        self.root = root or fs.find_tracefs()
        self.swept = sweep_stale(self.root)
        self.name = name or session_name()
        self.group = self.name
        self.instance = os.path.join(self.root, "instances", self.name)
        self.probes: dict[str, Probe] = {}
        self._counter = 0
        self._lock = threading.RLock()
        self.closed = False
        self._reader = None
        # Told of each probe after it is defined and before it is enabled, so a decoder
        # elsewhere knows it before its first event can exist.
        self.on_define: Callable[[Probe], None] | None = None
        try:
            os.mkdir(self.instance)
        except FileExistsError:
            raise TracefsError(f"tracing instance {self.name} already exists") from None
        except OSError as exc:
            raise TracefsError(f"cannot create tracing instance: {exc.strerror}") from None
        try:
            self._configure(buffer_kb, pid_filter)
        except OSError as exc:
            self.close()
            raise TracefsError(f"cannot configure tracing instance: {exc.strerror}") from None

    def _configure(self, buffer_kb: int, pid_filter: int | None) -> None:
        opt = os.path.join(self.instance, "options")
        fs.write_value(os.path.join(opt, "record-tgid"), "1")  # events name their process
        fs.write_value(os.path.join(self.instance, "buffer_size_kb"), str(buffer_kb))
        # One clock for all CPUs: the per-CPU "local" clock can reorder a goroutine's entry and
        # return when it migrates between CPUs, breaking latency pairing.
        fs.write_value(os.path.join(self.instance, "trace_clock"), "mono")
        if pid_filter is not None:
            fs.write_value(os.path.join(opt, "event-fork"), "1")  # threads started later too
            tids = os.listdir(f"/proc/{pid_filter}/task")
            fs.write_value(os.path.join(self.instance, "set_event_pid"), " ".join(tids))

    # -- probes ----------------------------------------------------------------
    def add(self, path: str, function: str, kind: str, vaddr: int, offset: int,
            plan: FetchPlan, extra: tuple[str, ...] = (), has_return: bool = False) -> Probe:
        """Define, verify and enable one uprobe. Raises ProbeError with the kernel's reason."""
        if self.closed:
            raise ProbeError("session is closed")
        try:
            path = check_probe_path(path)
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
        fetch = (*plan.args, *extra)
        bad = [a for a in fetch if not valid_fetch_arg(a)]
        if bad or not 0 <= offset < 1 << 48:
            raise ProbeError("refusing unsafe probe arguments", ", ".join(bad) or hex(offset))
        with self._lock:
            event = event_name(os.getpid(), self._counter, function,
                               "ret" if kind == "return" else "")
            self._counter += 1
            cmd = f"p:{self.group}/{event} {path}:{offset:#x}"
            if fetch:
                cmd += " " + " ".join(fetch)
            fs.append_command(self.root, cmd)
            probe = Probe(event, function, kind, vaddr, offset, plan,
                          any(a.startswith("g=") for a in extra), has_return)
            self.probes[event] = probe  # registered first: teardown covers it whatever happens next
            if not os.path.isdir(self._event_dir(event)):
                self.remove(event)
                raise ProbeError(f"probe {event} did not appear in tracefs")
            if self.on_define is not None:
                self.on_define(probe)
            try:
                fs.write_value(os.path.join(self._event_dir(event, self.instance), "enable"), "1")
            except OSError as exc:
                reason = fs.last_error(self.root, cmd) or exc.strerror or ""
                if exc.errno == 524:
                    reason = "offset is not a valid instruction (padding?)"
                self.remove(event)
                raise ProbeError(f"cannot enable probe for {function}", reason, exc.errno or 0) from None
            return probe

    def _event_dir(self, event: str, base: str | None = None) -> str:
        return os.path.join(base or self.root, "events", self.group, event)

    def remove(self, event: str) -> None:
        with self._lock:
            self.probes.pop(event, None)
            enable = os.path.join(self._event_dir(event, self.instance), "enable")
            if os.path.exists(enable):
                fs.write_value(enable, "0")
            _retry_busy(lambda: fs.append_command(self.root, f"-:{self.group}/{event}"))

    def remove_function(self, function: str) -> None:
        for event in [e for e, p in self.probes.items() if p.function == function]:
            self.remove(event)

    # -- reading ---------------------------------------------------------------
    @property
    def trace_pipe(self) -> str:
        return os.path.join(self.instance, "trace_pipe")

    def attach_reader(self, reader) -> None:
        """The session stops this reader (closing trace_pipe) before it tears down."""
        self._reader = reader

    def hits(self) -> dict[str, int]:
        """Hit counts per event of this session, from uprobe_profile (counted before filters)."""
        out: dict[str, int] = {}
        try:
            text = fs.read_text(os.path.join(self.root, "uprobe_profile"))
        except OSError:
            return out
        for line in text.splitlines():
            parts = line.rsplit(None, 2)
            if len(parts) == 3 and parts[1] in self.probes:
                out[parts[1]] = int(parts[2])
        return out

    def overruns(self) -> int:
        return read_overruns(self.instance)

    # -- teardown --------------------------------------------------------------
    def close(self) -> None:
        """Disable, stop reading, delete every probe, remove the instance. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for event in list(self.probes):
                enable = os.path.join(self._event_dir(event, self.instance), "enable")
                with contextlib.suppress(OSError):
                    fs.write_value(enable, "0")
            if self._reader is not None:
                self._reader.stop()
            errors = []
            for event in list(self.probes):
                try:
                    _retry_busy(lambda ev=event: fs.append_command(self.root, f"-:{self.group}/{ev}"))
                    self.probes.pop(event, None)
                except (OSError, ProbeError) as exc:
                    errors.append(f"{event}: {exc}")
            try:
                _retry_busy(lambda: os.rmdir(self.instance))
            except FileNotFoundError:
                pass
            except OSError as exc:
                errors.append(f"instance {self.name}: {exc.strerror}")
            if errors:
                raise TracefsError("teardown incomplete (run `goprobe-tui cleanup`): " + "; ".join(errors))

    def __enter__(self) -> ProbeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sweep_stale(root: str) -> list[str]:
    """Remove probes and instances of goprobe sessions whose process is gone. Returns what went."""
    removed: list[str] = []
    try:
        definitions = fs.read_text(os.path.join(root, "uprobe_events")).splitlines()
    except OSError:
        return removed
    stale_events: dict[str, list[str]] = {}
    for line in definitions:
        head = line.split(None, 1)[0] if line.strip() else ""
        if ":" not in head or "/" not in head:
            continue
        group, event = head.split(":", 1)[1].split("/", 1)
        if parse_session_name(group) and session_is_stale(group):
            stale_events.setdefault(group, []).append(event)
    inst_dir = os.path.join(root, "instances")
    try:
        instances = [n for n in os.listdir(inst_dir)
                     if parse_session_name(n) and session_is_stale(n)]
    except OSError:
        instances = []
    for group, events in stale_events.items():
        for event in events:
            for inst in {group, *instances}:
                enable = os.path.join(inst_dir, inst, "events", group, event, "enable")
                with contextlib.suppress(OSError):
                    fs.write_value(enable, "0")
    for inst in instances:  # rmdir also disables the instance's events and frees its buffer
        try:
            _retry_busy(lambda i=inst: os.rmdir(os.path.join(inst_dir, i)))
            removed.append(f"instance {inst}")
        except OSError:
            pass
    for group, events in stale_events.items():
        for event in events:
            try:
                _retry_busy(lambda g=group, e=event: fs.append_command(root, f"-:{g}/{e}"))
                removed.append(f"probe {group}/{event}")
            except (OSError, ProbeError):
                pass
    return removed
