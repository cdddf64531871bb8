"""pprof's profile.proto, gzipped (`go tool pprof`, Pyroscope, Parca): the traced calls as a
profile of two sample types, `calls/count` and `wall/nanoseconds`. Wall is each call's self
time (its latency minus the time in the traced calls it made), so cumulative figures add up as
in a CPU profile: a function's cum is its calls' whole time.

A sample's stack is the call's own --stack frames where it has them, else its direct caller
(from the return address) and the traced call it was made in, followed by that call's stack,
and so on out; a frame the compiler inlined into its caller shares its caller's
location, as one more `Line` (pprof's own way of showing inlining). Encoded with the official
protobuf runtime from Go's profile.proto (pprof_proto/profile_pb2.py, generated:
scripts/gen_profile_pb2.sh). Written at close."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable
from typing import IO, Any

from goprobe_tui.errors import BadInput
from goprobe_tui.events.calls import CallMatcher, OpenCall
from goprobe_tui.events.formats.base import EventWriter, OutputFormat, register
from goprobe_tui.events.model import WALL_OFFSET_NS, TraceEvent
from goprobe_tui.events.status import TraceStatus

# A frame: (function, file, line, inlined into the next frame out)
Frame = tuple[str, str, int, bool]


def _profile_module() -> Any:
    try:
        from goprobe_tui.events.formats.pprof_proto import profile_pb2
    except ImportError as exc:  # protobuf missing, or older than the generated code needs
        raise BadInput(
            f"--format pprof needs the protobuf package (pip install 'goprobe-tui[pprof]'): {exc}"
        ) from None
    return profile_pb2


def call_frames(entry: TraceEvent, enclosing: OpenCall | None) -> tuple[Frame, ...]:
    """A call's stack as it opens, innermost first: its function, then the call stack its
    entry walked (--stack: each frame's file, line and inlining); else its direct caller (the
    return address, read at the entry) followed by the stack of the traced call it opened in,
    which usually is that caller (then named once)."""
    own: Frame = (entry.function, "", 0, False)
    if entry.stack:
        return (own, *((f[0], f[2] or "", int(f[3] or 0), bool(f[1])) for f in entry.stack))
    outer: tuple[Frame, ...] = enclosing.extra if enclosing is not None and enclosing.extra else ()
    if entry.caller is not None and (not outer or outer[0][0] != entry.caller):
        outer = ((entry.caller, "", 0, False), *outer)
    return (own, *outer)


def creation_frames(ev: TraceEvent) -> tuple[Frame, ...]:
    """A goroutine creation's stack, innermost first: the function the goroutine started in,
    the function of the go statement at its file:line, then (--stack) the frames below it."""
    file, line = ev.source or ("", 0)
    start = str(ev.args.get("start") or "?")
    walked = tuple((f[0], f[2] or "", int(f[3] or 0), bool(f[1])) for f in ev.stack or ())
    if walked and walked[0][0] == ev.function:
        walked = walked[1:]  # the go statement's function, already given with its line
    return ((start, "", 0, False), (ev.function, file, int(line), False), *walked)


class PprofWriter(EventWriter):
    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(out)
        self.calls = CallMatcher(annotate=call_frames)
        self.samples: dict[tuple[Frame, ...], list[int]] = {}  # stack -> [calls, self ns]
        self.creations: dict[tuple[Frame, ...], int] = {}  # --goroutines: creation stack -> count
        self.first_ns: int | None = None
        self.last_ns = 0

    def write(self, events: Iterable[TraceEvent]) -> None:
        for ev in events:
            if ev.kind == "spawn":
                stack = creation_frames(ev)
                self.creations[stack] = self.creations.get(stack, 0) + 1
                continue
            call = self.calls.feed(ev)
            if call is None:
                continue
            if self.first_ns is None or call.start_ns < self.first_ns:
                self.first_ns = call.start_ns
            self.last_ns = max(self.last_ns, call.start_ns + call.dur_ns)
            frames = call.extra if call.extra is not None else ((call.ret.function, "", 0, False),)
            values = self.samples.setdefault(frames, [0, 0])
            values[0] += 1
            values[1] += call.self_ns

    def close(self, status: TraceStatus | None = None) -> None:
        data = gzip.compress(
            profile_bytes(self.samples, self.first_ns, self.last_ns, status, self.creations), mtime=0
        )
        self.out.write(data)
        self.out.flush()


def profile_bytes(
    samples: dict[tuple[Frame, ...], list[int]],
    first_ns: int | None,
    last_ns: int,
    status: TraceStatus | None = None,
    creations: dict[tuple[Frame, ...], int] | None = None,
) -> bytes:
    """With creations (--goroutines), a third sample type, goroutine-creations/count, keyed by
    each creation's stack: the function started, the go statement, then its stack."""
    pb = _profile_module()
    profile = pb.Profile()
    strings: dict[str, int] = {}

    def s(text: str) -> int:
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
            profile.string_table.append(text)
        return index

    s("")  # index 0 is the empty string, by the format's rule
    kinds = [("calls", "count"), ("wall", "nanoseconds")]
    if creations:
        kinds.append(("goroutine-creations", "count"))
    for kind, unit in kinds:
        profile.sample_type.add(type=s(kind), unit=s(unit))
    profile.default_sample_type = s("wall")  # the type's name (a string index), not a position
    profile.period_type.type, profile.period_type.unit = s("wall"), s("nanoseconds")
    profile.period = 1
    if first_ns is not None:
        profile.time_nanos = first_ns + WALL_OFFSET_NS
        profile.duration_nanos = max(0, last_ns - first_ns)
    else:
        profile.time_nanos = time.time_ns()
    if status is not None and (status.lost or status.malformed):
        profile.comment.append(s(f"incomplete: {status.lost} events lost, {status.malformed} malformed"))
    functions: dict[tuple[str, str], int] = {}
    locations: dict[tuple[tuple[str, str, int], ...], int] = {}

    def function_id(name: str, file: str) -> int:
        fid = functions.get((name, file))
        if fid is None:
            fid = functions[(name, file)] = len(functions) + 1
            profile.function.add(id=fid, name=s(name), system_name=s(name), filename=s(file))
        return fid

    def location_id(lines: tuple[tuple[str, str, int], ...]) -> int:
        lid = locations.get(lines)
        if lid is None:
            lid = locations[lines] = len(locations) + 1
            loc = profile.location.add(id=lid)
            for name, file, line in lines:  # innermost (inlined) first, as pprof wants
                loc.line.add(function_id=function_id(name, file), line=line)
        return lid

    rows = [
        (stack, [calls, self_ns] + ([0] if creations else [])) for stack, (calls, self_ns) in samples.items()
    ]
    rows += [(stack, [0, 0, n]) for stack, n in (creations or {}).items()]
    for stack, values in rows:
        ids = []
        pending: list[tuple[str, str, int]] = []  # inlined frames waiting for their caller
        for name, file, line, inlined in stack:
            pending.append((name, file, line))
            if not inlined:
                ids.append(location_id(tuple(pending)))
                pending = []
        if pending:
            ids.append(location_id(tuple(pending)))
        profile.sample.add(location_id=ids, value=values)
    return profile.SerializeToString()


@register
class PprofFormat(OutputFormat):
    name = "pprof"
    suffix = ".pb.gz"
    summary = "pprof profile (gzipped profile.proto): calls and self wall time per call stack"
    binary = True
    callers = True  # a sample's second frame, without --stack

    def writer(self, out: IO[bytes]) -> EventWriter:
        _profile_module()  # refused now, in one line, not after a whole trace
        return PprofWriter(out)
