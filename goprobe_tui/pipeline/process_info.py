"""Who a thread id belongs to, and where a process mapped the traced binary.

Binary records carry only the thread id. /proc answers while the thread lives (read once per
thread, with its start time: a record older than that is an earlier thread's with the same
id); for one that already exited, the kernel's saved_tgids / saved_cmdlines (kept because
the instance records tgids) are read again when a record is newer than the last reading (by
then the kernel saved its thread: an older entry may be another process's with the same id),
else at most once per second.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict

MAX_THREADS = 100_000
_RELOAD_SAVED = 1.0  # seconds
_RECHECK = 5.0  # seconds: a thread id can be reused by another process


_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _started_ns(tid: int) -> int | None:
    """When the thread that has this id now started, on the trace clock (CLOCK_MONOTONIC),
    rounded down to a clock tick; None if it cannot be read."""
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])  # field 22, starttime
    except (OSError, ValueError, IndexError):
        return None
    # /proc counts from boot, suspend included; the trace clock does not count suspend
    suspended = time.clock_gettime_ns(time.CLOCK_BOOTTIME) - time.monotonic_ns()
    return ticks * _TICK_NS - suspended


def _read_status(tid: int) -> tuple[int, str, int | None] | None:
    """(tgid, comm, tgid in the thread's own PID namespace) from /proc."""
    tgid, name, nstgid = 0, "", None
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                key, _, value = line.partition(b":")
                if key == b"Name":
                    name = value.strip().decode("utf-8", "replace")
                elif key == b"Tgid":
                    tgid = int(value)
                elif key == b"NStgid":  # one per namespace level, the innermost last
                    nstgid = int(value.split()[-1])
                    break
    except (OSError, ValueError):
        return None
    return (tgid, name, nstgid) if tgid else None


class ProcessInfo:
    def __init__(self, root: str, live: bool = True) -> None:
        """live=False: the records come from another machine (replay): this machine's /proc
        knows nothing of their threads, only the saved_tgids/saved_cmdlines under root do."""
        self.root = root
        self.live = live
        # tid -> (tgid, comm, namespace pid, when read, when that thread started (trace clock))
        self._threads: OrderedDict[int, tuple[int, str, int | None, float, int]] = OrderedDict()
        self._nspids: dict[int, int] = {}  # tgid -> its pid in its own namespace, once known
        self._saved_tgids: dict[int, int] = {}
        self._saved_comms: dict[int, str] = {}
        self._saved_at = 0.0
        self._saved_ns = -1  # the trace clock (CLOCK_MONOTONIC) when they were last read
        self._maps: dict[int, list[tuple[int, int, int]]] = {}
        self._inodes: dict[str, int | None] = {}
        # --pid: the one process traced, (pid, comm). A thread nobody knows any more (it and
        # its process have exited, and perf keeps no saved_tgids) is one of its threads.
        self._target: tuple[int, str] | None = None
        self._only = False  # every thread is the target's (perf told so)
        self._told: dict[int, int] = {}  # tid -> pid, as perf's samples said (never a guess)

    def thread(self, tid: int, ts_ns: int | None = None) -> tuple[int, str, int | None]:
        """(tgid, comm, tgid in its own PID namespace) of a thread; (tid, "?", None) when
        nobody knows any more (None: the namespace pid is not known). ts_ns: when its record
        was written (the trace clock)."""
        info = self._threads.get(tid)
        now = time.monotonic()
        told = self._told.get(tid)
        if told is not None and (info is None or info[0] != told):
            # perf said whose thread it is: /proc may name another process by now
            found = _read_status(tid) if self.live else None
            comm = found[1] if found is not None and found[0] == told else "?"
            info = self._threads[tid] = (
                told,
                comm,
                found[2] if found and found[0] == told else None,
                float("inf"),
                0,
            )
        if self._only and self._target is not None and info is None:
            # its name from /proc only while the id is still one of the target's threads
            found = _read_status(tid)
            comm = found[1] if found is not None and found[0] == self._target[0] else self._target[1]
            info = self._threads[tid] = (self._target[0], comm, None, float("inf"), 0)
        elif info is None or now - info[3] > _RECHECK:
            found = _read_status(tid) if self.live else None
            started = (_started_ns(tid) or 0) if found is not None else 0
            tgid, comm, nspid = found or (info[:3] if info else None) or self._saved(tid, ts_ns)
            if nspid is not None:
                self._nspids[tgid] = nspid
            info = self._threads[tid] = (tgid, comm, nspid, now, started)
            self._threads.move_to_end(tid)
            if len(self._threads) > MAX_THREADS:
                self._threads.popitem(last=False)
        if ts_ns is not None and ts_ns < info[4]:
            # the id names a thread that started after this record was written: the record is
            # an earlier thread's, which had the same id (ids are reused)
            return self._saved(tid, ts_ns)
        return info[0], info[1], self._nspids.get(info[0])

    def learn_process(self, pid: int) -> None:
        """Read a process's namespace pid and name now, while it lives (its events may be
        decoded after it has exited): --pid's target."""
        found = _read_status(pid)
        if found is not None and found[2] is not None:
            self._nspids[found[0]] = found[2]
        if found is not None:
            self._target = (found[0], found[1])

    def learn_threads(self, threads: dict[int, int]) -> None:
        """tid -> pid pairs perf's samples gave (a launched program's process tree)."""
        self._told.update(threads)
        for tid in threads:
            self._threads.pop(tid, None)  # read again, with what perf said

    def only(self, pid: int) -> None:
        """Every record comes from this process's threads (perf delivers nothing else)."""
        if self._target is None or self._target[0] != pid:
            self._target = (pid, "?")
        self._only = True

    def _saved(self, tid: int, ts_ns: int | None) -> tuple[int, str, None]:
        now = time.monotonic()
        # A record written after the last reading: the files name its thread now. What they
        # said before may be another process's that had the same id (ids are reused: this
        # machine's pid_max is 32768); a process that exited within a second of another was
        # "?", or that other process, with its tid as its pid.
        newer = self.live and ts_ns is not None and ts_ns >= self._saved_ns
        if newer or (tid not in self._saved_tgids and now - self._saved_at > _RELOAD_SAVED):
            self._saved_at = now
            self._saved_ns = time.monotonic_ns()
            self._saved_tgids = _read_pairs(os.path.join(self.root, "saved_tgids"), int)
            self._saved_comms = _read_pairs(os.path.join(self.root, "saved_cmdlines"), str)
        if tid not in self._saved_tgids and self._target is not None:
            return self._target[0], self._saved_comms.get(tid, self._target[1]), None
        return self._saved_tgids.get(tid, tid), self._saved_comms.get(tid, "?"), None

    def file_offset(self, pid: int, path: str, ip: int) -> int | None:
        """The file offset of a runtime address in `path` as mapped by `pid` (PIE), or None."""
        if not self.live:
            return None  # the process ran elsewhere: its page offset decides (decoder._site)
        for attempt in range(2):
            maps = self._maps.get(pid)
            if maps is None or attempt:
                maps = self._maps[pid] = self._read_maps(pid, path)
            for start, end, pgoff in maps:
                if start <= ip < end:
                    return ip - start + pgoff
        return None

    def _read_maps(self, pid: int, path: str) -> list[tuple[int, int, int]]:
        if path not in self._inodes:
            try:
                self._inodes[path] = os.stat(path).st_ino
            except OSError:
                self._inodes[path] = None
        inode = self._inodes[path]
        out: list[tuple[int, int, int]] = []
        if inode is None:
            return out
        try:
            with open(f"/proc/{pid}/maps", "rb") as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) < 5 or b"x" not in parts[1] or int(parts[4]) != inode:
                        continue
                    lo, hi = parts[0].split(b"-")
                    out.append((int(lo, 16), int(hi, 16), int(parts[2], 16)))
        except (OSError, ValueError):
            pass
        return out


def _read_pairs(path: str, convert) -> dict:
    out = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.strip().partition(" ")
                if key.isdigit() and value:
                    out[int(key)] = convert(value)
    except (OSError, ValueError):
        pass
    return out
