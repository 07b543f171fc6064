"""Rebuild benchmark: the derived tables (pipelines/derive.py) rebuilt whole, as before issue 18,
against piece by piece under a memory budget.

    nice .venv/bin/python tests/benchmarks/bench_rebuild.py --tickets 1000000 [--budgets 40%,2GB,1GB]
        [--work /tmp/bench_rebuild]

Generates N tickets in Parquet (`aftersales generate --tickets N --format parquet --end 2026-10-31`,
kept in WORK for the next run) and loads them once. Then, each run in a fresh process on its own
copy of that database (so the peak is the run's own):
  whole       one CREATE TABLE … AS SELECT … ORDER BY per table, DuckDB's default memory limit
              (80% of the machine) and settings: the rebuild before issue 18
  budget B    `derive.refresh(full=True)` in a writer session holding B (`[load] memory_budget`):
              DuckDB limited to 70% of B with a spill directory beside the database, the tables
              built in pieces sized to that limit
and prints wall time, CPU time, time per ticket, peak memory (the process's maximum RSS, VmHWM), the
pieces (ticket/survey/part facts), the 1-minute load average, the ratios of time, CPU and peak to
whole (to the first run with --skip-whole), and whether the peak kept within B. On a shared machine
the CPU ratio is the one to read: wall time follows the other jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLES = ["outlets", "technicians", "products", "tickets", "visits", "parts_used", "surveys"]

CHILD = r"""
import json, os, resource, shutil, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
mode, src, db = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
import duckdb
from aftersales.config import memory_budget_bytes
from aftersales.db import peak_rss_bytes, writer
from pipelines import derive, derive_pieces


def report(con, t0, pieces):
    counts = {{n: con.execute(f"SELECT count(*) FROM {{n}}").fetchall()[0][0] for n in derive.TABLES}}
    secs = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({{"seconds": secs, "pieces": pieces, "counts": counts, "peak": peak_rss_bytes(),
                      "cpu": use.ru_utime + use.ru_stime, "load": os.getloadavg()[0]}}))


if mode == "whole":
    shutil.copyfile(src, db)
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    for name, select in derive.TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE {{name}} AS {{select()}}")
    report(con, t0, {{}})
else:
    # the writer copies src to its work file first: timed from the session's start; the
    # session is then abandoned (nothing published), as "whole" is never checkpointed either
    with writer(src, memory_budget_bytes(mode)) as con:
        t0 = time.perf_counter()
        rows = derive_pieces.piece_rows(con)
        pieces = {{n: len(f(con, rows)) for n, f in derive_pieces.PIECES.items()}}
        derive.refresh(con, full=True)
        report(con, t0, pieces)
        raise SystemExit(0)
"""


def run_child(mode: str, src: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), mode, str(src), str(db)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--budgets", default="40%,2GB,1GB", help="memory budgets to run, comma-separated")
    ap.add_argument("--work", default="/tmp/bench_rebuild")
    ap.add_argument("--skip-whole", action="store_true", help="only the budgeted runs (whole may not fit)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from aftersales.config import machine_memory, memory_budget_bytes
    from pipelines.generate import generate
    from pipelines.load import load_paths

    work = Path(args.work)
    src = work / f"data_{args.tickets}"
    if not (src / "tickets.parquet").exists():
        t0 = time.perf_counter()
        generate(src, tickets=args.tickets, seed=7, fmt="parquet", end="2026-10-31", progress=sys.stderr.isatty())
        print(f"generated {args.tickets:,} tickets in {time.perf_counter() - t0:.0f} s -> {src}")
    base = work / f"base_{args.tickets}.duckdb"
    if not base.exists():
        t0 = time.perf_counter()
        load_paths(work / "loading.duckdb", [src / f"{t}.parquet" for t in TABLES], show_progress=False)
        (work / "loading.duckdb").rename(base)
        print(f"loaded in {time.perf_counter() - t0:.0f} s -> {base}")
    print(f"machine: {os.cpu_count()} cores, {machine_memory() / 2**30:.0f} GB RAM, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    scratch = work / "run"
    runs = [] if args.skip_whole else [("whole", "whole (before issue 18)")]
    runs += [(b, f"budget {b} = {memory_budget_bytes(b) / 2**30:.1f} GiB") for b in args.budgets.split(",")]
    ref = None
    for mode, label in runs:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        src_db = base if mode == "whole" else scratch / "db.duckdb"
        if mode != "whole":
            shutil.copyfile(base, src_db)  # the writer copies this once more, untimed
        r = run_child(mode, src_db, scratch / "whole.duckdb")
        n = r["counts"]["ticket_facts"]
        ref = ref or r
        within = "" if mode == "whole" else \
            f"  {'within' if r['peak'] <= memory_budget_bytes(mode) else 'OVER'} budget"
        pieces = "/".join(str(p) for p in r["pieces"].values()) or "1/1/1"
        print(f"  {label:<34} {r['seconds']:7.1f} s  cpu {r['cpu']:6.1f} s  {r['seconds'] / n * 1e6:6.2f} µs/ticket  "
              f"peak {r['peak'] / 2**20:7,.0f} MB  pieces {pieces:<9} load average {r['load']:.1f}  "
              f"time {r['seconds'] / ref['seconds']:.2f}x  cpu {r['cpu'] / ref['cpu']:.2f}x  "
              f"peak {r['peak'] / ref['peak']:.2f}x {'first run' if args.skip_whole else 'whole'}{within}")
        if r["counts"] != ref["counts"]:
            print(f"    ROW COUNTS DIFFER from the first run: {r['counts']} vs {ref['counts']}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
