"""A probe session: one tracefs instance and one event group, both `goprobe_<pid>_<start>`.

The instance gives us a private ring buffer, so the global buffer and other tools are never
disturbed; events are enabled only there.

Kernel facts this is built on (../shared/notes/tracefs.md, "Measured here"):
- Disabling an event waits once for all its probes (~47 ms here), so probes attached and
  detached together share one multi-probe event (same name, identical fetch args).
- Deleting an event that was enabled clears the instance's whole ring buffer, so detaching only
  disables; events are deleted at teardown, after the reader's last drain.
- Deleting one probe out of a multi-probe event corrupts the event: never done.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from goprobe_tui.errors import GoprobeError
from goprobe_tui.event_kinds import EventKind
from goprobe_tui.tracefs import fs
from goprobe_tui.tracefs.control import LIVE, Control
from goprobe_tui.tracefs.errors import ProbeError, TracefsError
from goprobe_tui.tracefs.formats import RecordLayout, parse_format
from goprobe_tui.tracefs.fs import retry_busy
from goprobe_tui.tracefs.naming import check_probe_path, check_target_path, event_name, session_name
from goprobe_tui.tracefs.perf import PerfReader, PerfTargets
from goprobe_tui.tracefs.stale import sweep_stale
from goprobe_tui.values.fetch_args import COMM_FETCH, valid_fetch_arg
from goprobe_tui.values.kinds import ValueSpec

# Per CPU. The reader empties the buffer every 50 ms; at this kernel's full rate (~11 us a hit,
# ~90k events/s per CPU, <= 200 bytes each) that is ~0.9 MB, so 8 MB leaves ~9x headroom.
DEFAULT_BUFFER_KB = 8192
HITS_READS = 4  # uprobe_profile read again while another session's changes shift it


@dataclass
class Site:
    """One probe: where it sits and how its record becomes Go values."""

    function: str  # the real Go name (display only; never written to tracefs)
    kind: EventKind
    vaddr: int
    offset: int  # in the file: what uprobe_events takes
    values: tuple[ValueSpec, ...]
    has_return: bool = False  # entry sites: the function also has return probes
    at_entry: bool = False  # return sites on the entry's own address (the function is one RET)
    types_base: int | None = None  # moduledata.types of the binary: interface type names
    entry_filtered: bool = False  # return sites: a condition filters the entries (drop returns
    # that find no entry, they belong to calls that did not match)
    condition: tuple | None = None  # --where on this site's values (conditions.matches)
    # An entry site that is an inlined copy: one frames tuple per call the probe stands for
    # (several calls can share one place), each ((function, file, line), ...): the function it
    # was inlined into with the call's position there, outward to the out-of-line function.
    inlined: tuple[tuple[tuple[str, str, int], ...], ...] = ()
    # per call of `inlined`: its argument values, why they are not read ("": they are), and
    # its condition (conditions.matches; () when there is none)
    call_values: tuple[tuple[ValueSpec, ...], ...] = ()
    call_notes: tuple[str, ...] = ()
    call_conditions: tuple[tuple | None, ...] = ()
    ra_key: str = "ra"  # the field holding the return address of the function holding it
    # A line probe (kind "line"): the function whose code it is (innermost, inlined or not),
    # and the statement's file and line. Its locals are call_values[0].
    scope: str = ""
    source: tuple[str, int] | None = None
    # Inlined calls of its function that have no probe: its count is partial (stats mark it)
    untraced: int = 0
    # Detached while its event still serves other functions: records from this monotonic ns on
    # are dropped (older ones, still unread, are real calls and decode as usual).
    muted_since: int | None = None


@dataclass
class ProbeEvent:
    """One kernel event of one or more probes with identical fetch args."""

    name: str
    kind: EventKind
    path: str
    fetch: tuple[str, ...]
    pair_by_g: bool  # records carry the goroutine pointer as field g
    pie: bool  # the fired address is the runtime one: map it through the process's maps
    sites: list[Site] = field(default_factory=list)  # in the order they were appended
    layout: RecordLayout | None = None
    enabled: bool = False
    filter: str = ""  # the kernel filter in force ("" none)
    base_filter: str = ""  # the function's own condition, under any goroutine restriction

    def functions(self) -> set[str]:
        return {s.function for s in self.sites}

    def live_functions(self) -> set[str]:
        return {s.function for s in self.sites if s.muted_since is None}


def _filter_error(path: str) -> str:
    """After a refused filter the file shows it with the kernel's `parse_error:` line."""
    try:
        lines = fs.read_text(path).splitlines()
    except OSError:
        return ""
    return next((ln.strip() for ln in lines if "parse_error" in ln), "")


def returns_first(events: list[ProbeEvent]) -> list[ProbeEvent]:
    """The order to disable events in: returns, then entries. Disabled the other way, every
    call in flight between the two would show a return without its entry."""
    return sorted(events, key=lambda ev: ev.kind != "return")


MAX_PROBE_WALK = 12  # frames a probe walks in its fetch args (values/fetch_args.MAX_WALK)
PERF_INSTANCE_KB = 4  # with perf nothing is recorded in the instance: it only names the session


@dataclass(frozen=True)
class EventRequest:
    """One event to define: a probe per site, the same fetch args for each."""

    kind: EventKind
    fetch: tuple[str, ...]
    sites: list[Site]
    pair_by_g: bool
    kernel_filter: str = ""


class ProbeSession:
    def __init__(
        self,
        root: str | None = None,
        *,
        name: str | None = None,
        buffer_kb: int = DEFAULT_BUFFER_KB,
        pid_filter: int | None = None,
        isolate: bool = False,
        stack_depth: int | None = None,
        control: Control = LIVE,
        children: bool = False,
    ) -> None:
        """isolate (with pid_filter): breakpoints in that process only, through perf
        (perf.py); events are then never enabled in the instance. control: where the writes
        go (script.ScriptControl: into a script for another machine, nothing made here)."""
        self.kernel = control
        if not control.live and (
            pid_filter is not None or (stack_depth is not None and stack_depth > MAX_PROBE_WALK + 1)
        ):
            raise TracefsError(
                f"a probe script cannot use perf (--pid, --stack-depth over {MAX_PROBE_WALK + 1})"
            )
        self.root = root or fs.find_tracefs()
        if control.live:
            sweep_stale(self.root)  # what dead sessions left: their buffers and probes cost everyone
        self.name = name or session_name()
        self.group = self.name
        self.instance = os.path.join(self.root, "instances", self.name)
        self.events: dict[str, ProbeEvent] = {}
        self._counter = 0
        self._lock = threading.RLock()
        self.closed = False
        self.user_stacks = False
        self.detaching: tuple[int, int] | None = None  # (disabled, of) once teardown began
        self._reader = None
        self._last_hits: dict[tuple[str, int], int] = {}
        # Told of each event after it is defined and before it is enabled (and again when its
        # sites change), so a decoder elsewhere knows it before its first record can exist.
        self.on_define: Callable[[ProbeEvent], None] | None = None
        self.perf: PerfTargets | None = None
        try:
            self.kernel.mkdir(self.instance)
        except FileExistsError:
            raise TracefsError(f"tracing instance {self.name} already exists") from None
        except OSError as exc:
            raise TracefsError(f"cannot create tracing instance: {exc.strerror}") from None
        try:
            deep_perf = stack_depth is not None and stack_depth > MAX_PROBE_WALK + 1
            self._configure(PERF_INSTANCE_KB if isolate or deep_perf else buffer_kb, pid_filter)
        except OSError as exc:
            self.close()
            raise TracefsError(f"cannot configure tracing instance: {exc.strerror}") from None
        # perf: --pid (breakpoints in that process only), or call stacks deeper than a probe
        # can walk (every process, perf's callchains)
        deep = stack_depth is not None and stack_depth > MAX_PROBE_WALK + 1
        if (isolate and pid_filter is not None) or deep:
            try:
                # call stacks are always sampled: a perf event cannot start taking them later
                self.perf = PerfTargets(
                    pid_filter if isolate else None,
                    stacks=True,
                    stack_depth=(stack_depth or 7) + 1,
                    children=children,  # a program started under trace: its forks too
                )
            except ProbeError as exc:
                self.close()
                raise TracefsError(str(exc)) from None

    def reader(self):
        """What reads this session's records: the instance's buffers, or the perf rings."""
        if self.perf is not None:
            return _SessionPerfReader(self)
        from goprobe_tui.tracefs.page_reader import PageReader

        return PageReader(self.instance, self.root)

    def set_user_stacks(self, on: bool) -> None:
        """Each event of our instance followed by a record of the user stack (8 frames, a
        frame-pointer walk; the instance's own option, nobody else's)."""
        if self.perf is None:
            self.kernel.write_value(
                os.path.join(self.instance, "options", "userstacktrace"), "1" if on else "0"
            )
        self.user_stacks = on

    def _configure(self, buffer_kb: int, pid_filter: int | None) -> None:
        opt = os.path.join(self.instance, "options")
        write = self.kernel.write_value
        write(os.path.join(opt, "record-tgid"), "1")  # saved_tgids for exited threads
        write(os.path.join(self.instance, "buffer_size_kb"), str(buffer_kb))
        # One clock for all CPUs, and the same as CLOCK_MONOTONIC: the reader merges CPUs by
        # time and knows which records are old enough that no CPU can still add an older one.
        write(os.path.join(self.instance, "trace_clock"), "mono")
        if pid_filter is not None:
            write(os.path.join(opt, "event-fork"), "1")  # threads started later too
            tids = os.listdir(f"/proc/{pid_filter}/task")
            write(os.path.join(self.instance, "set_event_pid"), " ".join(tids))

    # -- probes ----------------------------------------------------------------
    def define(
        self,
        kind: EventKind,
        path: str,
        fetch: tuple[str, ...],
        sites: list[Site],
        *,
        pair_by_g: bool,
        pie: bool,
        kernel_filter: str = "",
        identity: tuple[int, int] | None = None,
    ) -> tuple[ProbeEvent | None, dict[int, str]]:
        """One event holding a probe per site, enabled (after its filter is in place).
        identity: (st_dev, st_ino) of the file the offsets were read from: the path must name
        it. Returns (event or None when no site was accepted, {site index: the kernel's
        reason} for the refused ones)."""
        request = EventRequest(kind, fetch, sites, pair_by_g, kernel_filter)
        return self.define_many(path, [request], pie=pie, identity=identity)[0]

    def define_many(
        self,
        path: str,
        requests: list[EventRequest],
        *,
        pie: bool,
        identity: tuple[int, int] | None = None,
        stop: Callable[[], bool] = lambda: False,
        done: Callable[[int], None] | None = None,
    ) -> list[tuple[ProbeEvent | None, dict[int, str]]]:
        """Events one per request, in order, each enabled once whole (see define). Every
        event's first probe is written before any event's others: the kernel finds the event
        a probe joins by walking every uprobe from the oldest, so an event whose first probe
        is among the oldest is found at once (measured here, 20,000 probes in events of 1,000:
        7.3 s event after event, 4.1 s this way). stop() is polled between events: the events
        not finished then are deleted (never enabled) and answered (None, {}). done(i): event
        i is finished."""
        if self.closed:
            raise ProbeError("session is closed")
        try:
            # a script's path is the target's: nothing here can check it but its spelling
            path = check_probe_path(path, identity) if self.kernel.live else check_target_path(path)
        except GoprobeError as exc:
            raise ProbeError(str(exc)) from None
        for r in requests:
            bad = [a for a in r.fetch if not valid_fetch_arg(a)]
            if bad:
                raise ProbeError("refusing unsafe probe arguments", ", ".join(bad))
        out: list[tuple[ProbeEvent | None, dict[int, str]]] = [(None, {}) for _ in requests]
        with self._lock:
            opened = [self._open(r, path, pie) for r in requests]  # each one's first probe
        for i, (r, (ev, todo, refused)) in enumerate(zip(requests, opened, strict=True)):
            if stop():
                with self._lock:
                    for later, _todo, _refused in opened[i:]:
                        if later.sites:
                            self._delete(later)  # not enabled: its buffer is not touched
                        self.events.pop(later.name, None)
                break
            with self._lock:
                try:
                    out[i] = self._finish(ev, todo, refused, r.kernel_filter)
                except ProbeError as exc:  # this event only: the others go on
                    out[i] = (None, {k: str(exc) for k in range(len(r.sites))})
            if done is not None:
                done(i)
        return out

    def _open(
        self, r: EventRequest, path: str, pie: bool
    ) -> tuple[ProbeEvent, list[tuple[int, Site, str]], dict[int, str]]:
        """The event, recorded, with its first probe the kernel takes written: (event, the
        commands still to write, {site index: why refused})."""
        fetch = r.fetch if COMM_FETCH in r.fetch else (*r.fetch, COMM_FETCH)  # every record names its thread
        sites = r.sites
        refused: dict[int, str] = {}
        name = event_name(
            os.getpid(),
            self._counter,
            sites[0].function,
            {"return": "ret", "line": "line", "spawn": "go"}.get(r.kind)
            or ("inl" if sites[0].inlined else ""),
        )
        self._counter += 1
        ev = ProbeEvent(name, r.kind, path, fetch, r.pair_by_g, pie)
        # Recorded before anything is written: teardown covers whatever happens next.
        self.events[name] = ev
        todo = []
        for i, site in enumerate(sites):
            if not 0 <= site.offset < 1 << 48:
                refused[i] = f"offset {site.offset:#x} out of range"
                continue
            cmd = f"p:{self.group}/{name} {path}:{site.offset:#x}"
            if fetch:
                cmd += " " + " ".join(fetch)
            todo.append((i, site, cmd))
        while todo and not ev.sites:  # the first the kernel takes (a refused one: the next)
            self._append_each(ev, todo[:1], refused, set())
            todo = todo[1:]
        return ev, todo, refused

    def _finish(
        self, ev: ProbeEvent, todo: list[tuple[int, Site, str]], refused: dict[int, str], kernel_filter: str
    ) -> tuple[ProbeEvent | None, dict[int, str]]:
        """The rest of an opened event's probes, its layout, filter, and enable."""
        name = ev.name
        if self.kernel.live:
            self._append_batched(ev, todo, refused)
        else:  # a script: one line per probe, each checked where it runs
            self._append_each(ev, todo, refused, set())
        if not ev.sites:
            del self.events[name]
            return None, refused
        try:  # a script's layouts come back with its records (replay.py)
            if self.kernel.live:
                ev.layout = parse_format(fs.read_text(os.path.join(self._event_dir(name), "format")))
        except (OSError, ValueError, GoprobeError) as exc:
            self._delete(ev)
            raise ProbeError(f"event {name}: cannot read its record layout", str(exc)) from None
        self._announce(ev)
        try:
            if kernel_filter:
                self.set_filter(ev, kernel_filter)
                ev.base_filter = kernel_filter
            self.enable(ev)
        except ProbeError:
            self._delete(ev)
            raise
        return ev, refused

    def _append_batched(
        self, ev: ProbeEvent, todo: list[tuple[int, Site, str]], refused: dict[int, str]
    ) -> None:
        """Many probe definitions per write (measured: 2,000 in 0.045 s against 0.13 s one by
        one, more when writes contend). A write the kernel refuses stopped at one command:
        the probes it kept are read back, and the rest go one by one, each refusal kept."""
        batches: list[list[tuple[int, Site, str]]] = []
        size = fs.BATCH_BYTES
        for item in todo:
            if size + len(item[2]) + 1 > fs.BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(item)
            size += len(item[2]) + 1
        for batch in batches:
            try:
                self.kernel.append_commands(self.root, [cmd for _i, _s, cmd in batch])
                ev.sites.extend(site for _i, site, _c in batch)
                continue
            except ProbeError:
                # what this write added: offsets the event did not have before, each once
                kept = fs.defined_offsets(self.root, self.group, ev.name) - {s.offset for s in ev.sites}
            self._append_each(ev, batch, refused, kept)

    def _append_each(
        self, ev: ProbeEvent, todo: list[tuple[int, Site, str]], refused: dict[int, str], kept: set[int]
    ) -> None:
        """One command per write; `kept`: offsets the kernel already has from this event."""
        for i, site, cmd in todo:
            if site.offset in kept:
                kept.discard(site.offset)
                ev.sites.append(site)
                continue
            try:
                self.kernel.append_command(self.root, cmd)
            except ProbeError as exc:
                refused[i] = exc.reason or str(exc)
                continue
            ev.sites.append(site)

    def set_filter(self, ev: ProbeEvent, text: str) -> None:
        """The event's filter in our instance ("" clears it). ProbeError with the kernel's
        reason if it is refused; the kernel then drops the old filter, so it is put back."""
        path = os.path.join(self._event_dir(ev.name, self.instance), "filter")
        with self._lock:
            old = ev.filter
            if self.perf is not None:
                try:
                    self.perf.set_filter(ev.name, text)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        self.perf.set_filter(ev.name, old)
                    raise ProbeError(f"the kernel refused the filter {text!r}", exc.strerror or "") from None
                ev.filter = text
                return
            try:
                self.kernel.write_value(path, text or "0")
            except OSError as exc:
                reason = _filter_error(path) or exc.strerror or ""
                with contextlib.suppress(OSError):
                    self.kernel.write_value(path, old or "0")
                raise ProbeError(f"the kernel refused the filter {text!r}", reason) from None
            ev.filter = text

    def _announce(self, ev: ProbeEvent) -> None:
        if self.on_define is not None:
            self.on_define(ev)

    def set_muted(self, ev: ProbeEvent, function: str, muted: bool, since: int | None = None) -> None:
        """Mute (from `since`, default now) or unmute one function's sites in an event."""
        when = (time.monotonic_ns() if since is None else since) if muted else None
        with self._lock:
            for site in ev.sites:
                if site.function == function:
                    site.muted_since = when
            self._announce(ev)

    def enable(self, ev: ProbeEvent) -> None:
        with self._lock:
            if ev.enabled:
                return
            if self.perf is not None and ev.layout is not None:
                self.perf.open_event(ev.name, ev.layout.type_id, ev.filter)
                ev.enabled = True
                return
            try:
                self.kernel.write_value(os.path.join(self._event_dir(ev.name, self.instance), "enable"), "1")
            except OSError as exc:
                reason = fs.last_error(self.root, ev.name) or exc.strerror or ""
                if exc.errno == 524:
                    reason = "offset is not a valid instruction (padding?)"
                raise ProbeError(
                    f"cannot enable probe for {ev.sites[0].function}", reason, exc.errno or 0
                ) from None
            ev.enabled = True

    def disable(self, ev: ProbeEvent) -> None:
        """Stops the breakpoints. Unread records stay in the buffer (deleting would clear it)."""
        with self._lock:
            if not ev.enabled:
                return
            if self.perf is not None:
                self.perf.close_event(ev.name)  # its breakpoints leave the target
                ev.enabled = False
                return
            with contextlib.suppress(FileNotFoundError):
                self.kernel.write_value(os.path.join(self._event_dir(ev.name, self.instance), "enable"), "0")
            ev.enabled = False

    def _event_dir(self, event: str, base: str | None = None) -> str:
        return os.path.join(base or self.root, "events", self.group, event)

    def _delete(self, ev: ProbeEvent) -> None:
        """Disable and delete a whole event (never one probe out of it)."""
        with self._lock:
            self.disable(ev)
            retry_busy(lambda: self.kernel.append_command(self.root, f"-:{self.group}/{ev.name}"))
            self.events.pop(ev.name, None)

    # -- reading ---------------------------------------------------------------
    def attach_reader(self, reader) -> None:
        """The session stops this reader (after its last drain) before it deletes events."""
        self._reader = reader

    def hits(self) -> dict[tuple[str, int], int]:
        """Hits per (event, probe index in append order), from uprobe_profile (before filters).
        A multi-probe event is listed once per probe, in the order the probes were added.

        The kernel hands the file out a page per read() and takes its lock per page, so another
        session defining or deleting probes between two pages shifts the listing: lines are
        skipped or repeated. An event whose line count is not its probe count is read again;
        still wrong, it keeps its last true counts (hit counters only grow)."""
        want = {name: len(ev.sites) for name, ev in self.events.items()}
        pending = {name for name, n in want.items() if n}
        out: dict[tuple[str, int], int] = {}
        for _attempt in range(HITS_READS):
            if not pending:
                break
            try:
                text = fs.read_text(os.path.join(self.root, "uprobe_profile"))
            except OSError:
                break
            listed: dict[str, list[int]] = {}
            for line in text.splitlines():
                parts = line.rsplit(None, 2)
                if len(parts) == 3 and parts[1] in pending and parts[2].isdigit():
                    listed.setdefault(parts[1], []).append(int(parts[2]))
            for name, values in listed.items():
                if len(values) == want[name]:
                    out.update(((name, i), v) for i, v in enumerate(values))
                    pending.discard(name)
        out.update((key, v) for key, v in self._last_hits.items() if key[0] in pending)
        self._last_hits = out
        return dict(out)

    # -- teardown --------------------------------------------------------------
    def close(self) -> None:
        """Disable everything, let the reader drain, delete every event, remove the instance.
        Idempotent. `detaching` says how far the disables are, for whoever shows it: a
        callback here could wait on a UI busy with a flood, and the target pays meanwhile."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            enabled = returns_first([ev for ev in self.events.values() if ev.enabled])
            for i, ev in enumerate(enabled):
                self.detaching = (i, len(enabled))
                with contextlib.suppress(OSError):
                    self.disable(ev)
            self.detaching = (len(enabled), len(enabled))
            if self._reader is not None:
                self._reader.stop()  # its last read happens now: nothing enabled can add more
            errors = []
            for ev in list(self.events.values()):
                try:
                    self._delete(ev)
                except (OSError, ProbeError) as exc:
                    errors.append(f"{ev.name}: {exc}")
            if self.perf is not None:
                self.perf.close()
            try:
                retry_busy(lambda: self.kernel.rmdir(self.instance))
            except FileNotFoundError:
                pass
            except OSError as exc:
                errors.append(f"instance {self.name}: {exc.strerror}")
            if errors:
                raise TracefsError("teardown incomplete (run `goprobe-tui cleanup`): " + "; ".join(errors))

    def probe_count(self) -> int:
        return sum(len(ev.sites) for ev in self.events.values())

    def __enter__(self) -> ProbeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SessionPerfReader(PerfReader):
    """Stack records only while the session asks for them (they are sampled regardless)."""

    def __init__(self, session: ProbeSession) -> None:
        assert session.perf is not None  # made for --pid sessions only
        super().__init__(session.perf, fs.user_stack_type(session.root))
        self._session = session

    def read(self):
        self.emit_stacks = self._session.user_stacks
        return super().read()
