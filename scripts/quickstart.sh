#!/usr/bin/env bash
# The product on the embedded sample data: set up, generate ~100k tickets (2024-01 up to yesterday),
# load them, summarise what was loaded, forecast workload and spare parts, and serve the
# dashboard on http://127.0.0.1:8501/ (Ctrl+C stops it). PORT=8600 picks another port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export AFTERSALES_DB=${AFTERSALES_DB:-$PWD/data/aftersales.duckdb}
AS=.venv/bin/aftersales
if [ ! -f data/sample/tickets.parquet ]; then
  $AS generate --out data/sample --messy
fi
$AS load data/sample          # a second run recognises the files and changes nothing
$AS summary
# Forecasts take a few minutes on 2 cores; once stored, a re-run of this script reuses them.
if ! .venv/bin/python -c "import os, sys; from forecasts.store import latest_run; \
sys.exit(0 if latest_run(os.environ['AFTERSALES_DB'], 'parts') else 1)" 2>/dev/null; then
  $AS forecast all
fi
exec $AS dashboard --port "${PORT:-8501}"
