"""Load benchmark: the pipeline against DuckDB's own CREATE TABLE … AS SELECT on the same files.

    .venv/bin/python tests/benchmarks/bench_load.py --tickets 10000000 [--work /tmp/bench_load]

Generates N tickets with their visits, parts and surveys (canonical CSV and Parquet), then for
each format, each step in a fresh process (so peak memory is that step's own):
  raw       CREATE TABLE <t> AS SELECT * FROM read_csv/read_parquet(...) for every file
  pipeline  `aftersales load` of the same files into an empty database (master data loaded first)
  reload    the same `aftersales load` again (every file recognised, nothing changes)
  derive    the derived tables' full rebuild alone (part of the first load; shown separately)
and prints rows per second, peak memory, CPU time, the 1-minute load average at the end of
each step, and the ratios pipeline/raw and reload/pipeline.
Targets (2 cores): pipeline within 2.0x raw; reload within 0.2x of the first load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACT_TABLES = ["tickets", "visits", "parts_used", "surveys"]
MASTER_TABLES = ["outlets", "technicians", "products", "parts_inventory", "orders_daily"]

CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
mode, db, fmt, src = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
facts = {facts!r}
import duckdb
from pipelines.load import load_paths
t0 = time.perf_counter()
rows = 0
if mode == "raw":
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    for t in facts:
        con.execute(f"CREATE TABLE {{t}} AS SELECT * FROM {{reader}}($p)", {{"p": str(src / f"{{t}}.{{fmt}}")}})
        rows += con.execute(f"SELECT count(*) FROM {{t}}").fetchall()[0][0]
    con.close()
elif mode == "derive":
    # the derived tables' full rebuild on its own (the first load already did it once, inside
    # its timing): shows how much of the first load is the metrics' pre-joined tables
    from aftersales.db import writer
    from pipelines import derive
    with writer(db) as con:
        derive.refresh(con, full=True)
        rows = con.execute("SELECT count(*) FROM ticket_facts").fetchall()[0][0]
else:
    res = load_paths(db, [src / f"{{t}}.{{fmt}}" for t in facts], show_progress=False)
    rows = sum(r.rows_read for r in res)
    assert all(r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined for r in res)
secs = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": secs, "rows": rows, "peak_mb": use.ru_maxrss / 1024, "cpu": use.ru_utime + use.ru_stime,
                  "load": os.getloadavg()[0]}}))
"""


def run_child(mode: str, db: Path, fmt: str, src: Path) -> dict:
    code = CHILD.format(root=str(ROOT), facts=FACT_TABLES)
    out = subprocess.run([sys.executable, "-c", code, mode, str(db), fmt, str(src)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--work", default="/tmp/bench_load")
    ap.add_argument("--formats", default="parquet,csv")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipelines.generate import generate
    from pipelines.load import load_paths

    work = Path(args.work)
    src = work / f"data_{args.tickets}"
    if not (src / "tickets.csv").exists():
        t0 = time.perf_counter()
        generate(src, tickets=args.tickets, seed=7, fmt="both", progress=sys.stderr.isatty())
        print(f"generated {args.tickets:,} tickets in {time.perf_counter() - t0:.0f} s -> {src}")
    print(f"machine: {_machine()}")
    for fmt in args.formats.split(","):
        dbs = work / f"db_{fmt}"
        shutil.rmtree(dbs, ignore_errors=True)
        dbs.mkdir(parents=True)
        raw = run_child("raw", dbs / "raw.duckdb", fmt, src)
        db = dbs / "pipeline.duckdb"
        load_paths(db, [src / f"{t}.parquet" for t in MASTER_TABLES], show_progress=False)
        first = run_child("pipeline", db, fmt, src)
        again = run_child("pipeline", db, fmt, src)
        rebuilt = run_child("derive", db, fmt, src)
        print(f"\n{fmt}: {raw['rows']:,} rows in {', '.join(FACT_TABLES)}")
        for name, r in (("raw DuckDB CTAS", raw), ("pipeline, first load", first), ("pipeline, same files again", again)):
            print(f"  {name:<28} {r['seconds']:7.1f} s  {r['rows'] / r['seconds']:>12,.0f} rows/s  "
                  f"peak {r['peak_mb']:,.0f} MB  cpu {r['cpu']:.1f} s  load average {r['load']:.1f}")
        print(f"  of the first load, the derived tables (ticket_facts, survey_facts, part_facts) rebuilt alone: "
              f"{rebuilt['seconds']:.1f} s, peak {rebuilt['peak_mb']:,.0f} MB, cpu {rebuilt['cpu']:.1f} s, "
              f"load average {rebuilt['load']:.1f}; first load without them ~ "
              f"{(first['seconds'] - rebuilt['seconds']) / raw['seconds']:.2f}x raw")
        print(f"  ratio first load / raw  = {first['seconds'] / raw['seconds']:.2f}x (target <= 2.0x); "
              f"in CPU time {first['cpu'] / raw['cpu']:.2f}x (less sensitive to other jobs on the machine)")
        print(f"  ratio reload / first    = {again['seconds'] / first['seconds']:.2f}x (target <= 0.2x)")


def _machine() -> str:
    import os
    import platform

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GB RAM, {platform.machine()}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
