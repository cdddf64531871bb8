"""Real old Go binaries, fetched from the npm registry with `npm pack` and cached.

esbuild shipped its Go-built executable inside per-platform npm packages, which gives us
real binaries of the Go 1.2-1.15 and 1.16-1.17 table formats, 32-bit, arm64 and big-endian.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.toolchains import CACHE


@dataclass(frozen=True)
class NpmBinary:
    package: str
    version: str
    member: str  # path inside the tarball
    goversion: str  # what the binary says it was built with
    table: str  # expected pclntab layout
    text: str = ""  # goref flag for 1.18+ tables without symbols ("-textheader")

    @property
    def id(self) -> str:
        return f"{self.package.replace('@', '').replace('/', '-')}-{self.version}"


OLD_BINARIES = [
    NpmBinary("esbuild-linux-64", "0.4.14", "package/bin/esbuild", "go1.14.2", "1.2"),
    NpmBinary("esbuild-linux-64", "0.7.22", "package/bin/esbuild", "go1.15", "1.2"),
    NpmBinary("esbuild-linux-32", "0.7.20", "package/bin/esbuild", "go1.15", "1.2"),
    NpmBinary("esbuild-linux-arm64", "0.7.15", "package/bin/esbuild", "go1.15", "1.2"),
    NpmBinary("esbuild-linux-64", "0.8.57", "package/bin/esbuild", "go1.16", "1.16"),
    NpmBinary("esbuild-linux-64", "0.12.29", "package/bin/esbuild", "go1.17.1", "1.16"),
    NpmBinary("esbuild-linux-32", "0.13.15", "package/bin/esbuild", "go1.17.2", "1.16"),
    NpmBinary("esbuild-linux-s390x", "0.14.54", "package/bin/esbuild", "go1.19", "1.18", "-textheader"),
]
# Real stripped releases of the Go versions no test toolchain has (goroutine lineage's offsets)
LINEAGE_BINARIES = [
    OLD_BINARIES[5],  # Go 1.17.1
    NpmBinary("esbuild-linux-64", "0.14.38", "package/bin/esbuild", "go1.18", "1.18", "-textheader"),
    NpmBinary("@esbuild/linux-x64", "0.17.10", "package/bin/esbuild", "go1.20", "1.20"),
]
BIG_BINARY = NpmBinary("@bufbuild/buf-linux-x64", "1.75.0", "package/bin/buf", "go1.27.3", "1.20")


def fetch(pkg: NpmBinary) -> Path:
    out = CACHE / "npm" / pkg.id
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tarball_dir = CACHE / "npm" / "tarballs"
    tarball_dir.mkdir(parents=True, exist_ok=True)
    name = (
        subprocess.run(
            ["npm", "pack", "--silent", f"{pkg.package}@{pkg.version}"],
            cwd=tarball_dir,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with tarfile.open(tarball_dir / name) as tar:
        member = tar.extractfile(pkg.member)
        if member is None:
            raise FileNotFoundError(f"{pkg.member} not in {name}")
        tmp = out.parent / f"{out.name}.tmp{os.getpid()}"
        tmp.write_bytes(member.read())
    tmp.chmod(0o755)
    tmp.rename(out)
    (tarball_dir / name).unlink()
    return out


if __name__ == "__main__":
    for pkg in [*OLD_BINARIES, *LINEAGE_BINARIES[1:], BIG_BINARY]:
        print(fetch(pkg))
