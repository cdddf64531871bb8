#!/usr/bin/env bash
# The README's test command: sets up what the tests need (or reuses it), checks the code with
# ruff, then runs pytest. Works on a fresh clone as root: system packages, tracefs, Go
# toolchains, the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
.venv/bin/ruff check --no-cache goprobe_tui tests benchmarks scripts
.venv/bin/ruff format --no-cache --check goprobe_tui tests benchmarks scripts
.venv/bin/mypy  # the core packages, as pyproject.toml lists them
set +e
# Tests run in parallel, a file per worker (a module's shared setup, such as the arm64 VM,
# boots once). Every kernel test judges only what it started, so workers never see each
# other's probes; most of the time is spent waiting on the kernel and the programs traced, so
# one worker more than there are CPUs (3 here: 8.5 min, against 17.5-20 min in one process).
workers=${GOPROBE_TEST_WORKERS:-$(( $(nproc) + 1 ))}
.venv/bin/python -m pytest -q -n "$workers" --dist loadfile "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
