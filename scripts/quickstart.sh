#!/usr/bin/env bash
# The product on the embedded sample data: set up, generate ~100k tickets (2024-01 .. 2026-10),
# load them, and summarise what was loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export AFTERSALES_DB=${AFTERSALES_DB:-data/aftersales.duckdb}
if [ ! -f data/sample/tickets.parquet ]; then
  .venv/bin/aftersales generate --out data/sample --messy
fi
.venv/bin/aftersales load data/sample
.venv/bin/aftersales summary
