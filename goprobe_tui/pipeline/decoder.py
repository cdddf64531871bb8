"""Raw records -> Go-level events: named argument and result values, entry/return pairing.

Entries and returns pair per goroutine (the g register) when the ABI gives us g, else per
thread (events/calls.py). A multi-probe event says which probe fired by its address.
"""

from __future__ import annotations

import struct
from typing import Any, cast

from goprobe_tui.events.calls import PENDING_LIMIT, CallStacks
from goprobe_tui.events.model import TraceEvent
from goprobe_tui.gobinary import BinaryError, GoBinary
from goprobe_tui.gobinary.symbolize import Symbolizer
from goprobe_tui.pipeline.merge import Record
from goprobe_tui.pipeline.process_info import ProcessInfo
from goprobe_tui.tracefs.fs import user_stack_type
from goprobe_tui.tracefs.session import ProbeEvent, Site
from goprobe_tui.values.conditions import matches
from goprobe_tui.values.file_memory import BinaryView, FileMemory
from goprobe_tui.values.kinds import decode_value

PAGE = 4096  # a PIE's load bias is a multiple of it


class EventDecoder:
    def __init__(
        self,
        root: str = "/sys/kernel/tracing",
        pair_limit: int | None = None,
        call_args: bool = False,
        live: bool = True,
    ) -> None:
        """call_args: a return event gets its call's arguments (`call_args`, not in its row
        or JSON), for the slowest call of the statistics."""
        self.by_type: dict[int, ProbeEvent] = {}
        self._by_vaddr: dict[int, dict[int, Site]] = {}
        self._by_offset: dict[int, dict[int, Site]] = {}
        self.call_args = call_args
        self.pairing = CallStacks(pair_limit or PENDING_LIMIT, payloads=call_args)
        self.procs = ProcessInfo(root, live)
        self.file_memory = FileMemory()
        self._views: dict[tuple[str, int | None, int], BinaryView] = {}
        self.unattributed = 0  # records of an unknown event or address (counted, never shown)
        self.malformed = 0  # records too short for their event's layout
        self.filtered_returns = 0  # returns of calls whose entry the condition filtered out
        self.filtered = 0  # records the kernel let through that the condition rejects
        self._symbolizers: dict[str, Symbolizer | None] = {}
        self._stack_type = user_stack_type(root)
        self._comms: dict[bytes, str] = {}  # a record's $comm bytes -> the name
        # The probes' own frame walk is shown (off: `b` turned stacks off on a kernel without
        # a user-stack walk, where the probes keep walking so that `b` can turn them on again)
        self.show_walked = True
        # the last event on each CPU (or the events of one inlined site): the kernel writes its
        # user stack record right after it
        self._last_on_cpu: dict[int, tuple[TraceEvent | list[TraceEvent], int | None, str, int | None]] = {}
        self._held: dict[int, tuple[TraceEvent, tuple[int, int]]] = {}  # tid -> (return, key)

    def _comm(self, raw: bytes) -> str:
        """A record's `$comm` string (its bytes behind the __data_loc: length << 16 | offset)."""
        if len(self._comms) > 4096:
            self._comms.clear()
        comm = self._comms[raw] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return comm

    def _view(self, path: str, types_base: int | None, bias: int) -> BinaryView:
        key = (path, types_base, bias)
        view = self._views.get(key)
        if view is None:
            if len(self._views) > 256:  # one per binary and load address: processes come and go
                self._views.clear()
            view = self._views[key] = BinaryView(self.file_memory, path, types_base, bias)
        return view

    def learn(self, ev: ProbeEvent) -> None:
        """A new event, or new facts about a known one (sites muted or unmuted)."""
        if ev.layout is None:
            return
        tid = ev.layout.type_id
        self.by_type[tid] = ev
        if any(s.kind == "spawn" for s in ev.sites):
            # opened now, while a traced process's /proc/PID/exe still names the file
            self.symbolizer(ev.path)
        self._by_vaddr[tid] = {s.vaddr: s for s in ev.sites}
        self._by_offset[tid] = {s.offset: s for s in ev.sites}

    def _site(self, ev: ProbeEvent, type_id: int, ip: int, pid: int) -> tuple[Site | None, bool]:
        """(the site that fired, whether `ip` is known to be that site's own address)."""
        if len(ev.sites) == 1:
            return ev.sites[0], True
        if not ev.pie:
            return self._by_vaddr[type_id].get(ip), True
        offset = self.procs.file_offset(pid, ev.path, ip)
        if offset is not None:
            return self._by_offset[type_id].get(offset), True
        # The process is gone: its maps are unreadable. A load bias is a whole number of
        # pages, so a site whose page offset alone matches the address is the one that fired.
        aligned = [s for s in ev.sites if (ip - s.vaddr) % PAGE == 0]
        if len(aligned) == 1:
            return aligned[0], True
        # Sites of one function decode alike, but which one fired (and the bias) is unknown.
        first = ev.sites[0]
        return (first if all(s.function == first.function for s in ev.sites) else None), False

    def symbolizer(self, path: str) -> Symbolizer | None:
        """The binary's frames, opened at the first return address seen (None: not Go)."""
        if path not in self._symbolizers:
            try:
                self._symbolizers[path] = Symbolizer(GoBinary.open(path))
            except (BinaryError, OSError):
                self._symbolizers[path] = None
        return self._symbolizers[path]

    def _user_stack(self, rec: Record) -> None:
        """A user stack record: the frames of the event just before it on this CPU."""
        last = self._last_on_cpu.pop(rec.cpu, None)
        if last is None:
            return
        out, bias, path, ra = last
        events = out if isinstance(out, list) else [out]
        pid = int.from_bytes(rec.page[rec.start + 4 : rec.start + 8], "little", signed=True)
        sym = self.symbolizer(path)
        if pid != events[0].tid or bias is None or sym is None:
            return
        # 8 callers, or as many as the padding says: a perf callchain (--pid, --stack-depth)
        from_perf = int.from_bytes(rec.page[rec.start + 12 : rec.start + 16], "little")
        n = from_perf or 8
        pcs = struct.unpack_from(f"<{min(n, 64)}Q", rec.page, rec.start + 16)
        # [0] is the probe's own address; the walk misses the direct caller: it is `ra`. A
        # recursion repeats a return address: only the walk's end (0) stops it.
        walk = []
        for pc in pcs[1:]:
            if not pc:
                break
            walk.append(pc)
        if from_perf and walk and walk[0] == ra and events[0].kind == "entry":
            walk = walk[1:]  # perf's callchain repeats the caller at a `push %rbp` entry
        frames = [f for pc in ([ra] if ra else []) + walk for f in sym.frames(pc - bias)]
        stack = tuple((f.function, f.inlined, f.file, f.line) for f in frames)
        for one in events:
            # an inlined call's callers: the functions it was inlined into, then the walk's
            chain = one.inlined or ()
            inlined = tuple((f, i < len(chain) - 1, file, line) for i, (f, file, line) in enumerate(chain))
            one.stack = inlined + stack

    def decode(self, rec: Record) -> tuple[TraceEvent, ...]:
        """The events one record makes, in order: none (unattributed, malformed, filtered, or a
        return held for its entry), one, or two (a held return and what released it)."""
        out = self._decode(rec)
        if out is None:
            return ()
        return tuple(out) if isinstance(out, list) else (out,)

    @property
    def holding(self) -> bool:
        """Returns are held back for their entries (flush_held gives them up)."""
        return bool(self._held)

    @property
    def held_count(self) -> int:
        return len(self._held)

    def _decode(self, rec: Record) -> TraceEvent | list[TraceEvent] | None:
        page, start = rec.page, rec.start
        type_id = page[start] | page[start + 1] << 8
        ev = self.by_type.get(type_id)
        if ev is None:
            if type_id == self._stack_type:
                self._user_stack(rec)
                return None
            self.unattributed += 1
            return None
        layout = ev.layout
        assert layout is not None  # every event is told with its layout before it is enabled
        try:
            _type, tid, ip, *values = layout.struct.unpack_from(page, start)
        except Exception:  # struct.error: a record shorter than its layout
            self.malformed += 1
            return None
        pid, comm, nspid = self.procs.thread(tid, rec.ts)
        site, exact = self._site(ev, type_id, ip, pid)
        if site is None:
            self.unattributed += 1
            return None
        if site.muted_since is not None and rec.ts >= site.muted_since:
            return None  # detached; its event stays enabled for the other functions in it
        fields = dict(zip(layout.names, values, strict=False))
        loc = fields.get("comm")
        if loc is not None:  # the name the thread had as the probe fired
            off = start + (loc & 0xFFFF)
            raw = page[off : off + (loc >> 16)]
            comm = self._comms.get(raw) or self._comm(raw) or comm
        # PIE: one load bias for the whole image, seen at this probe's own address. Unproven,
        # the file is not read at all: a wrong bias would show another value as this one.
        bias = ip - site.vaddr if ev.pie else 0
        view = self._view(ev.path, site.types_base, bias) if exact else None
        if site.kind == "line":
            return self._line(site, fields, view, rec, ev, pid, tid, comm, nspid, bias, exact)
        if site.kind == "spawn":
            return self._spawn(fields, rec, ev, pid, tid, comm, nspid, bias if exact or not ev.pie else None)
        if site.inlined:
            return self._inlined(site, fields, view, rec, ev, pid, tid, comm, nspid, bias, exact)
        decoded = {spec.name: decode_value(spec, fields, view) for spec in site.values}
        if site.condition is not None and not matches(site.condition, decoded):
            self.filtered += 1  # what the kernel's filter could not decide (strings)
            return None
        out = TraceEvent(
            rec.ts,
            rec.cpu,
            pid,
            tid,
            comm,
            site.function,
            site.kind,
            ev.name,
            goid=fields.get("goid"),
            nspid=nspid,
        )
        ra = fields.get("ra")
        if "s1" in fields and self.show_walked:  # the probe walked the frames itself
            self._walked_stack(out, fields, ra, ev.path, bias if exact or not ev.pie else None)
        if ra and self.call_args:  # statistics count each function's direct callers
            sym = self.symbolizer(ev.path) if exact or not ev.pie else None
            frames = sym.frames(ra - bias) if sym is not None else ()
            out.caller = frames[0].function if frames else None
        if self._stack_type is not None:
            self._last_on_cpu[rec.cpu] = (out, bias if exact or not ev.pie else None, ev.path, ra)
        g = fields.get("g") if ev.pair_by_g else None
        key: tuple = (pid, g if g else tid)
        stack_hi = fields.get("gsh")
        if stack_hi is not None:  # a call's depth in its goroutine's stack survives copying
            key = (pid, g if g else tid, stack_hi - fields.get("gsp", 0))
        if site.kind == "entry":
            out.args = decoded
            out.has_return = site.has_return
        elif site.values and site.values[0].kind == "register":  # results unknown: raw words
            out.registers = decoded
        else:
            out.returns = decoded
        held = self._held.pop(tid, None) if self._held else None
        if held is not None:
            return self._after_held(held, out, key, site)
        if site.at_entry and not self.pairing.on_top(key, site.function):
            # A return probe on the entry's own instruction (a function that is one RET) may
            # run before the entry probe: hold it for this thread's next record.
            self._held[tid] = (out, key)
            return None
        if not self._pair(out, key, site):
            self.filtered_returns += 1
            return None
        return out

    def _inlined(
        self,
        site: Site,
        fields: dict,
        view: BinaryView | None,
        rec: Record,
        ev: ProbeEvent,
        pid: int,
        tid: int,
        comm: str,
        nspid: int | None,
        bias: int,
        exact: bool,
    ) -> TraceEvent | list[TraceEvent] | None:
        """One event per inlined call the probe stands for (each with its own arguments and
        condition): an entry with no return (the call has none to probe), its caller known
        from the binary."""
        events = []
        for i, frames in enumerate(site.inlined):
            specs = site.call_values[i] if i < len(site.call_values) else ()
            decoded = {spec.name: decode_value(spec, fields, view) for spec in specs}
            tree = site.call_conditions[i] if i < len(site.call_conditions) else None
            if tree is not None and not matches(tree, decoded):
                self.filtered += 1
                continue
            note = site.call_notes[i] if i < len(site.call_notes) and not specs else ""
            one = TraceEvent(
                rec.ts,
                rec.cpu,
                pid,
                tid,
                comm,
                site.function,
                "entry",
                ev.name,
                decoded,
                goid=fields.get("goid"),
                nspid=nspid,
                inlined=frames,
                args_note=note,
            )
            one.caller = frames[0][0]
            events.append(one)
        if not events:
            return None
        if self._stack_type is not None:
            ra = fields.get(site.ra_key)
            self._last_on_cpu[rec.cpu] = (events, bias if exact or not ev.pie else None, ev.path, ra)
        return events[0] if len(events) == 1 else events

    def _walked_stack(
        self, out: TraceEvent, fields: dict, ra: int | None, path: str, bias: int | None
    ) -> None:
        """Frames from the probe's own walk (ra, s1, s2, …): up to the first that could not be
        read (the walk's end, where the saved frame pointer is 0)."""
        if bias is None:
            return
        sym = self.symbolizer(path)
        if sym is None:
            return
        walk = []
        pc, k = ra, 1
        while pc:  # a field not there (None) or a frame pointer of 0 ends it
            walk.append(pc)
            pc, k = fields.get(f"s{k}"), k + 1
        out.stack = tuple(
            (f.function, f.inlined, f.file, f.line) for pc in walk for f in sym.frames(pc - bias)
        )

    def _spawn(
        self,
        fields: dict,
        rec: Record,
        ev: ProbeEvent,
        pid: int,
        tid: int,
        comm: str,
        nspid: int | None,
        bias: int | None,
    ) -> TraceEvent:
        """A goroutine was created: by the goroutine `goid`, at the `go` statement whose return
        address is gopc (Go's own traceback prints its physical function and the innermost
        file:line of gopc - 1), running the function at spc."""
        sym = self.symbolizer(ev.path) if bias is not None else None
        creator, file, line, start = "?", "", 0, "?"
        gopc, spc = fields.get("gopc") or 0, fields.get("spc") or 0
        if sym is not None and bias is not None and gopc:
            frames = sym.frames(gopc - bias)  # a return address: looked up one byte back
            if frames:
                creator, file, line = frames[-1].function, frames[0].file, frames[0].line
        if sym is not None and bias is not None and spc:
            started = sym.frames(spc - bias, False)
            start = started[-1].function if started else "?"
        return TraceEvent(
            rec.ts,
            rec.cpu,
            pid,
            tid,
            comm,
            creator,
            "spawn",
            ev.name,
            {"child_goid": fields.get("cgoid"), "start": start},
            goid=fields.get("goid"),
            nspid=nspid,
            source=(file, line) if file else None,
        )

    def _line(
        self,
        site: Site,
        fields: dict,
        view: BinaryView | None,
        rec: Record,
        ev: ProbeEvent,
        pid: int,
        tid: int,
        comm: str,
        nspid: int | None,
        bias: int,
        exact: bool,
    ) -> TraceEvent | None:
        """A line probe: the statement ran, with the locals it sees (call_values[0])."""
        specs = site.call_values[0] if site.call_values else ()
        decoded = {spec.name: decode_value(spec, fields, view) for spec in specs}
        tree = site.call_conditions[0] if site.call_conditions else None
        if tree is not None and not matches(tree, decoded):
            self.filtered += 1
            return None
        frames = site.inlined[0] if site.inlined else ()
        out = TraceEvent(
            rec.ts,
            rec.cpu,
            pid,
            tid,
            comm,
            site.scope,
            "line",
            ev.name,
            decoded,
            goid=fields.get("goid"),
            nspid=nspid,
            inlined=frames or None,
            args_note=site.call_notes[0] if site.call_notes and not specs else "",
            probe=site.function,
            source=site.source,
        )
        if self._stack_type is not None:
            self._last_on_cpu[rec.cpu] = (
                [out],
                bias if exact or not ev.pie else None,
                ev.path,
                fields.get(site.ra_key),
            )
        return out

    def keep_call_args(self) -> None:
        """From now on each return gets its call's arguments (--slower-than prints a slow call
        once, at its return, with them); calls entered before have none to give."""
        self.call_args = True
        self.pairing.keep_payloads()

    def _pair(self, out: TraceEvent, key: tuple, site: Site) -> bool:
        """Pair a return with its entry. False: drop it, its call did not match the
        function's condition (the kernel filtered its entry)."""
        if site.kind == "entry":
            if site.has_return:  # entries that can never be popped would only pile up
                if len(key) == 3:  # an entry at this depth still pending is a call whose
                    self.pairing.pop_entry(key, site.function, count=False)  # return was filtered
                self.pairing.push(key, site.function, out.ts_ns, out.args if self.call_args else None)
            return True
        return self._paired(out, key, count=not site.entry_filtered) or not site.entry_filtered

    def _paired(self, ret: TraceEvent, key: tuple, count: bool = True) -> bool:
        found = self.pairing.pop_entry(key, ret.function, count)
        if found is None:
            return False
        ret.latency_ns = max(0, ret.ts_ns - found[0])
        if self.call_args:
            ret.call_args = cast("dict[str, Any] | None", found[1])
        return True

    def _pop_held(self, held: tuple[TraceEvent, tuple[int, int]]) -> TraceEvent:
        ret, key = held
        self._paired(ret, key)
        return ret

    def _after_held(
        self, held: tuple[TraceEvent, tuple[int, int]], out: TraceEvent, key: tuple[int, int], site: Site
    ) -> list[TraceEvent]:
        ret, held_key = held
        if site.kind == "entry" and site.function == ret.function and key == held_key:
            self._pair(out, key, site)  # the same trap, entry probe second: entry goes first
            ret.ts_ns = max(ret.ts_ns, out.ts_ns)  # one trap, one instant: latency 0, not < 0
            return [out, self._pop_held(held)]
        self._pop_held(held)
        self._pair(out, key, site)
        return [ret, out]

    def flush_held(self, before_ns: int | None = None) -> list[TraceEvent]:
        """Held returns whose entry never followed (older than before_ns, or all)."""
        done = [tid for tid, (ret, _k) in self._held.items() if before_ns is None or ret.ts_ns < before_ns]
        return [self._pop_held(self._held.pop(tid)) for tid in done]
