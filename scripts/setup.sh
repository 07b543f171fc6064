#!/usr/bin/env bash
# Sets up everything from nothing on a Linux machine with Python 3.11+ and apt:
# a virtualenv in .venv with the project and its test tools installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
