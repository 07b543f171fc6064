"""Rollup tables against the facts: the metric calls each dashboard page makes, in CPU seconds.

    .venv/bin/python tests/benchmarks/bench_rollup.py --db /path/to/10M.duckdb [--pages overview,sla]

Records each page's metric calls (Streamlit's AppTest, as bench_dashboard.py does) with no filter,
a region, and a region and a channel, then calls them directly on a fresh read-only connection
each, twice with the rollups (``metrics.rollup.choose`` as shipped) and twice reading the facts
only (``choose`` answering nothing), alternating; prints the lower of each, in process CPU time
(what our queries cost, whatever else the shared machine runs) beside wall time and the load
average, and the ratio rollups / facts. The database gets its rollups first if they are missing
or stale (``derive.refresh``, as a load would).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

FILTERS = ({}, {"region": "华东"}, {"region": "华东", "channel": "天猫"})


def timed(db: Path, calls: list, conf: dict) -> tuple[float, float]:
    import bench_dashboard as B
    import duckdb

    cpu = wall = 0.0
    for name, call in calls:
        con = duckdb.connect(str(db), read_only=True)
        try:
            c0, t0 = time.process_time(), time.perf_counter()
            B.replay(con, name, call, conf)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - t0
        finally:
            con.close()
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--pages", default="overview,sla,repair,satisfaction,complaints")
    args = ap.parse_args()

    import bench_dashboard as B

    from aftersales.config import load_config
    from metrics import rollup

    os.environ["AFTERSALES_DASHBOARD_PERSIST"] = "0"
    db = Path(args.db)
    B.ensure_rollups(db)
    conf = load_config(None, db)
    shipped = rollup.choose
    print(f"{'page':<13} {'filters':<26} {'calls':>5} {'facts CPU':>10} {'rollups CPU':>12} {'ratio':>6}   wall facts / rollups, load")
    for page in args.pages.split(","):
        for params in FILTERS:
            calls = B.record_queries(db, page, params)
            best: dict[str, tuple[float, float]] = {}
            for mode in ("facts", "rollups", "facts", "rollups"):
                rollup.choose = shipped if mode == "rollups" else (lambda con, plan: {})
                try:
                    got = timed(db, calls, conf)
                finally:
                    rollup.choose = shipped
                best[mode] = min(best.get(mode, got), got)
            f, r = best["facts"], best["rollups"]
            label = "+".join(params) or "none"
            print(f"{page:<13} {label:<26} {len(calls):5d} {f[0]:9.2f}s {r[0]:11.2f}s {r[0] / f[0] if f[0] else 0:6.2f}   "
                  f"{f[1]:.2f} / {r[1]:.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
