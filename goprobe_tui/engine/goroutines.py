"""Every goroutine of a running Go process, read from outside through /proc/PID/mem: no ptrace
stop, no probe, the process keeps running (py-spy dump does this for Python).

The runtime's list (runtime.allgs) gives each g; a parked goroutine's stack is unwound from
g.sched with the pclntab's pc-sp table (exact, frame by frame, inlined frames included). The
process changes while it is read: a goroutine whose status or saved pc/sp moved meanwhile is
read again, and marked `changed` if it kept moving; it is never shown half-read as whole.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field

from goprobe_tui.errors import BadInput
from goprobe_tui.gobinary import GoBinary
from goprobe_tui.gobinary.runtime_g import (
    DEAD,
    DEAD_EXTRA,
    RUNNING,
    SCAN_BIT,
    SYSCALL,
    WAITING,
    LayoutUnknown,
    allgs_address,
    g_layout,
    status_name,
    wait_reason_names,
)
from goprobe_tui.gobinary.symbolize import Symbolizer
from goprobe_tui.tracefs.naming import process_alive, process_start_time

MAX_GOROUTINES = 1_000_000  # a longer allgs is damage, not a program
MAX_FRAMES = 100  # Go's own traceback prints at most 100
MAX_FRAME_BYTES = 1 << 20
MAX_STACK_READ = 64 << 10  # a deeper stack is read word by word
READS = 3  # attempts at a goroutine that moves while it is read
UNWINDS = ("amd64", "arm64")


@dataclass
class Frame:
    function: str
    file: str
    line: int
    inlined: bool


@dataclass
class Goroutine:
    goid: int
    status: str
    wait_reason: str
    wait_ns: int | None  # how long it has waited (None: not waiting, or not known)
    parent_goid: int | None
    created_by: Frame | None
    start: Frame | None
    frames: list[Frame] = field(default_factory=list)
    note: str = ""  # why there are no frames (running on a thread, in a syscall)
    changed: bool = False  # it kept moving while read: what is shown may mix two moments
    thread: int | None = None  # running or in a system call: the thread's id (tid), where read
    m_id: int | None = None  # and Go's number for that thread's M ("m=3" in its own dump)


@dataclass
class GoroutineDump:
    pid: int
    goversion: str
    taken_ns: int  # how long the reading took
    goroutines: list[Goroutine]


class _Memory:
    """pread of /proc/PID/mem: any mapped address, while the process runs."""

    def __init__(self, pid: int) -> None:
        try:
            self.fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        except OSError as exc:
            raise BadInput(f"process {pid}: cannot read its memory ({exc.strerror})") from None

    def read(self, addr: int, size: int) -> bytes | None:
        try:
            data = os.pread(self.fd, size, addr)
        except (OSError, OverflowError):
            return None
        return data if len(data) == size else None

    def word(self, addr: int) -> int | None:
        data = self.read(addr, 8)
        return None if data is None else int.from_bytes(data, "little")

    def close(self) -> None:
        os.close(self.fd)


def _load_bias(pid: int, binary: GoBinary) -> int:
    """Where a PIE was loaded: its first mapping's start (0 for a fixed-address binary)."""
    if not binary.elf.pie:
        return 0
    inode = os.stat(f"/proc/{pid}/exe").st_ino
    with open(f"/proc/{pid}/maps", "rb") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) >= 5 and int(parts[4]) == inode and int(parts[2], 16) == 0:
                return int(parts[0].split(b"-")[0], 16)
    raise BadInput(f"process {pid}: its executable is not mapped")


class GoroutineSource:
    """What reading a binary's goroutines needs, worked out once (the g layout, where allgs is,
    the wait reasons, the symbolizer and the unwinding steps met so far) and used for every dump
    of every process running that binary: the TUI dumps every 2 s."""

    def __init__(self, binary: GoBinary) -> None:
        """BadInput naming the cause where this binary's goroutines cannot be read."""
        if binary.arch not in UNWINDS:
            raise BadInput(f"goroutines: {binary.arch} binaries are not read (amd64 and arm64 are)")
        try:
            self.layout = g_layout(binary)
            self.allgs = allgs_address(binary)
            self.reasons = wait_reason_names(binary)
        except LayoutUnknown as exc:
            raise BadInput(f"goroutines of {binary.path}: {exc}") from None
        self.binary = binary
        self.sym = Symbolizer(binary)
        self.steps: dict[int, tuple[tuple[Frame, ...], int | None, bool] | None] = {}

    def dump(self, pid: int) -> GoroutineDump:
        """Every goroutine of process `pid` but the dead ones."""
        started = time.monotonic_ns()
        bias = _load_bias(pid, self.binary)
        mem = _Memory(pid)
        try:
            head = mem.read(self.allgs + bias, 16)
            if head is None:
                raise BadInput(f"process {pid}: runtime.allgs cannot be read")
            array, count = struct.unpack("<QQ", head)
            if count > MAX_GOROUTINES:
                raise BadInput(f"process {pid}: runtime.allgs says {count:,} goroutines: not a Go heap")
            table = mem.read(array, 8 * count) if count else b""
            if table is None:
                raise BadInput(f"process {pid}: the goroutine list moved while it was read; try again")
            reader = _Reader(mem, self, bias, pid)
            out = []
            for (g,) in struct.iter_unpack("<Q", table):
                one = reader.goroutine(g)
                if one is not None:
                    out.append(one)
        finally:
            mem.close()
        out.sort(key=lambda g: g.goid)
        return GoroutineDump(pid, self.binary.goversion, time.monotonic_ns() - started, out)


def dump_goroutines(pid: int, binary: GoBinary) -> GoroutineDump:
    """Every goroutine but the dead ones. BadInput naming the cause where it cannot be done."""
    return GoroutineSource(binary).dump(pid)


class _Reader:
    def __init__(self, mem: _Memory, source: GoroutineSource, bias: int, pid: int) -> None:
        self.pid, self.mem, self.layout, self.sym, self.binary = (
            pid,
            mem,
            source.layout,
            source.sym,
            source.binary,
        )
        self.bias, self.reasons = bias, source.reasons
        self.uses_lr = source.binary.arch == "arm64"  # a call leaves its return address in LR
        self.now = _nanotime()
        self._steps = source.steps  # link-time addresses: the same in every process of the binary
        self._compile()

    def _fields(self, g: int) -> dict[str, int] | None:
        raw = self.mem.read(g, self.layout.size)
        if raw is None:
            return None
        return dict(zip(self._names, self._struct.unpack_from(raw), strict=True))

    def _compile(self) -> None:
        """One struct.Struct for the fields read from each g (10,000 of them: no per-field code)."""
        lay = self.layout
        fields = [
            ("stack_hi", 8, 8),  # runtime.g begins with stack{lo, hi} in every version
            ("goid", lay.goid, 8),
            ("status", lay.status, 4),
            ("reason", lay.wait_reason, 1),
            ("gopc", lay.gopc, 8),
            ("startpc", lay.startpc, 8),
            ("pc", lay.sched_pc, 8),
            ("sp", lay.sched_sp, 8),
            ("lr", lay.sched_lr, 8),
        ]
        if lay.wait_since is not None:
            fields.append(("since", lay.wait_since, 8))
        if lay.parent_goid is not None:
            fields.append(("parent", lay.parent_goid, 8))
        if lay.m is not None:
            fields.append(("m", lay.m, 8))
        fields.sort(key=lambda f: f[1])
        fmt, at = "<", 0
        for _name, off, size in fields:
            if off < at:
                raise BadInput("runtime.g's fields overlap: the layout is not a g's")
            fmt += (f"{off - at}x" if off > at else "") + {8: "Q", 4: "I", 1: "B"}[size]
            at = off + size
        self._struct = struct.Struct(fmt)
        self._names = [f[0] for f in fields]

    def goroutine(self, g: int) -> Goroutine | None:
        changed = True
        before: dict[str, int] | None = None
        status = DEAD
        frames: list[Frame] = []
        note = ""
        for _attempt in range(READS):
            before = self._fields(g)
            if before is None:
                return None
            status = before["status"] & ~SCAN_BIT
            if status in (DEAD, DEAD_EXTRA):  # Go's own dump leaves both out
                return None
            frames, note = self._stack(status, before["pc"], before["sp"], before["lr"], before["stack_hi"])
            after = self._fields(g)
            if after is not None and (after["status"], after["pc"], after["sp"]) == (
                before["status"],
                before["pc"],
                before["sp"],
            ):
                changed = False
                break
        f = before
        assert f is not None  # read at least once
        reason = self.reasons[f["reason"]] if status == WAITING and f["reason"] < len(self.reasons) else ""
        since = f.get("since", -1)
        thread, m_id = self._thread(f.get("m", 0)) if status in (RUNNING, SYSCALL) else (None, None)
        return Goroutine(
            goid=f["goid"],
            status=status_name(status),
            wait_reason=reason,
            wait_ns=self.now - since if status == WAITING and since > 0 and since <= self.now else None,
            parent_goid=f.get("parent"),
            created_by=self._creator(f["gopc"]) if f["goid"] != 1 else None,  # main: none, as Go says
            start=self._at(f["startpc"], return_address=False),
            frames=frames,
            note=note,
            changed=changed,
            thread=thread,
            m_id=m_id,
        )

    def _thread(self, m: int) -> tuple[int | None, int | None]:
        """(tid, M number) of the M running a goroutine: believed only where the tid is one of
        this process's threads (a g.m read as the goroutine moved on may point anywhere)."""
        lay = self.layout
        if not m or lay.m_procid is None or lay.m_id is None:
            return None, None
        tid, m_id = self.mem.word(m + lay.m_procid), self.mem.word(m + lay.m_id)
        if not tid or tid >= 1 << 22 or m_id is None or m_id >= 1 << 20:
            return None, None
        if not os.path.isdir(f"/proc/{self.pid}/task/{tid}"):
            return None, None
        return tid, m_id

    def _link(self, pc: int) -> int:
        return pc - self.bias  # a runtime address as the binary's link-time one

    def _at(self, pc: int, return_address: bool) -> Frame | None:
        if not pc:
            return None
        frames = self.sym.frames(self._link(pc), return_address)
        if not frames:
            return None
        return Frame(frames[-1].function, frames[0].file, frames[0].line, False)

    def _creator(self, gopc: int) -> Frame | None:
        """Go's "created by F": the function of the go statement, at its file:line."""
        return self._at(gopc, return_address=True)

    def _step(self, link: int) -> tuple[tuple[Frame, ...], int | None, bool] | None:
        """What unwinding needs at a pc (cached: 10,000 goroutines parked alike share a few
        dozen): its frames, the bytes its function has pushed there, and whether the stack
        ends with it. None: no Go function there. A pc is a return address (its call is the
        byte before), but a function's very entry: a goroutine that has not run yet, whose
        pc is its start, as Go's traceback tells them apart."""
        if link in self._steps:
            return self._steps[link]
        i = self.sym.function_index(link - 1)
        at_entry = False
        j = self.sym.function_index(link)
        if j is not None and self.binary.functions[j].entry == link:
            i, at_entry = j, True
        step = None
        if i is not None:
            fn = self.binary.functions[i]
            shown = self.sym.frames(link, return_address=not at_entry)
            frames = tuple(Frame(fr.function, fr.file, fr.line, fr.inlined) for fr in shown)
            last = fn.name in ("runtime.goexit", "runtime.mstart", "runtime.rt0_go")
            if last:
                frames = frames[:-1]  # Go's traceback does not print goexit
            step = (frames, self.binary.pushed_at(fn, link if at_entry else link - 1), last)
        self._steps[link] = step
        return step

    def _stack(self, status: int, pc: int, sp: int, lr: int, hi: int) -> tuple[list[Frame], str]:
        if status == RUNNING:
            return [], "running: its stack cannot be read without stopping its thread"
        if status == SYSCALL:
            return [], "in a system call"
        # the part of the stack in use, [sp, hi), in one read (a parked stack is mostly small)
        used = hi - sp if 0 < hi - sp <= MAX_STACK_READ else 0
        stack = self.mem.read(sp, used) if used else None
        base = sp
        out: list[Frame] = []
        for _ in range(MAX_FRAMES):
            step = self._step(self._link(pc))
            if step is None:
                break
            frames, pushed, last = step
            out += frames
            if last or pushed is None or pushed > MAX_FRAME_BYTES:
                break
            if self.uses_lr:
                # arm64: a frame keeps its caller's return address at its own SP once its
                # prologue ran; before that (a goroutine not started yet, one stopped in
                # morestack) it is still in LR, which g.sched.lr saved (Go's own rule)
                ret = lr if pushed == 0 and lr else self._word(stack, base, sp)
                lr, caller_sp = 0, sp + pushed
            else:  # amd64: the return address is above the frame, the caller's SP above it
                ret, caller_sp = self._word(stack, base, sp + pushed), sp + pushed + 8
            if not ret:
                break
            pc, sp = ret, caller_sp
        return out, ""

    def _word(self, stack: bytes | None, base: int, addr: int) -> int:
        """The stack word at `addr`: from the stack read at once where it lies in it."""
        at = addr - base
        if stack is not None and 0 <= at <= len(stack) - 8:
            return int.from_bytes(stack[at : at + 8], "little")
        return self.mem.word(addr) or 0


def _nanotime() -> int:
    """The runtime's nanotime(): CLOCK_MONOTONIC, like g.waitsince."""
    return time.monotonic_ns()


class ProcessGone(BadInput):
    """The process ended (or its pid now names another process): no more dumps of it."""


class ProcessGoroutines:
    """Dumps of one running process, again and again (the TUI's view, --watch): the binary's
    source worked out on the first dump, and a pid the kernel gave to another process since
    is never read as if it were the same one."""

    def __init__(self, pid: int, binary: GoBinary) -> None:
        self.pid, self.binary = pid, binary
        self.started = process_start_time(pid)
        self._source: GoroutineSource | None = None

    def dump(self) -> GoroutineDump:
        """ProcessGone once the process is gone; BadInput where it cannot be read."""
        if self.started is None or not process_alive(self.pid, self.started):
            raise ProcessGone(f"process {self.pid} exited")
        if self._source is None:
            self._source = GoroutineSource(self.binary)
        try:
            dump = self._source.dump(self.pid)
        except (BadInput, OSError) as exc:
            if not process_alive(self.pid, self.started):  # it ended while it was read
                raise ProcessGone(f"process {self.pid} exited") from None
            if isinstance(exc, OSError):
                raise BadInput(f"process {self.pid}: {exc.strerror or exc}") from None
            raise
        if not process_alive(self.pid, self.started):  # read, but from the process's last moments
            raise ProcessGone(f"process {self.pid} exited")
        return dump
