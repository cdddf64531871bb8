#!/usr/bin/env bash
# The README's test command: sets up what the tests need (or reuses it), checks the code with
# ruff, then runs pytest. Works on a fresh clone as root: system packages, tracefs, Go
# toolchains, the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
.venv/bin/ruff check --no-cache goprobe_tui tests benchmarks scripts
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
