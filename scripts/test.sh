#!/usr/bin/env bash
# Sets up everything from nothing, then runs the default test suite (slow tests excluded;
# run them with: .venv/bin/pytest -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Both cores, one test file per worker (-n 2 --dist loadfile): a file's tests keep their order and
# share their fixtures. `bash scripts/test.sh -n 0` runs in one process.
.venv/bin/python -m pytest -q -n 2 --dist loadfile "$@"
