"""Every Go process on the host, from /proc: what `ps` and the TUI's start screen list.

Each distinct executable (by device and inode, as /proc/PID/exe opens it, containers
included) is read once: its Go version and main module from the build info. Processes that
are not Go are skipped quietly; those whose executable cannot be read are counted.
"""

from __future__ import annotations

import os
import pwd
import time
from dataclasses import asdict, dataclass

from goprobe_tui.gobinary.buildinfo import BuildInfo, find_buildinfo
from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.errors import BinaryError


@dataclass(frozen=True)
class GoProcess:
    pid: int
    nspid: int | None  # its pid in its own PID namespace, where that differs
    binary: str  # the executable's path as the process sees it
    goversion: str  # as Go prints it: go1.27.2 ("" if the build info does not say)
    module: str  # the main module's path
    container: str  # container or cgroup name ("" on the host's own)
    user: str
    uptime_s: float
    threads: int
    comm: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Unreadable:
    pid: int
    comm: str  # its name, where even that can be read ("" otherwise)
    why: str  # the kernel's answer, in words


@dataclass(frozen=True)
class Scan:
    processes: list[GoProcess]
    unreadable: list[Unreadable]  # processes whose executable or status could not be read
    binaries_read: int  # distinct executables opened


def _unreadable(pid: int, exc: OSError) -> Unreadable:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read(64).strip()
    except OSError:
        comm = ""
    why = exc.strerror or "unreadable"
    if exc.errno in (1, 13):  # EPERM, EACCES: ptrace access mode denied by the kernel
        why = "not permitted (another user namespace, or a sandbox's own process)"
    return Unreadable(pid, comm, why)


def go_processes() -> Scan:
    binaries: dict[tuple[int, int], BuildInfo | None] = {}
    out: list[GoProcess] = []
    unreadable: list[Unreadable] = []
    boot = _boot_time()
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        try:
            st = os.stat(f"/proc/{pid}/exe")
        except FileNotFoundError:
            continue  # a kernel thread, or gone
        except OSError as exc:
            unreadable.append(_unreadable(pid, exc))
            continue
        key = (st.st_dev, st.st_ino)
        if key not in binaries:
            binaries[key] = _build_info(f"/proc/{pid}/exe")
        info = binaries[key]
        if info is None:
            continue  # not Go
        try:
            out.append(_process(pid, info, st.st_uid, boot, tick))
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError as exc:
            unreadable.append(_unreadable(pid, exc))
        except (ValueError, IndexError) as exc:
            unreadable.append(Unreadable(pid, "", f"its /proc files do not parse ({exc})"))
    out.sort(key=lambda p: p.pid)
    return Scan(out, unreadable, len(binaries))


def _build_info(path: str) -> BuildInfo | None:
    """None unless the file is a Go executable."""
    try:
        with ElfImage(path) as elf:
            return find_buildinfo(elf)
    except (BinaryError, OSError, ValueError):
        return None


def _status(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            key, _, value = line.decode("utf-8", "replace").partition(":")
            out[key] = value.strip()
    return out


def _process(pid: int, info: BuildInfo, uid: int, boot: float, tick: int) -> GoProcess:
    status = _status(pid)
    nspids = status.get("NSpid", "").split()
    nspid = int(nspids[-1]) if len(nspids) > 1 else None
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode("utf-8", "replace")
    fields = stat[stat.rfind(")") + 2 :].split()
    started = boot + int(fields[19]) / tick  # field 22 (starttime), counted after comm
    try:
        binary = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        binary = "?"
    real_uid = int(status.get("Uid", str(uid)).split()[0])
    return GoProcess(
        pid,
        nspid,
        binary,
        info.goversion,
        info.path or info.main_path,
        _container(pid),
        _user(real_uid),
        max(0.0, time.time() - started),
        int(status.get("Threads", "1")),
        status.get("Name", ""),
    )


def _boot_time() -> float:
    with open("/proc/uptime") as f:
        return time.time() - float(f.read().split()[0])


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


_OWN_CGROUP: str | None = None


def _container(pid: int) -> str:
    """docker:abc123def456, a Kubernetes pod, or the cgroup path where it is not ours."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            path = f.read().strip().splitlines()[-1].split(":", 2)[2]
    except (OSError, IndexError):
        return ""
    for marker, kind in (
        ("docker-", "docker"),
        ("/docker/", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ):
        at = path.find(marker)
        if at >= 0:
            ident = path[at + len(marker) :].split("/")[0].removesuffix(".scope")
            return f"{kind}:{ident[:12]}"
    if "kubepods" in path:
        return "k8s:" + path.rsplit("/", 1)[-1][:40]
    if path in ("/", "/init.scope") or path.startswith(("/user.slice", "/system.slice")):
        path = ""  # the host's own
    try:
        if not path and os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"):
            return "mount namespace " + os.readlink(f"/proc/{pid}/ns/mnt").split(":")[-1].strip("[]")
    except OSError:
        pass
    return path


def format_uptime(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
