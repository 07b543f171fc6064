"""Rebuild benchmark: the derived tables (pipelines/derive.py) rebuilt whole, as before issue 18,
against piece by piece under a memory budget.

    nice .venv/bin/python tests/benchmarks/bench_rebuild.py --tickets 1000000 [--budgets 40%,2GB,1GB]
        [--work /tmp/bench_rebuild] [--base DB]

Generates N tickets in Parquet (`aftersales generate --tickets N --format parquet --end 2026-10-31`,
kept in WORK for the next run) and loads them once; or, with --base, starts from a loaded
database (copied, never written). Then, each run in a fresh process on its own copy of that
database (so the peak is the run's own):
  whole       one CREATE TABLE … AS SELECT … ORDER BY per table, DuckDB's default memory limit
              (80% of the machine) and settings: the rebuild before issue 18
  budget B    `derive.refresh(full=True)` in a writer session holding B (`[load] memory_budget`):
              DuckDB limited to 70% of B with a spill directory beside the database, the tables
              built in pieces sized to that limit
and prints wall time, CPU time, CPU time per ticket, peak memory (the process's maximum RSS, VmHWM),
the pieces (ticket/survey/part facts), the 1-minute load average, the ratios of time, CPU and peak to
whole (to the first run with --skip-whole), and whether the peak kept within B. On a shared machine
the CPU columns are the ones to read: wall time follows the other jobs. Each budgeted run is kept
in WORK/results.jsonl, and its CPU per ticket is compared with the other sizes run under the same
budget there (issue 18: 30M within 1.3x of 10M's).
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


def cpu():
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def report(con, t0, cpu0, pieces):
    secs, used = time.perf_counter() - t0, cpu() - cpu0
    counts = {{n: con.execute(f"SELECT count(*) FROM {{n}}").fetchall()[0][0] for n in derive.TABLES}}
    print(json.dumps({{"seconds": secs, "pieces": pieces, "counts": counts, "peak": peak_rss_bytes(),
                      "cpu": used, "load": os.getloadavg()[0]}}))


if mode == "whole":
    shutil.copyfile(src, db)
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    t0, cpu0 = time.perf_counter(), cpu()
    for name, select in derive.TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE {{name}} AS {{select()}}")
    report(con, t0, cpu0, {{}})
else:
    # timed from the rebuild's start (the writer's copy of src to its work file is not the
    # rebuild's); the session is then abandoned (nothing published), as "whole" is never
    # checkpointed either
    with writer(src, memory_budget_bytes(mode)) as con:
        rows = derive_pieces.piece_rows(con)
        pieces = {{n: len(f(con, rows)) for n, f in derive_pieces.PIECES.items()}}
        t0, cpu0 = time.perf_counter(), cpu()  # the work copy and the piece plan above are not timed
        derive.refresh(con, full=True)
        report(con, t0, cpu0, pieces)
        raise SystemExit(0)
"""


def run_child(mode: str, src: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), mode, str(src), str(db)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_sizes(path: Path, run: dict) -> None:
    """Record ``run`` in ``path`` (one JSON line each) and print its CPU per ticket against the
    latest run of every other size under the same budget."""
    earlier = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    with path.open("a") as f:
        f.write(json.dumps(run) + "\n")
    latest = {e["tickets"]: e for e in earlier if e["budget"] == run["budget"] and e["tickets"] != run["tickets"]}
    for n, e in sorted(latest.items()):
        print(f"    cpu per ticket {run['cpu_per_ticket'] * 1e6:.2f} µs vs {e['cpu_per_ticket'] * 1e6:.2f} µs at "
              f"{n:,} tickets ({e['at']}): {run['cpu_per_ticket'] / e['cpu_per_ticket']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--budgets", default="40%,2GB,1GB", help="memory budgets to run, comma-separated")
    ap.add_argument("--work", default="/tmp/bench_rebuild")
    ap.add_argument("--skip-whole", action="store_true", help="only the budgeted runs (whole may not fit)")
    ap.add_argument("--base", help="a loaded database to start from (copied, never written) instead of generating")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from aftersales.config import machine_memory, memory_budget_bytes
    from pipelines.generate import generate
    from pipelines.load import load_paths

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"data_{args.tickets}"
    if not args.base and not (src / "tickets.parquet").exists():
        t0 = time.perf_counter()
        generate(src, tickets=args.tickets, seed=7, fmt="parquet", end="2026-10-31", progress=sys.stderr.isatty())
        print(f"generated {args.tickets:,} tickets in {time.perf_counter() - t0:.0f} s -> {src}")
    base = Path(args.base) if args.base else work / f"base_{args.tickets}.duckdb"
    if args.base and not base.is_file():
        sys.exit(f"--base {base}: no such database")
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
        print(f"  {label:<34} {r['seconds']:7.1f} s  cpu {r['cpu']:6.1f} s  cpu {r['cpu'] / n * 1e6:6.2f} µs/ticket  "
              f"peak {r['peak'] / 2**20:7,.0f} MB  pieces {pieces:<9} load average {r['load']:.1f}  "
              f"time {r['seconds'] / ref['seconds']:.2f}x  cpu {r['cpu'] / ref['cpu']:.2f}x  "
              f"peak {r['peak'] / ref['peak']:.2f}x {'first run' if args.skip_whole else 'whole'}{within}")
        if r["counts"] != ref["counts"]:
            print(f"    ROW COUNTS DIFFER from the first run: {r['counts']} vs {ref['counts']}")
        if mode != "whole":
            compare_sizes(work / "results.jsonl", {"tickets": n, "budget": mode, "cpu_per_ticket": r["cpu"] / n,
                                                   "peak": r["peak"], "seconds": r["seconds"], "load": r["load"],
                                                   "at": time.strftime("%Y-%m-%d %H:%M")})
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
