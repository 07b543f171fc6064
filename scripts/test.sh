#!/usr/bin/env bash
# Sets up everything from nothing, then runs the default test suite (slow tests excluded;
# run them with: .venv/bin/pytest -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -q "$@"
