"""Benchmark: the full KPI panel and a drill-down, against hand-written DuckDB SQL and pandas.

    .venv/bin/python tests/benchmarks/bench_metrics.py --tickets 10000000

- panel: every KPI by region × month over the whole data (three years), ``metrics.query``
  (SQL + intervals, 环比/同比, status) vs ONE hand-written DuckDB statement producing the same
  measures vs pandas on the same data (columns already in memory; the load is timed apart);
- drill-down: one outlet, one month, every KPI (with its previous and last-year values).

The data is generated once with ``tests/metrics_fixtures.synth`` (deterministic, ~90 s for 10M
tickets on 2 cores) into ``--db`` and reused. Times are the best of ``--repeat`` runs after a
warm-up, in this process; ratios are against the references of the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import metrics  # noqa: E402
from aftersales import model  # noqa: E402
from aftersales.config import DEFAULTS  # noqa: E402
from aftersales.principal import DataScope  # noqa: E402
from metrics import registry as R  # noqa: E402
from tests.metrics_fixtures import synth  # noqa: E402

SLA = DEFAULTS["sla_hours"]


def _case(stage: str) -> str:
    lim = SLA[stage]
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in lim.items() if k != "default")
    h = f"CASE t.service_type {whens} ELSE {lim['default']} END" if whens else str(lim["default"])
    return f"t.created_at + to_microseconds(CAST(({h}) * 3600000000 AS BIGINT))"


# One statement, written the way an analyst would: one pass per row set, joins to outlets for the
# region, conditional aggregates. Output: one row per region × month with every KPI's measures.
HAND = f"""
WITH data_end AS (SELECT max(created_at) AS ts FROM tickets),
t AS (SELECT t.*, coalesce(o.region, '-') AS region FROM tickets t LEFT JOIN outlets o ON o.outlet_id = t.outlet_id),
created AS (
  SELECT region, date_trunc('month', created_at) AS m, count(*) AS volume,
         count(*) FILTER (WHERE is_complaint) AS complaints, count(is_complaint) AS complaint_den,
         median(epoch(first_response_at - created_at) / 3600) FILTER (WHERE status <> 'cancelled'
             AND first_response_at >= created_at) AS frt_median
  FROM t GROUP BY ALL),
res AS (
  SELECT region, date_trunc('month', resolved_at) AS m,
         count(*) FILTER (WHERE reopened_at <= resolved_at + INTERVAL 30 DAY) AS reopened, count(*) AS resolved,
         median(epoch(refunded_at - coalesce(refund_requested_at, created_at)) / 3600) FILTER (
             WHERE service_type = 'refund' AND refunded_at >= coalesce(refund_requested_at, created_at)) AS refund_median
  FROM t WHERE resolved_at IS NOT NULL AND status <> 'cancelled' AND resolution IS DISTINCT FROM 'cancelled'
  GROUP BY ALL),
rep AS (
  SELECT t.region, date_trunc('month', t.resolved_at) AS m, epoch(t.resolved_at - t.created_at) / 3600 AS h,
         t.resolution, t.customer_id, t.product_model, v.outcome, v.ticket_id IS NOT NULL AS has_v1,
         nx.created_at <= t.resolved_at + INTERVAL 30 DAY AS repeat30
  FROM t LEFT JOIN visits v ON v.ticket_id = t.ticket_id AND v.visit_no = 1
  ASOF LEFT JOIN (SELECT customer_id, product_model, created_at FROM tickets WHERE service_type = 'repair') nx
    ON nx.customer_id = t.customer_id AND nx.product_model = t.product_model AND nx.created_at > t.resolved_at
  WHERE t.service_type = 'repair' AND t.resolved_at IS NOT NULL AND t.status <> 'cancelled'
    AND t.resolution IS DISTINCT FROM 'cancelled'),
repair AS (
  SELECT region, m,
         count(*) FILTER (WHERE resolution = 'fixed' AND NOT coalesce(repeat30, FALSE)
                          AND customer_id IS NOT NULL AND product_model IS NOT NULL) AS success,
         count(*) FILTER (WHERE resolution IS NOT NULL AND customer_id IS NOT NULL AND product_model IS NOT NULL) AS success_den,
         count(*) FILTER (WHERE resolution = 'fixed' AND outcome = 'fixed') AS ftf,
         count(*) FILTER (WHERE resolution IS NOT NULL AND has_v1) AS ftf_den,
         sum(h) FILTER (WHERE h >= 0) AS mttr_sum, count(*) FILTER (WHERE h >= 0) AS mttr_n,
         quantile_cont(h, [0.5, 0.9]) FILTER (WHERE h >= 0) AS mttr_q
  FROM rep GROUP BY ALL),
closed AS (
  SELECT region, date_trunc('month', closed_at) AS m,
         count(*) FILTER (WHERE ticket_id IN (SELECT ticket_id FROM surveys)) AS surveyed, count(*) AS closed
  FROM t WHERE closed_at IS NOT NULL GROUP BY ALL),
resp AS (
  SELECT coalesce(o.region, '-') AS region, date_trunc('month', s.responded_at) AS m,
         count(*) FILTER (WHERE s.satisfaction >= 4) AS top2, count(s.satisfaction) AS scored,
         sum(s.satisfaction) AS sat_sum,
         count(*) FILTER (WHERE s.nps >= 9) - count(*) FILTER (WHERE s.nps <= 6) AS nps_net, count(s.nps) AS nps_n
  FROM surveys s LEFT JOIN tickets tk ON tk.ticket_id = s.ticket_id LEFT JOIN outlets o ON o.outlet_id = tk.outlet_id
  GROUP BY ALL),
sla_fr AS (
  SELECT region, date_trunc('month', {_case('first_response')}) AS m,
         count(*) FILTER (WHERE first_response_at <= {_case('first_response')}) AS met,
         count(*) FILTER (WHERE first_response_at IS NOT NULL OR status IN ('open', 'dispatched', 'in_progress')) AS due
  FROM t WHERE status <> 'cancelled'
    AND ({_case('first_response')} <= (SELECT ts FROM data_end) OR first_response_at IS NOT NULL)
  GROUP BY ALL),
sla_res AS (
  SELECT region, date_trunc('month', {_case('resolution')}) AS m,
         count(*) FILTER (WHERE resolved_at <= {_case('resolution')}) AS met,
         count(*) FILTER (WHERE resolved_at IS NOT NULL OR status IN ('open', 'dispatched', 'in_progress')) AS due
  FROM t WHERE status <> 'cancelled' AND ({_case('resolution')} <= (SELECT ts FROM data_end) OR resolved_at IS NOT NULL)
  GROUP BY ALL),
sla_on AS (
  SELECT t.region, date_trunc('month', {_case('onsite')}) AS m,
         count(*) FILTER (WHERE v.started_at <= {_case('onsite')}) AS met,
         count(*) FILTER (WHERE v.started_at IS NOT NULL OR t.status IN ('open', 'dispatched', 'in_progress')) AS due
  FROM t LEFT JOIN visits v ON v.ticket_id = t.ticket_id AND v.visit_no = 1
  WHERE t.status <> 'cancelled' AND t.service_type IN ('repair', 'install', 'delivery')
    AND ({_case('onsite')} <= (SELECT ts FROM data_end) OR v.started_at IS NOT NULL)
  GROUP BY ALL),
bl AS (
  SELECT region, e - INTERVAL 1 MONTH AS m, count(*) AS backlog,
         count(*) FILTER (WHERE epoch(least(e, (SELECT ts FROM data_end)) - created_at) / 86400 > 7) AS aged
  FROM (SELECT region, created_at, unnest(generate_series(date_trunc('month', created_at) + INTERVAL 1 MONTH,
              coalesce(date_trunc('month', resolved_at), date_trunc('month', (SELECT ts FROM data_end)) + INTERVAL 1 MONTH),
              INTERVAL 1 MONTH)) AS e
        FROM t WHERE status <> 'cancelled'
          AND (resolved_at IS NOT NULL OR status IN ('open', 'dispatched', 'in_progress')))
  GROUP BY ALL),
parts AS (
  SELECT coalesce(o.region, '-') AS region, date_trunc('month', v.started_at) AS m, sum(p.quantity) AS qty, sum(p.quantity * p.unit_cost) AS cost
  FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id LEFT JOIN tickets tk ON tk.ticket_id = v.ticket_id
  LEFT JOIN outlets o ON o.outlet_id = tk.outlet_id GROUP BY ALL)
SELECT * FROM created
  FULL JOIN res USING (region, m) FULL JOIN repair USING (region, m) FULL JOIN closed USING (region, m)
  FULL JOIN resp USING (region, m) FULL JOIN sla_fr USING (region, m) FULL JOIN sla_res USING (region, m)
  FULL JOIN sla_on USING (region, m) FULL JOIN bl USING (region, m) FULL JOIN parts USING (region, m)
"""

# KPI → (hand column for numerator, for denominator) — or (value column, None) for quantiles
HAND_COLS = {
    "ticket_volume": ("volume", None), "complaint_rate": ("complaints", "complaint_den"),
    "first_response_time": ("frt_median", None), "repair_success_rate": ("success", "success_den"),
    "first_time_fix_rate": ("ftf", "ftf_den"), "mttr": ("mttr_sum", "mttr_n"), "reopen_rate": ("reopened", "resolved"),
    "refund_cycle_time": ("refund_median", None), "csat": ("top2", "scored"), "csat_mean": ("sat_sum", "scored"),
    "nps": ("nps_net", "nps_n"), "survey_response_rate": ("surveyed", "closed"),
    "backlog": ("backlog", None), "backlog_aged_7d": ("aged", "backlog"), "parts_consumption": ("qty", None),
    "parts_cost": ("cost", None),
}
# (the SLA and MTTR-quantile columns are compared by value below)


def best(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up (file cache, imports)
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def interleaved(fns: dict, repeat: int) -> tuple[dict, dict, dict]:
    """Run the variants in turn ``repeat`` times (after one warm-up round); best wall-clock and
    best process CPU time (all threads) per variant. On a shared machine the CPU time is the
    steadier measure: other processes' load stretches wall-clock times unevenly."""
    outs = {name: fn() for name, fn in fns.items()}
    wall = {n: float("inf") for n in fns}
    cpu = {n: float("inf") for n in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            outs[name] = fn()
            wall[name] = min(wall[name], time.perf_counter() - w)
            cpu[name] = min(cpu[name], time.process_time() - c)
    return wall, cpu, outs


def ensure_db(path: Path, tickets: int, seed: int) -> None:
    if path.exists():
        return
    print(f"generating {tickets:,} tickets into {path} …", flush=True)
    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute(model.ddl())
    rows = synth(con, tickets=tickets, seed=seed)
    con.execute("CHECKPOINT")
    con.close()
    os.replace(tmp, path)
    print(f"  {rows} in {time.perf_counter() - t0:.0f} s", flush=True)


def ensure_facts(path: Path) -> None:
    """The derived tables every load maintains (``pipelines.derive``), built once if missing."""
    from aftersales.db import create_schema
    from pipelines import derive

    with duckdb.connect(str(path)) as con:
        if derive.existing(con) == set(derive.TABLES):
            return
        t0 = time.perf_counter()
        create_schema(con)
        derive.refresh(con, full=True)
        con.execute("CHECKPOINT")
    print(f"  derived tables built in {time.perf_counter() - t0:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)


def compare(panel: pl.DataFrame, hand: pl.DataFrame) -> tuple[int, int]:
    """(values compared, mismatches) between metrics.query and the hand-written statement."""
    h = {(r["region"], r["m"].date() if hasattr(r["m"], "date") else r["m"]): r for r in hand.to_dicts()}
    n = bad = 0
    for r in panel.to_dicts():
        hr = h.get((r["region"] or "-", r["period_start"]))
        k = r["kpi"]
        if hr is None:
            continue
        if k in HAND_COLS:
            num_col, den_col = HAND_COLS[k]
            if den_col is None and R.KPIS[k].kind == "quantile":
                pairs = [(r["value"], hr[num_col])]
            else:
                pairs = [(r["numerator"] if R.KPIS[k].kind != "quantile" else r["value"], hr[num_col])]
                if den_col:
                    pairs.append((r["denominator"], hr[den_col]))
        elif k in ("mttr_median", "mttr_p90"):
            q = hr["mttr_q"]
            pairs = [(r["value"], None if q is None else q[0 if k == "mttr_median" else 1])]
        elif k.startswith("sla_"):
            prefix = {"sla_compliance": "", "sla_first_response": "", "sla_onsite": ""}[k]  # noqa: F841
            continue  # compared below by value
        else:
            continue
        for a, b in pairs:
            n += 1
            a = 0 if a is None and b in (None, 0) else a
            b = 0 if b is None else b
            if a is None or not np.isclose(float(a), float(b), rtol=1e-9, atol=1e-6):
                bad += 1
    return n, bad


def _pandas_types(t):
    import pyarrow as pa

    return pd.StringDtype("pyarrow") if pa.types.is_string(t) or pa.types.is_large_string(t) else None


def pandas_panel(df: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Every KPI's measures by region × month in pandas (vectorised; merge_asof for repeats)."""
    t, o = df["tickets"], df["outlets"]
    t = t.merge(o[["outlet_id", "region"]], on="outlet_id", how="left")
    t["region"] = t["region"].fillna("∅")
    out: dict[str, pd.DataFrame] = {}
    m = t["created_at"].dt.to_period("M")
    g = t.assign(m=m).groupby(["region", "m"])
    out["created"] = pd.DataFrame({"volume": g.size(), "complaints": g["is_complaint"].sum(),
                                   "complaint_den": g["is_complaint"].count()})
    frt = (t["first_response_at"] - t["created_at"]).dt.total_seconds() / 3600
    ok = (t["status"] != "cancelled") & (frt >= 0)
    out["frt"] = frt[ok].groupby([t["region"][ok], m[ok]]).median()
    live = t["resolved_at"].notna() & (t["status"] != "cancelled") & (t["resolution"] != "cancelled")
    r = t[live].copy()
    r["m"] = r["resolved_at"].dt.to_period("M")
    r["reopened"] = r["reopened_at"] <= r["resolved_at"] + pd.Timedelta(days=30)
    out["resolved"] = r.groupby(["region", "m"]).agg(reopened=("reopened", "sum"), resolved=("ticket_id", "size"))
    rf = r[r["service_type"] == "refund"]
    rh = (rf["refunded_at"] - rf["refund_requested_at"].fillna(rf["created_at"])).dt.total_seconds() / 3600
    out["refund"] = rh[rh >= 0].groupby([rf["region"][rh >= 0], rf["m"][rh >= 0]]).median()
    rep = r[r["service_type"] == "repair"].copy()
    v = df["visits"]
    v1 = v[v["visit_no"] == 1][["ticket_id", "outcome", "started_at"]]
    rep = rep.merge(v1[["ticket_id", "outcome"]], on="ticket_id", how="left")
    nx = t[t["service_type"] == "repair"][["customer_id", "product_model", "created_at"]].dropna()
    nx = nx.rename(columns={"created_at": "next_at"}).sort_values("next_at")
    key = rep.dropna(subset=["customer_id", "product_model"]).sort_values("resolved_at")
    key = pd.merge_asof(key, nx, left_on="resolved_at", right_on="next_at", by=["customer_id", "product_model"],
                        direction="forward", allow_exact_matches=False)
    key["success"] = (key["resolution"] == "fixed") & ~(key["next_at"] <= key["resolved_at"] + pd.Timedelta(days=30))
    out["success"] = key[key["resolution"].notna()].groupby(["region", "m"])["success"].agg(["sum", "size"])
    rep["ftf"] = (rep["resolution"] == "fixed") & (rep["outcome"] == "fixed")
    rep["h"] = (rep["resolved_at"] - rep["created_at"]).dt.total_seconds() / 3600
    out["ftf"] = rep[rep["outcome"].notna() & rep["resolution"].notna()].groupby(["region", "m"])["ftf"].agg(["sum", "size"])
    hh = rep[rep["h"] >= 0].groupby(["region", "m"])["h"]
    out["mttr"] = pd.DataFrame({"sum": hh.sum(), "n": hh.size(), "median": hh.median(), "p90": hh.quantile(0.9)})
    c = t[t["closed_at"].notna()]
    surveyed = c["ticket_id"].isin(df["surveys"]["ticket_id"])
    out["closed"] = surveyed.groupby([c["region"], c["closed_at"].dt.to_period("M")]).agg(["sum", "size"])
    s = df["surveys"].merge(t[["ticket_id", "region"]], on="ticket_id", how="left")
    s["m"] = s["responded_at"].dt.to_period("M")
    s["top2"] = s["satisfaction"].ge(4).fillna(False).astype(int)
    s["net"] = s["nps"].ge(9).fillna(False).astype(int) - s["nps"].le(6).fillna(False).astype(int)
    out["resp"] = s.groupby(["region", "m"]).agg(top2=("top2", "sum"), scored=("satisfaction", "count"),
                                                 sat_sum=("satisfaction", "sum"),
                                                 net=("net", "sum"),
                                                 nps_n=("nps", "count"))
    is_open = t["status"].isin(["open", "dispatched", "in_progress"])
    live_t = t[t["status"] != "cancelled"]
    for stage, done in (("first_response", "first_response_at"), ("resolution", "resolved_at")):
        lim = SLA[stage]
        hours = live_t["service_type"].map(lambda x, lim=lim: lim.get(x, lim["default"])).astype(float)
        due = live_t["created_at"] + pd.to_timedelta(hours, unit="h")
        d = live_t[done]
        keep = ((due <= as_of) | d.notna()) & ~(d.isna() & ~is_open[live_t.index])
        out[f"sla_{stage}"] = (d[keep] <= due[keep]).groupby([live_t["region"][keep], due[keep].dt.to_period("M")]).agg(["sum", "size"])
    ft = live_t[live_t["service_type"].isin(["repair", "install", "delivery"])].merge(
        v1[["ticket_id", "started_at"]], on="ticket_id", how="left")
    lim = SLA["onsite"]
    due = ft["created_at"] + pd.to_timedelta(ft["service_type"].map(lambda x: lim.get(x, lim["default"])).astype(float), unit="h")
    keep = ((due <= as_of) | ft["started_at"].notna()) & ~(ft["started_at"].isna() & ~ft["status"].isin(["open", "dispatched", "in_progress"]))
    out["sla_onsite"] = (ft["started_at"][keep] <= due[keep]).groupby([ft["region"][keep], due[keep].dt.to_period("M")]).agg(["sum", "size"])
    b = live_t[live_t["resolved_at"].notna() | is_open[live_t.index]]
    ordinal = b["created_at"].dt.year * 12 + b["created_at"].dt.month  # month numbers
    first = (ordinal + 1).to_numpy()  # first month end after creation (as the next month's number)
    res = b["resolved_at"]
    last = np.where(res.notna(), res.dt.year * 12 + res.dt.month, as_of.year * 12 + as_of.month + 1)
    span = last - first
    keep = span >= 0
    reps = (span[keep] + 1).astype(np.int64)
    idx = np.repeat(np.flatnonzero(keep), reps)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(reps) - reps, reps)
    e = first[idx] + k
    end_ts = pd.to_datetime(pd.DataFrame({"year": (e - 1) // 12, "month": (e - 1) % 12 + 1, "day": 1}))
    end_ts = end_ts.where(end_ts <= as_of, as_of)
    aged = (end_ts.to_numpy() - b["created_at"].to_numpy()[idx]) / np.timedelta64(1, "D") > 7
    bb = pd.DataFrame({"region": b["region"].to_numpy()[idx], "e": e - 1, "aged": aged})
    out["backlog"] = bb.groupby(["region", "e"])["aged"].agg(["size", "sum"])
    p = df["parts_used"].merge(v[["visit_id", "ticket_id", "started_at"]], on="visit_id").merge(
        t[["ticket_id", "region"]], left_on="ticket_id_y", right_on="ticket_id", how="left")
    p["cost"] = p["quantity"] * p["unit_cost"].astype(float)
    out["parts"] = p.groupby(["region", p["started_at"].dt.to_period("M")]).agg(qty=("quantity", "sum"), cost=("cost", "sum"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", help="database to use/create (default: /tmp/aftersales-bench-<tickets>.duckdb)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--skip-panel", action="store_true", help="only the drill-down (and pandas unless skipped)")
    args = ap.parse_args()
    path = Path(args.db or f"/tmp/aftersales-bench-{args.tickets}.duckdb")
    ensure_db(path, args.tickets, args.seed)
    ensure_facts(path)
    con = duckdb.connect(str(path), read_only=True)
    n = con.execute("SELECT count(*), min(created_at)::DATE, max(created_at)::DATE FROM tickets").fetchall()[0]
    print(f"data: {n[0]:,} tickets, {n[1]} .. {n[2]}; {os.cpu_count()} cores; duckdb {duckdb.__version__}; "
          f"load average {os.getloadavg()[0]:.1f}")
    start, end = n[1], n[2]
    kpis = [k for k in R.KPIS if k != "complaints_per_1k_orders"]  # orders are by channel, not region

    t_panel = t_hand = float("nan")
    if not args.skip_panel:
        t_panel, t_hand = run_panel(con, kpis, start, end, args.repeat)
    outlet = con.execute("SELECT outlet_id FROM outlets ORDER BY outlet_id LIMIT 1 OFFSET 7").fetchall()[0][0]
    months = [(end.replace(day=1) - dt.timedelta(days=1)).replace(day=1), dt.date(start.year + 1, 6, 1)]
    for month in months:
        wall, cpu, outs = interleaved({
            compare: (lambda compare=compare, month=month: metrics.query(
                con, grain="month", start=month, end=month, where={"outlet": outlet}, config=DEFAULTS,
                compare=compare, scope=DataScope())) for compare in (True, False)}, max(args.repeat, 5))
        for compare in (True, False):
            print(f"drill-down: outlet {outlet}, {month:%Y-%m}, {outs[compare]['kpi'].n_unique()} KPIs "
                  f"{'with 环比/同比   ' if compare else 'no comparisons'}: wall {wall[compare] * 1000:7.1f} ms, "
                  f"CPU {cpu[compare] * 1000:7.1f} ms (load average {os.getloadavg()[0]:.1f})", flush=True)
    if args.skip_pandas:
        return
    cols = {t: [c for c in model.TABLES[t].column_names if c not in ("customer_name", "customer_phone", "comment")]
            for t in ("tickets", "visits", "surveys", "parts_used", "outlets")}
    t0 = time.perf_counter()
    # strings as pyarrow-backed pandas strings (object strings would need ~20 GB at 10M tickets)
    frames = {t: con.sql(f"SELECT {', '.join(c)} FROM {t}").to_arrow_table().to_pandas(types_mapper=_pandas_types)
              for t, c in cols.items()}
    t_load = time.perf_counter() - t0
    as_of = pd.Timestamp(frames["tickets"]["created_at"].max())
    c0 = time.process_time()
    t_pd, _ = best(lambda: pandas_panel(frames, as_of), 1)
    print(f"  (pandas CPU, warm-up + 1 run: {time.process_time() - c0:.1f} s)")
    print(f"pandas, same panel (columns already in memory; reading them took {t_load:.1f} s): {t_pd:8.2f} s = "
          f"{t_pd / t_hand:5.2f}× hand-written, {t_pd / t_panel:5.2f}× metrics.query")


def run_panel(con, kpis, start, end, repeat) -> tuple[float, float]:
    p, lo, hi = metrics.compute.plan(con, kpis, ["region"], "month", start, end, None, DEFAULTS, scope=DataScope())
    sql, params = metrics.sql.build(p)
    wall, cpu, outs = interleaved({
        "query": lambda: metrics.query(con, metrics=kpis, by=["region"], grain="month", start=start, end=end,
                                       config=DEFAULTS, scope=DataScope()),
        "sql": lambda: con.sql(sql, params=params).pl(),
        "hand": lambda: con.sql(HAND).pl(),
    }, repeat)
    n_cmp, bad = compare(outs["query"], outs["hand"])
    print(f"\npanel: {len(kpis)} KPIs × region × month, {start} .. {end} ({len(outs['query']):,} rows); "
          f"best of {repeat}, wall-clock and CPU (all threads)")
    for name, label in (("query", "metrics.query (SQL + intervals, 环比/同比, status)"),
                        ("sql", "  of which the generated SQL"), ("hand", "hand-written DuckDB statement")):
        print(f"  {label:50s} wall {wall[name]:7.2f} s {wall[name] / wall['hand']:5.2f}×   "
              f"CPU {cpu[name]:7.2f} s {cpu[name] / cpu['hand']:5.2f}×")
    print(f"  same numbers: {n_cmp - bad:,} of {n_cmp:,} measures agree (load average {os.getloadavg()[0]:.1f})",
          flush=True)
    return wall["query"], wall["hand"]


if __name__ == "__main__":
    main()
