"""Probes that trap in one process only: tracefs events opened through perf_event_open.

An event enabled in a tracefs instance puts its breakpoint into every process that maps the
file (a sibling replica pays ~10 µs per call). Opened with perf_event_open on one task, the
kernel's uprobe filter (`uprobe_perf_filter`) installs it in that task's mm only. So every
thread of the target gets one perf event per CPU, `inherit`ed by the threads it creates
later, and samples (PERF_SAMPLE_RAW: the same record the tracefs buffer would hold) go to one
mmap'ed ring per CPU, owned by a dummy event (PERF_EVENT_IOC_SET_OUTPUT).

The rings are read without waiting in the kernel, like the instance's buffers, and their
samples are rewritten as ring-buffer pages (ringbuf.py's layout), so the decoder sees one
kind of input. Records the kernel could not keep (PERF_RECORD_LOST) are counted.

Closing an event's descriptors is what removes its breakpoints; the kernel closes them when
this process dies however it dies, so a perf session leaves nothing behind but the tracefs
event definitions, which the stale sweep and `cleanup` remove like any other.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import mmap
import os
import platform
import resource
import struct
import time

from goprobe_tui.tracefs.errors import ProbeError
from goprobe_tui.tracefs.ringbuf import DEFAULT_HEADER, PageHeader

PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT = 1, 2
PERF_COUNT_SW_DUMMY = 9
SAMPLE_TID, SAMPLE_TIME, SAMPLE_CALLCHAIN, SAMPLE_CPU, SAMPLE_RAW = 2, 4, 32, 128, 1024
FLAG_DISABLED, FLAG_INHERIT, FLAG_WATERMARK = 1 << 0, 1 << 1, 1 << 14
FLAG_EXCLUDE_CALLCHAIN_KERNEL, FLAG_USE_CLOCKID = 1 << 21, 1 << 25
FLAG_INHERIT_THREAD = 1 << 35  # threads inherit, forked processes do not (Linux 5.13+)
MAX_THREADS_KNOWN = 1_000_000  # tid -> pid pairs kept for a launched program's process tree
PERF_FLAG_FD_CLOEXEC = 8
IOC_ENABLE, IOC_DISABLE, IOC_SET_OUTPUT = 0x2400, 0x2401, 0x2405
IOC_SET_FILTER = 0x40082406  # _IOW('$', 6, char *)
RECORD_LOST, RECORD_SAMPLE, RECORD_LOST_SAMPLES = 2, 9, 13
CONTEXT_USER = (1 << 64) - 512  # PERF_CONTEXT_USER marks where the user frames begin
CLOCK_MONOTONIC = 1
ATTR_SIZE = 112  # PERF_ATTR_SIZE_VER5
RING_PAGES = 2048  # per CPU, a power of two: 8 MB, as the instance's buffers
_SYSCALL = {"x86_64": 298, "aarch64": 241}
_ATTR = struct.Struct("<IIQQQQQIIQQQQIiQIHH")  # perf_event_attr up to VER5
_HEADER = struct.Struct("<IHH")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
STACK_DEPTH = 8  # frames kept, as the tracefs user_stack record has (more with --stack-depth)
MAX_STACK_DEPTH = 33  # the probe's address and 32 frames

_libc = ctypes.CDLL(None, use_errno=True)


def _attr(type_: int, config: int, sample_type: int, flags: int, max_stack: int = STACK_DEPTH) -> bytes:
    # wakeup_watermark (with FLAG_WATERMARK) at the ring's size: nobody is woken, the
    # rings are polled, so the traced program never pays for a wake-up
    return _ATTR.pack(
        type_,
        ATTR_SIZE,
        config,
        1,
        sample_type,
        0,
        flags | FLAG_USE_CLOCKID | FLAG_WATERMARK,
        RING_PAGES * _PAGE_SIZE,
        0,
        0,
        0,
        0,
        0,
        0,
        CLOCK_MONOTONIC,
        0,
        0,
        max_stack,
        0,
    )


def perf_event_open(attr: bytes, pid: int, cpu: int, group_fd: int = -1) -> int:
    nr = _SYSCALL.get(platform.machine())
    if nr is None:
        raise OSError(errno.ENOSYS, f"perf_event_open: unsupported machine {platform.machine()}")
    buf = ctypes.create_string_buffer(attr, ATTR_SIZE)
    fd = _libc.syscall(
        nr,
        buf,
        ctypes.c_int(pid),
        ctypes.c_int(cpu),
        ctypes.c_int(group_fd),
        ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def online_cpus() -> list[int]:
    try:
        with open("/sys/devices/system/cpu/online") as f:
            text = f.read().strip()
    except OSError:
        return list(range(os.cpu_count() or 1))
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def threads_of(pid: int) -> set[int]:
    try:
        return {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    except OSError:
        return set()


def raise_fd_limit() -> None:
    """Events x threads x CPUs descriptors: take what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Ring:
    """One CPU's mmap'ed perf ring, owned by a dummy event."""

    def __init__(self, cpu: int) -> None:
        self.cpu = cpu
        self.fd = perf_event_open(_attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, 0, 0), -1, cpu)
        try:
            self.map = mmap.mmap(self.fd, (RING_PAGES + 1) * _PAGE_SIZE)
        except OSError:
            os.close(self.fd)
            raise
        self.size = RING_PAGES * _PAGE_SIZE

    def take(self) -> bytes:
        """Everything written since the last take (the records, whole), and frees it."""
        m = self.map
        head = struct.unpack_from("<Q", m, 1024)[0]  # data_head
        tail = struct.unpack_from("<Q", m, 1032)[0]  # data_tail
        if head == tail:
            return b""
        start, end = _PAGE_SIZE + tail % self.size, _PAGE_SIZE + head % self.size
        if head - tail >= self.size or end <= start:
            data = m[start : _PAGE_SIZE + self.size] + m[_PAGE_SIZE:end]
        else:
            data = m[start:end]
        struct.pack_into("<Q", m, 1032, head)
        return data

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self.map.close()
        os.close(self.fd)


class PerfTargets:
    """The perf side of a session: per-CPU rings, and each event's descriptors for every
    thread of one process; with no pid, one per CPU for every process (as tracefs would, but
    with perf's callchains as deep as asked: --stack-depth above what a probe can walk)."""

    def __init__(
        self, pid: int | None, stacks: bool = False, stack_depth: int = STACK_DEPTH, children: bool = False
    ) -> None:
        """children: the processes the target forks inherit its events too (a program started
        under trace: `trace BIN -- ARGS`), not only its threads (--pid)."""
        self.pid = pid
        self.children = children
        self.stacks = stacks
        # entries of a callchain kept: the probe's address and the frames asked (--stack-depth)
        self.stack_depth = max(STACK_DEPTH, min(stack_depth, MAX_STACK_DEPTH))
        raise_fd_limit()
        self.rings: dict[int, _Ring] = {}
        try:
            for cpu in online_cpus():
                self.rings[cpu] = _Ring(cpu)
        except OSError as exc:
            self.close()
            raise ProbeError("cannot open perf rings", exc.strerror or str(exc)) from None
        self.fds: dict[str, list[int]] = {}  # event name -> its descriptors

    def open_event(self, name: str, event_id: int, kernel_filter: str = "") -> None:
        """Breakpoints of one tracefs event into the target's threads, enabled. ProbeError
        if the target cannot be reached (gone, or not traceable)."""
        sample = SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU | SAMPLE_RAW
        flags = FLAG_DISABLED | FLAG_INHERIT | (0 if self.children else FLAG_INHERIT_THREAD)
        if self.stacks:
            sample |= SAMPLE_CALLCHAIN
            flags |= FLAG_EXCLUDE_CALLCHAIN_KERNEL
        if self.pid is None:  # every process: one event per CPU, nothing to inherit
            flags = FLAG_DISABLED
        attr = _attr(PERF_TYPE_TRACEPOINT, event_id, sample, flags, self.stack_depth)
        fds = self.fds.setdefault(name, [])
        if self.pid is None:
            try:
                for cpu, ring in self.rings.items():
                    fd = perf_event_open(attr, -1, cpu)
                    fds.append(fd)
                    fcntl.ioctl(fd, IOC_SET_OUTPUT, ring.fd)
                    if kernel_filter:
                        self._filter(fd, kernel_filter)
                for fd in fds:
                    fcntl.ioctl(fd, IOC_ENABLE, 0)
            except OSError as exc:
                self.close_event(name)
                raise ProbeError("cannot open the probe through perf", exc.strerror or str(exc)) from None
            return
        done: set[int] = set()
        try:
            # A thread started meanwhile by one already covered inherits; one started by a
            # thread not yet covered does not: list again until nothing is new.
            while True:
                todo = threads_of(self.pid) - done
                if not todo:
                    break
                for tid in sorted(todo):
                    done.add(tid)
                    for cpu, ring in self.rings.items():
                        try:
                            fd = perf_event_open(attr, tid, cpu)
                        except OSError as exc:
                            if exc.errno == errno.ESRCH:
                                break  # the thread exited meanwhile
                            raise
                        fds.append(fd)
                        fcntl.ioctl(fd, IOC_SET_OUTPUT, ring.fd)
                        if kernel_filter:
                            self._filter(fd, kernel_filter)
            if not fds:
                raise ProbeError(f"process {self.pid} has exited")
            for fd in fds:
                fcntl.ioctl(fd, IOC_ENABLE, 0)
        except OSError as exc:
            self.close_event(name)
            raise ProbeError(
                "cannot open the probe for --pid through perf", exc.strerror or str(exc)
            ) from None

    @staticmethod
    def _filter(fd: int, text: str) -> None:
        buf = ctypes.create_string_buffer(text.encode())
        if _libc.ioctl(fd, ctypes.c_ulong(IOC_SET_FILTER), buf) < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def set_filter(self, name: str, text: str) -> None:
        """On every descriptor of the event. The decoder checks every condition again, so a
        thread created later with the old filter shows nothing it should not."""
        for fd in self.fds.get(name, ()):
            self._filter(fd, text or "0")

    def close_event(self, name: str) -> None:
        """Its breakpoints leave the target; its unread samples stay in the rings."""
        for fd in self.fds.pop(name, ()):
            with contextlib.suppress(OSError):
                os.close(fd)

    def descriptors(self) -> int:
        return sum(len(v) for v in self.fds.values())

    def close(self) -> None:
        for name in list(self.fds):
            self.close_event(name)
        for ring in self.rings.values():
            ring.close()
        self.rings = {}


class PerfReader:
    """PageReader's interface over the perf rings: ([(cpu, page)], lost, read time)."""

    def __init__(self, targets: PerfTargets, stack_type: int | None) -> None:
        self.targets = targets
        self.header: PageHeader = DEFAULT_HEADER
        self.page_size = _PAGE_SIZE
        self.stack_type = stack_type  # the user_stack event's type id, for --stack
        self.lost = 0
        self.more = False
        self.emit_stacks = False  # a user_stack record after each sample (--stack, `b`)
        # Every record is the target's (only its threads have the events), and the sample
        # says so: the decoder need not ask /proc, where an exited thread's id may already
        # belong to another process.
        self.one_process = None if targets.children else targets.pid  # its children: their own
        self.foreign = 0  # samples of another process: none can come (inherit_thread)
        # the processes a launched program forks are traced too: each sample says its thread's
        # process, which /proc may not know any more (it exited, its id reused): passed on
        self._tgids: dict[int, int] = {}
        self._new_tgids: dict[int, int] = {}

    def take_tgids(self) -> dict[int, int]:
        """Threads seen since the last call, with their process: tid -> pid."""
        new, self._new_tgids = self._new_tgids, {}
        return new

    def read(self) -> tuple[list[tuple[int, bytes]], int, int]:
        started = time.monotonic_ns()
        pages: list[tuple[int, bytes]] = []
        for cpu, ring in self.targets.rings.items():
            data = ring.take()
            if data:
                pages.extend((cpu, p) for p in self._pages(data))
        return pages, self.lost, started

    def _pages(self, data: bytes) -> list[bytes]:
        writer = _PageWriter(self.page_size)
        pos, n = 0, len(data)
        while pos + 8 <= n:
            rtype, _misc, size = _HEADER.unpack_from(data, pos)
            if size < 8 or pos + size > n:
                self.lost += 1  # a record cut short: cannot happen unless the ring is corrupt
                break
            if rtype == RECORD_SAMPLE:
                self._sample(writer, data, pos + 8, pos + size)
            elif rtype == RECORD_LOST:
                self.lost += struct.unpack_from("<Q", data, pos + 16)[0]
            elif rtype == RECORD_LOST_SAMPLES:
                self.lost += struct.unpack_from("<Q", data, pos + 8)[0]
            pos += size
        return writer.pages()

    def _sample(self, writer: _PageWriter, data: bytes, pos: int, end: int) -> None:
        pid, tid, ts, _cpu, _res = struct.unpack_from("<IIQII", data, pos)
        if self.one_process is not None and pid != self.one_process:
            self.foreign += 1
            return
        if self.one_process is None and self._tgids.get(tid) != pid and len(self._tgids) < MAX_THREADS_KNOWN:
            self._tgids[tid] = self._new_tgids[tid] = pid
        pos += 24
        frames: tuple[int, ...] = ()
        if self.targets.stacks:
            (nr,) = struct.unpack_from("<Q", data, pos)
            ips = struct.unpack_from(f"<{nr}Q", data, pos + 8)
            pos += 8 + 8 * nr
            frames = tuple(ip for ip in ips if ip < CONTEXT_USER)[: self.targets.stack_depth]
        (raw_size,) = struct.unpack_from("<I", data, pos)
        raw = data[pos + 4 : min(end, pos + 4 + raw_size)]
        writer.add(ts, raw)
        if self.stack_type is not None and self.emit_stacks:
            # as the tracefs user_stack record (type, flags, preempt, pid; tgid; caller[8]),
            # the count of callers in its padding (8 or more: --stack-depth), which the
            # kernel's own records leave 0: the decoder knows a perf callchain by it
            n = max(STACK_DEPTH, len(frames))
            stack = struct.pack(
                f"<HBBiIi{n}Q", self.stack_type, 0, 0, tid, pid, n, *(frames + (0,) * (n - len(frames)))
            )
            writer.add(ts, stack)

    def close(self) -> None:
        """The rings are the session's (PerfTargets.close)."""


class _PageWriter:
    """Ring-buffer pages (ringbuf.py's layout) from timestamped records: each record gets an
    absolute time stamp before it, then its data with the length in array[0]."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self._pages: list[bytes] = []
        self._chunks: list[bytes] = []
        self._used = 0
        self._first = 0

    def add(self, ts: int, record: bytes) -> None:
        record += b"\0" * (-len(record) % 4)
        need = 8 + 8 + len(record)
        data_room = self.page_size - DEFAULT_HEADER.data_offset
        if need > data_room:
            return  # larger than a page: the kernel's own limit for a record, never reached
        if self._used + need > data_room:
            self._flush()
        if not self._chunks:
            self._first = ts
        stamp = 31 | (ts & ((1 << 27) - 1)) << 5
        self._chunks.append(struct.pack("<II", stamp, ts >> 27))
        self._chunks.append(struct.pack("<II", 0, len(record) + 4) + record)
        self._used += need

    def _flush(self) -> None:
        if self._chunks:
            body = b"".join(self._chunks)
            self._pages.append(struct.pack("<QQ", self._first, len(body)) + body)
        self._chunks, self._used = [], 0

    def pages(self) -> list[bytes]:
        self._flush()
        return self._pages
