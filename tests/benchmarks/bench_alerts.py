"""Benchmark: `aftersales alerts check` with 50 KPI rules against one hand-written query per rule.

    .venv/bin/python tests/benchmarks/bench_alerts.py --tickets 10000000

The rules: ticket volume, complaint rate and CSAT × five breakdowns (none, region, outlet,
channel, service type) × week and month × two conditions (above a threshold, change against the
previous period), the first 50. ``alerts.check.run(dry_run=True)`` judges them all (every number
through ``metrics.query``, with the previous and last-year periods); the reference is one
hand-written DuckDB statement per rule giving the same numbers (the judged period, the one before
and the same one last year, per breakdown value). The data comes from
``tests/metrics_fixtures.synth`` into ``--db`` (made once, reused). Times are the best of
``--repeat`` interleaved runs; target: within 2× and under 30 s at 10M tickets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aftersales.config import load_config  # noqa: E402
from alerts import check, settings  # noqa: E402
from alerts.evaluate import judged_period  # noqa: E402
from metrics import periods  # noqa: E402
from tests.benchmarks.bench_metrics import ensure_db, ensure_facts, interleaved  # noqa: E402

KPIS = {  # kpi -> (rows, time column, numerator, denominator)
    "ticket_volume": ("tickets t", "t.created_at", "count(*)", "count(*)"),
    "complaint_rate": ("tickets t", "t.created_at", "count(*) FILTER (WHERE t.is_complaint)", "count(t.is_complaint)"),
    "csat": ("surveys s JOIN tickets t USING (ticket_id)", "s.responded_at",
             "count(*) FILTER (WHERE s.satisfaction >= 4)", "count(s.satisfaction)"),
}
BY = {None: "'*'", "region": "o.region", "outlet": "t.outlet_id", "channel": "t.channel",
      "service_type": "t.service_type"}


def rules() -> dict[str, dict]:
    out = {}
    for i, (kpi, by, period, cond) in enumerate(itertools.product(KPIS, BY, ("week", "month"), ("above", "change"))):
        r = {"kpi": kpi, "period": period, "min_sample": 1}
        r.update({"condition": "above", "threshold": 0.5} if cond == "above" else
                 {"condition": "change", "against": "previous", "percent": 10.0, "direction": "up"})
        if by:
            r["by"] = by
        out[f"r{i:02d}"] = r
    return dict(list(out.items())[:50])


def hand(con: duckdb.DuckDBPyConnection, rule: dict, as_of: dt.date) -> list[tuple]:
    """The rule's numbers written by hand: value per breakdown value in the judged period, the one
    before and the same one last year."""
    rows, ts, num, den = KPIS[rule["kpi"]]
    g = rule["period"]
    start, end = judged_period(as_of, g)
    wins = [(start, end + dt.timedelta(days=1)), (periods.shift(start, g, -1), start),
            (periods.last_year(start, g), periods.shift(periods.last_year(start, g), g, 1))]
    where = " OR ".join(f"({ts} >= $a{i} AND {ts} < $b{i})" for i in range(3))
    params = {f"a{i}": periods.to_ts(a) for i, (a, _) in enumerate(wins)}
    params.update({f"b{i}": periods.to_ts(b) for i, (_, b) in enumerate(wins)})
    by = BY[rule.get("by")]
    sql = (f"SELECT {by} AS k, date_trunc('{g}', {ts}) AS p, {num} AS n, {den} AS d "
           f"FROM {rows} LEFT JOIN outlets o ON o.outlet_id = t.outlet_id WHERE {where} GROUP BY ALL")
    return con.execute(sql, params).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", help="database to use/create (default: /tmp/aftersales-bench-<tickets>.duckdb)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    db = Path(args.db or f"/tmp/aftersales-bench-{args.tickets}.duckdb")
    ensure_db(db, args.tickets, args.seed)
    ensure_facts(db)
    conf = load_config(None)
    conf["alerts"] = {"rules": {**{r: {"enabled": False} for r in settings.DEFAULT_RULES}, **rules()}}
    n_rules = len(settings.rules(conf))
    with duckdb.connect(str(db), read_only=True) as con:
        as_of = con.execute("SELECT max(created_at) FROM tickets").fetchall()[0][0].date()

        def reference() -> int:
            return sum(len(hand(con, r, as_of)) for r in rules().values())

        wall, cpu, outs = interleaved({
            "alerts check": lambda: len(check.run(db, conf, dry_run=True).observations),
            "hand-written": reference,
        }, args.repeat)
    print(f"{args.tickets:,} tickets, {n_rules} rules, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"alerts check: {wall['alerts check']:.2f} s wall, {cpu['alerts check']:.2f} s CPU; "
          f"{outs['alerts check']} values judged")
    print(f"hand-written: {wall['hand-written']:.2f} s wall, {cpu['hand-written']:.2f} s CPU; "
          f"{outs['hand-written']} rows")
    print(f"ratio: {wall['alerts check'] / wall['hand-written']:.2f}x wall, "
          f"{cpu['alerts check'] / cpu['hand-written']:.2f}x CPU (target <= 2.0x and < 30 s)")


if __name__ == "__main__":
    main()
