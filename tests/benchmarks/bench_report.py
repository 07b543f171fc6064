"""Report benchmark: a monthly KPI report in every format on N generated tickets.

    .venv/bin/python tests/benchmarks/bench_report.py --tickets 10000000 [--work /tmp/bench_report]
    .venv/bin/python tests/benchmarks/bench_report.py --db data/aftersales.duckdb --period 2026-10

Generates N tickets (the project's generator, seed 7) and loads them with the pipeline, once per
N (kept in --work), then makes the report for --period in html,xlsx,pdf,csv, --runs times, in this
process, and prints where the time goes: queries (every metrics call), charts (plotly figures),
and writing (rendering each format and the atomic writes). The reference, run in the same
process on the same connection, is one raw DuckDB statement scanning every ticket (volume,
complaints and mean resolution hours per month): the report's time is printed as a ratio of it.
Target (2 cores): the whole monthly report within 30 s on 10 million tickets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from aftersales.principal import DataScope

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 30.0
REFERENCE_SQL = """
SELECT date_trunc('month', created_at) AS m, count(*) AS tickets, avg(CAST(is_complaint AS INTEGER)) AS complaint_rate,
       avg(epoch(resolved_at - created_at) / 3600.0) AS hours
FROM tickets GROUP BY 1 ORDER BY 1
"""


def ensure_db(work: Path, tickets: int) -> Path:
    from pipelines.generate import generate
    from pipelines.load import load_paths

    db = work / f"report_{tickets}.duckdb"
    if db.exists():
        return db
    src = work / f"data_{tickets}"
    if not (src / "tickets.parquet").exists():
        t0 = time.perf_counter()
        generate(src, tickets=tickets, seed=7, fmt="parquet", end="2026-10-31", progress=sys.stderr.isatty())
        print(f"generated {tickets:,} tickets in {time.perf_counter() - t0:.0f} s -> {src}")
    t0 = time.perf_counter()
    load_paths(db, [src], show_progress=sys.stderr.isatty())
    print(f"loaded in {time.perf_counter() - t0:.0f} s -> {db}")
    return db


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model or platform.processor()}), {mem:.0f} GB RAM, {platform.machine()}, "
            f"Python {platform.python_version()}")


def one_run(db: Path, period_text: str, formats: list[str], out: Path, workers: int | None) -> dict[str, float]:
    from aftersales.config import load_config
    from aftersales.db import connect_readonly
    from reports import content, period, writer

    cpu0, t0 = time.process_time(), time.perf_counter()
    con = connect_readonly(db)
    config = load_config(None, db)
    p = period.parse(period_text, dt.date.today())
    report = content.build(con, p, config=config, workers=workers, scope=DataScope())
    con.close()
    paths = writer.write(report, formats, out)
    total = time.perf_counter() - t0
    t = dict(report.timings)
    writing = sum(v for k, v in t.items() if k.startswith("render_") or k == "write_files")
    return {"total": total, "cpu": time.process_time() - cpu0, "queries": t["queries"], "charts": t["charts"],
            "writing": writing, **{k: v for k, v in t.items() if k.startswith("render_") or k == "write_files"},
            "files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--work", default="/tmp/bench_report")
    ap.add_argument("--db", help="an existing database instead of generating one")
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--formats", default="html,xlsx,pdf,csv")
    ap.add_argument("--runs", type=int, default=2, help="runs (the first also warms the OS file cache)")
    ap.add_argument("--workers", type=int, help="report query threads (default: reports.fetch.default_workers)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import duckdb

    from reports import writer

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    db = Path(args.db) if args.db else ensure_db(work, args.tickets)
    formats = writer.parse_formats(args.formats)
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT count(*) FROM tickets").fetchall()[0][0]
    t0 = time.perf_counter()
    con.execute(REFERENCE_SQL).fetchall()
    reference = time.perf_counter() - t0
    con.close()
    print(f"machine: {machine()}")
    print(f"database: {db} ({n:,} tickets, {db.stat().st_size / 2**30:.1f} GB); period {args.period}; "
          f"formats {','.join(formats)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"reference: one raw DuckDB scan of every ticket, by month: {reference:.2f} s")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_report_") as out:
        for i in range(args.runs):
            r = one_run(db, args.period, formats, Path(out), args.workers)
            results.append(r)
            print(f"\nrun {i + 1}: {r['total']:.1f} s wall, {r['cpu']:.1f} s CPU (all threads), "
                  f"{r['files']} files, {r['bytes'] / 2**20:.1f} MB")
            for stage in ("queries", "charts", "writing"):
                print(f"  {stage:<8} {r[stage]:7.2f} s  {100 * r[stage] / r['total']:5.1f}%")
            for k in sorted(k for k in r if k.startswith("render_") or k == "write_files"):
                print(f"    {k:<14} {r[k]:7.2f} s")
    best = min(results, key=lambda r: r["total"])
    print(f"\nbest run: {best['total']:.1f} s = {best['total'] / reference:.1f}x the reference scan; "
          f"target {TARGET_S:.0f} s: {'met' if best['total'] <= TARGET_S else 'missed'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
