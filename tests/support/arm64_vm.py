"""An arm64 Linux under qemu-system-aarch64 (TCG: no KVM, no arm64 host needed) that runs
goprobe-tui's probe scripts on arm64 Go programs and brings their records back.

Everything comes from Debian's registry: the host's qemu-system-arm (scripts/setup-test-env.sh
installs it), and two arm64 packages fetched with `apt-get download` and unpacked, never
installed: linux-image-cloud-arm64 (uprobes, tracefs, the PL011 console built in) and
busybox-static (the whole userland). They are kept in the test cache between runs.

One boot runs every case: busybox's init runs each case's probes.sh on its program, then sends
all records back over the serial console as a base64 tar between two marker lines.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import goprobe_tui
from tests.support.toolchains import CACHE

ASSETS = CACHE / "arm64"
KERNEL_META = "linux-image-cloud-arm64:arm64"
BUSYBOX = "busybox-static:arm64"
QEMU = "qemu-system-aarch64"
BEGIN, END = "==GOPROBE-RECORDS-BEGIN==", "==GOPROBE-RECORDS-END=="

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing
mkdir -p /o; cut -d' ' -f1 /proc/uptime > /o/booted; uname -rm > /o/uname
set -f  # the cases' arguments hold globs ('main.*') for goprobe-tui, not for this shell
export PYTHONPATH=/opt/py HOME=/tmp XDG_CACHE_HOME=/tmp/cache PYTHONDONTWRITEBYTECODE=1
live() {  # goprobe-tui itself, on this machine's Python: attach, run the program, Ctrl-C
  n=$1; c=/c/$n; o=/o/$n; pp=
  if [ -e $c/pid ]; then  # --pid: the program first, held on its stdin until attached
    mkfifo /tmp/in.$n
    $(cat $c/argv) < /tmp/in.$n > $o/stdout 2> $o/stderr &
    pp=$!
    exec 4> /tmp/in.$n
    args=$(sed "s/@PID@/$pp/g" $c/goprobe)
  else
    args=$(cat $c/goprobe)
  fi
  python3.11 -m $(cat $c/module) $args > $o/live.out 2> $o/live.err &
  gp=$!
  i=0
  while ! grep -q attached $o/live.err && kill -0 $gp 2>/dev/null && [ $i -lt 1500 ]; do
    sleep 0.2; i=$((i + 1))
  done
  if [ -n "$pp" ]; then
    cat $c/stdin >&4; exec 4>&-; wait $pp; st=$?
  else
    $(cat $c/argv) < $c/stdin > $o/stdout 2> $o/stderr; st=$?
  fi
  kill -INT $gp; wait $gp; echo $? > $o/goprobe_status
  echo $st > $o/status
}
dump() {  # goprobe-tui's goroutines on the parked program, then the runtime's own dump (SIGQUIT)
  n=$1; c=/c/$n; o=/o/$n
  mkfifo /tmp/in.$n
  GOTRACEBACK=all $(cat $c/argv) < /tmp/in.$n > $o/stdout 2> $o/stderr &
  pp=$!
  exec 4> /tmp/in.$n
  i=0
  while ! grep -q ready $o/stdout && [ $i -lt 1500 ]; do sleep 0.2; i=$((i + 1)); done
  python3.11 -m goprobe_tui $(sed "s/@PID@/$pp/g" $c/goprobe) > $o/live.out 2> $o/live.err
  echo $? > $o/goprobe_status
  kill -QUIT $pp; wait $pp; echo $? > $o/status  # stdin still open: main cannot end first
  exec 4>&-
}
for n in $(ls /c); do
  c=/c/$n; mkdir -p /o/$n
  if [ -e $c/dump ]; then dump $n; continue; fi
  if [ -e $c/goprobe ]; then live $n; continue; fi
  GOPROBE_OUT=/o/$n/records sh $c/probes.sh $(cat $c/argv) < $c/stdin > /o/$n/stdout 2> /o/$n/stderr
  echo $? > /o/$n/status
done
cut -d' ' -f1 /proc/uptime > /o/finished
cat /sys/kernel/tracing/uprobe_events > /o/uprobe_events_after
ls /sys/kernel/tracing/instances > /o/instances_after
cd /o && tar czf /tmp/o.tgz .
echo BEGIN_MARK; base64 /tmp/o.tgz; echo END_MARK
poweroff -f
""".replace("BEGIN_MARK", BEGIN).replace("END_MARK", END)


class HarnessError(RuntimeError):
    pass


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)}: {out.stderr.strip()[-500:]}")
    return out.stdout


def _arm64_lists() -> None:
    """The registry's arm64 package lists (a new machine knows amd64 only)."""
    if "arm64" not in _run(["dpkg", "--print-foreign-architectures"]).split():
        _run(["dpkg", "--add-architecture", "arm64"])
        _run(["apt-get", "update", "-qq"])


def _download(package: str, into: Path) -> Path:
    """A package's .deb from Debian's registry (kept), unpacked into `into`."""
    debs = ASSETS / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    name = package.split(":")[0]
    found = sorted(debs.glob(f"{name}_*_arm64.deb"))
    if not found:
        _arm64_lists()
        try:
            _run(["apt-get", "download", "-q", package], cwd=debs)
        except HarnessError:  # a registry list from before arm64 was added
            _run(["apt-get", "update", "-qq"])
            _run(["apt-get", "download", "-q", package], cwd=debs)
        found = sorted(debs.glob(f"{name}_*_arm64.deb"))
    if not found:
        raise HarnessError(f"apt-get download {package} gave no .deb")
    _run(["dpkg-deb", "-x", str(found[-1]), str(into)])
    return found[-1]


def assets() -> tuple[Path, Path]:
    """(kernel image, busybox), fetched once."""
    root = ASSETS / "root"
    kernels = sorted((root / "boot").glob("vmlinuz-*")) if root.exists() else []
    if not kernels or not (root / "bin" / "busybox").exists():
        shutil.rmtree(root, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=ASSETS.parent if ASSETS.parent.exists() else None))
        try:
            _arm64_lists()
            try:
                meta = _run(["apt-cache", "depends", KERNEL_META])
            except HarnessError:  # lists from before arm64 was added
                _run(["apt-get", "update", "-qq"])
                meta = _run(["apt-cache", "depends", KERNEL_META])
            versioned = re.search(r"Depends:\s*(linux-image-\S+)", meta)
            if not versioned:
                raise HarnessError(f"{KERNEL_META}: no kernel package it depends on")
            image = versioned.group(1)
            _download(image if image.endswith(":arm64") else image + ":arm64", tmp)
            _download(BUSYBOX, tmp)
            ASSETS.mkdir(parents=True, exist_ok=True)
            tmp.rename(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if shutil.which(QEMU) is None:
        raise HarnessError(f"{QEMU} is missing: apt-get install qemu-system-arm")
    return kernels[-1], root / "bin" / "busybox"


# Python for goprobe-tui in the VM: Debian's arm64 interpreter and the libraries its modules
# and the wheels load, and goprobe-tui's dependencies as PyPI's aarch64 wheels.
PYTHON_DEBS = (
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libc6",
    "libexpat1",
    "zlib1g",
    "libssl3",
    "libbz2-1.0",
    "libffi8",
    "liblzma5",
    "libuuid1",
    "libgcc-s1",
    "libstdc++6",
    "libcrypt1",
)
PYTHON_WHEELS = (
    "capstone>=5.0.1,<6",
    "rapidfuzz>=3.14,<4",
    "numpy>=1.26",
    "pyelftools==0.33",
    "textual==8.2.8",
)
_UNUSED = (
    "usr/share",
    "usr/lib/aarch64-linux-gnu/gconv",
    "usr/lib/python3.11/test",
    "usr/lib/python3.11/idlelib",
    "usr/lib/python3.11/tkinter",
    "usr/lib/python3.11/ensurepip",
    "usr/lib/python3.11/lib2to3",
    "usr/lib/python3.11/pydoc_data",
)


def python_root() -> Path:
    """An arm64 Python 3.11 with goprobe-tui's dependencies, unpacked once into the cache."""
    root = ASSETS / "python"
    stamp = "\n".join(PYTHON_DEBS + PYTHON_WHEELS)
    made = root / ".packages"
    if (root / "usr" / "bin" / "python3.11").exists() and made.exists() and made.read_text() == stamp:
        return root
    shutil.rmtree(root, ignore_errors=True)  # made from other packages: made again
    ASSETS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=ASSETS))
    try:
        for package in PYTHON_DEBS:
            _download(f"{package}:arm64", tmp)
        wheels = ASSETS / "wheels"
        wheels.mkdir(exist_ok=True)
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "-d",
                str(wheels),
                "--only-binary=:all:",
                *(
                    f"--platform={p}"
                    for p in (
                        "manylinux_2_28_aarch64",
                        "manylinux_2_27_aarch64",
                        "manylinux_2_17_aarch64",
                        "manylinux2014_aarch64",
                    )
                ),
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "--abi",
                "abi3",
                "--abi",
                "none",
                *PYTHON_WHEELS,
            ]
        )
        for wheel in wheels.glob("*.whl"):
            with zipfile.ZipFile(wheel) as z:
                z.extractall(tmp / "opt" / "py")
        for rel in _UNUSED:
            shutil.rmtree(tmp / rel, ignore_errors=True)
        for tests in (tmp / "opt" / "py" / "numpy").rglob("tests"):
            shutil.rmtree(tests, ignore_errors=True)
        _compile(tmp)
        (tmp / ".packages").write_text(stamp)
        tmp.rename(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _compile(tree: Path, *dirs: str) -> None:
    """Bytecode made here (3.11 here and there: the same format), so the emulated CPU does
    not compile every module at each start."""
    targets = [str(tree / d) for d in (dirs or ("usr/lib/python3.11", "opt/py"))]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", *targets],
        capture_output=True,
        check=False,
    )


def _add_python(tree: Path) -> None:
    shutil.copytree(python_root(), tree, symlinks=True, dirs_exist_ok=True)
    source = Path(goprobe_tui.__file__).resolve().parent
    shutil.copytree(source, tree / "opt" / "py" / "goprobe_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(Path(__file__).with_name("arm64_tui.py"), tree / "opt" / "py")
    _compile(tree, "opt/py/goprobe_tui", "opt/py/arm64_tui.py")


@dataclass
class Case:
    name: str  # [a-z0-9_]
    binary: Path  # built for arm64; lands at /t/<name> in the VM
    script_dir: Path | None  # what `trace --emit-script` wrote (with --target-path /t/<name>)
    args: tuple[str, ...] = ()
    stdin: str = ""  # what the program reads
    # Or goprobe-tui itself in the VM: its arguments (the binary is /t/<name>; @PID@ stands
    # for the program's pid, which then starts first and waits for its stdin)
    goprobe: tuple[str, ...] = ()
    module: str = "goprobe_tui"  # what `python3.11 -m` runs with those arguments (arm64_tui: the TUI)
    # A dump: the program runs first (GOTRACEBACK=all) until it prints "ready", goprobe-tui
    # runs to its end, then the program gets SIGQUIT (its stderr: the runtime's own dump)
    dump: bool = False


@dataclass
class CaseResult:
    records: Path
    stdout: str
    stderr: str
    status: int
    live_out: str = ""  # a live case: goprobe-tui's stdout, stderr and exit status
    live_err: str = ""
    live_status: int | None = None


@dataclass
class Boot:
    results: dict[str, CaseResult]
    uname: str
    boot_s: float  # kernel start to init (the VM's uptime)
    cases_s: float  # the cases, in the VM
    wall_s: float  # qemu start to exit, here
    leftovers: str  # uprobe_events and instances after the cases (must be empty)


def target_path(name: str) -> str:
    return f"/t/{name}"


def _initramfs(cases: list[Case], busybox: Path, work: Path) -> Path:
    tree = work / "tree"
    (tree / "bin").mkdir(parents=True)
    shutil.copy(busybox, tree / "bin" / "busybox")
    (tree / "t").mkdir()
    for case in cases:
        shutil.copy(case.binary, tree / "t" / case.name)
        c = tree / "c" / case.name
        c.mkdir(parents=True)
        if case.goprobe:
            (c / "goprobe").write_text(" ".join(case.goprobe))
            (c / "module").write_text(case.module)
            if any("@PID@" in a for a in case.goprobe):
                (c / "pid").write_text("")
            if case.dump:
                (c / "dump").write_text("")
        else:
            shutil.copy(case.script_dir / "probes.sh", c / "probes.sh")
        (c / "argv").write_text(" ".join([target_path(case.name), *case.args]))
        (c / "stdin").write_text(case.stdin)
    if any(case.goprobe for case in cases):
        _add_python(tree)
    (tree / "init").write_text(INIT)
    (tree / "init").chmod(0o755)
    image = work / "initramfs.cpio.gz"
    files = subprocess.run(["find", "."], cwd=tree, capture_output=True, check=True).stdout
    cpio = subprocess.run(
        ["cpio", "-o", "-H", "newc", "--quiet"], cwd=tree, input=files, capture_output=True, check=True
    ).stdout
    import gzip

    image.write_bytes(gzip.compress(cpio, 1))
    return image


def boot(cases: list[Case], work: Path, cpus: int = 2, timeout: float = 1200) -> Boot:
    # timeout: a stuck VM, not a slow one (the cases take about 140 s of an idle host's CPU;
    # emulation on a loaded one takes several times that)
    kernel, busybox = assets()
    image = _initramfs(cases, busybox, work)
    started = time.monotonic()
    try:
        out = subprocess.run(
            [
                QEMU,
                "-M",
                "virt",
                "-cpu",
                "cortex-a57",
                "-smp",
                str(cpus),
                "-m",
                "1024",
                "-nographic",
                "-no-reboot",
                "-kernel",
                str(kernel),
                "-initrd",
                str(image),
                "-append",
                "console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=1",
            ],
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"the arm64 VM did not finish in {timeout:.0f} s") from exc
    wall = time.monotonic() - started
    console = out.stdout.decode("ascii", "replace")
    if BEGIN not in console or END not in console:
        raise HarnessError(
            f"no records from the arm64 VM (exit {out.returncode}): "
            f"{console[-1500:]} {out.stderr.decode(errors='replace')[-500:]}"
        )
    body = console.split(BEGIN, 1)[1].split(END, 1)[0]
    data = base64.b64decode("".join(body.split()))
    dest = work / "out"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    results = {}
    for case in cases:
        d = dest / case.name
        result = CaseResult(
            d / "records",
            (d / "stdout").read_text(errors="replace"),
            (d / "stderr").read_text(errors="replace"),
            int((d / "status").read_text().strip() or -1),
        )
        if case.goprobe:
            result.live_out = (d / "live.out").read_text(errors="replace")
            result.live_err = (d / "live.err").read_text(errors="replace")
            result.live_status = int((d / "goprobe_status").read_text().strip() or -1)
        results[case.name] = result
    booted = float((dest / "booted").read_text())
    finished = float((dest / "finished").read_text())
    leftovers = ((dest / "uprobe_events_after").read_text() + (dest / "instances_after").read_text()).strip()
    return Boot(results, (dest / "uname").read_text().strip(), booted, finished - booted, wall, leftovers)


def available() -> str:
    """Why the harness cannot run here ("" when it can)."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} is not installed (apt-get install qemu-system-arm)"
    if os.geteuid() != 0:
        return "unpacking the arm64 packages needs apt-get as root"
    return ""


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["fetch"]:
        sys.exit("usage: python -m tests.support.arm64_vm fetch")
    print(*assets(), python_root())
