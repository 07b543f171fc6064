"""Forecast subcommands: ``forecast workload|parts|all`` and ``backtest workload|parts``.

Each run reads the database read-only (or a planner's file of ``unique_id, ds, y``), fits across
the CPU cores, stores the run in one atomic write, and prints what a planner looks at first.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import polars as pl

from aftersales.config import load_config, resolve_db_path
from aftersales.db import connect_readonly
from aftersales.errors import UserError
from forecasts import series, store
from forecasts.settings import section, workers


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("forecast", help="forecast workload (with staffing) and spare parts; store the run",
                              description="Fit the forecasts and store the run (the dashboard shows stored runs).")
    p.add_argument("what", choices=["workload", "parts", "all"])
    _common(p)
    p.set_defaults(func=cmd_forecast)
    b = subparsers.add_parser("backtest", help="rolling-origin backtest of the workload or parts forecasts; store it",
                              description="Backtest all models on identical cut-offs and store the scores.")
    b.add_argument("what", choices=["workload", "parts"])
    _common(b)
    b.add_argument("--no-events", action="store_true", help="workload: skip the event backtest")
    b.add_argument("--no-sim", action="store_true", help="parts: skip the inventory simulation")
    b.set_defaults(func=cmd_backtest)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", metavar="FILE", help="forecast this CSV/Parquet file of unique_id, ds, y instead of the "
                   "database (daily series for workload, weekly for parts)")
    p.add_argument("--horizon", type=int, help="days (workload, default 84) or weeks (parts, default 12)")
    p.add_argument("--origins", type=int, help="backtest origins (default 4)")
    p.add_argument("--workers", type=int, help="processes (default: all CPU cores)")


def _settings(args: argparse.Namespace, kind: str) -> tuple[Path, dict[str, Any], int]:
    db = resolve_db_path(args.db)
    config = copy.deepcopy(load_config(args.config, db))
    if kind == "workload":
        fc = config.setdefault("forecast", {})
        if args.horizon:
            fc["horizon_days"] = args.horizon
        if args.origins:
            fc["backtest_origins"] = args.origins
    else:
        ps = config.setdefault("parts", {})
        if args.horizon:
            ps["horizon_weeks"] = args.horizon
        if args.origins:
            ps["backtest_origins"] = args.origins
    n = workers(args.workers if args.workers is not None else section(config, "forecast")["workers"])
    return db, config, n


def _file_series(path: str, kind: str) -> pl.DataFrame:
    long = series.read_series_file(path)
    gaps = long.sort("unique_id", "ds").group_by("unique_id").agg(pl.col("ds").diff().dt.total_days().drop_nulls())
    steps = gaps.explode("ds")["ds"].drop_nulls()
    if kind == "workload":
        if len(steps) and steps.min() != 1:
            raise UserError(f"{path}: workload series must be daily (one row per day; missing days count as 0); "
                            "for weekly series use `aftersales forecast parts --input`")
        return series.fill_daily(long)
    if len(steps) and (steps % 7 != 0).any():
        raise UserError(f"{path}: parts series must be weekly (dates 7 days apart, e.g. every Monday); "
                        "for daily series use `aftersales forecast workload --input`")
    return series.fill_weekly(long)


def _workload_input(args: argparse.Namespace, db: Path, config: dict[str, Any]) -> tuple[pl.DataFrame, str, dict | None]:
    if args.input:
        return _file_series(args.input, "workload"), str(Path(args.input).resolve()), None
    con = connect_readonly(db)
    try:
        long = series.workload_series(con, section(config, "forecast")["series"])
        from forecasts import staffing

        inputs = {"hours": staffing.hours_per_ticket(series.visit_stats(con), section(config, "staffing")),
                  "technicians": series.technicians_by_region(con)}
    finally:
        con.close()
    return long, "database", inputs


def _parts_input(args: argparse.Namespace, db: Path) -> tuple[pl.DataFrame, str, dict[str, Any]]:
    if args.input:
        return _file_series(args.input, "parts"), str(Path(args.input).resolve()), {}
    con = connect_readonly(db)
    try:
        long = series.part_series(con)
        master = series.parts_master(con)
        since = master["as_of"].drop_nulls().min() if master.height else None
        used = series.parts_used_since(con, since) if since else None
        last_day = series._scalar(con, "SELECT max(started_at)::DATE FROM visits")
    finally:
        con.close()
    return long, "database", {"master": master, "used_since": used, "last_day": last_day}


def _forecast_workload(args: argparse.Namespace) -> None:
    from forecasts import run_workload

    db, config, n = _settings(args, "workload")
    long, source, staffing_inputs = _workload_input(args, db, config)
    print(f"workload: {long['unique_id'].n_unique()} series to {long['ds'].max()}, {n} worker(s)", file=sys.stderr)
    run = run_workload.forecast(long, config, n, source, staffing_inputs)
    store.save_run(db, run)
    s = run.summary
    print(f"workload run {run.run_id}: {run.n_series} series, cut-off {run.data_cutoff}, {run.seconds:.0f} s; "
          f"models used {s['chosen']}; backtest MASE {_f(s['mase_chosen'])} vs seasonal naive {_f(s['mase_snaive7'])}")
    if s.get("dropped_series"):
        print(f"  {s['dropped_series']} series under {section(config, 'forecast')['min_weekly_tickets']} tickets/week "
              "not forecast (see the run's params)")
    if "staffing_plan" in run.tables:
        short = run.tables["staffing_plan"].filter("short").sort("gap").head(10)
        print(f"staffing: {s['staffing']['short_region_weeks']} of {s['staffing']['region_weeks']} region-weeks short"
              + (" — the worst:" if short.height else ""))
        for r in short.iter_rows(named=True):
            print(f"  {r['week_start']}  {r['region']:<10} need {r['technicians_needed']:6.1f}  have "
                  f"{r['technicians_available']:4d}  short {-r['gap']:5.1f}")


def _forecast_parts(args: argparse.Namespace) -> None:
    from forecasts import run_parts

    db, config, n = _settings(args, "parts")
    long, source, extra = _parts_input(args, db)
    print(f"parts: {long['unique_id'].n_unique()} series to week {long['ds'].max()}, {n} worker(s)", file=sys.stderr)
    run = run_parts.forecast(long, config, n, source, **extra)
    store.save_run(db, run)
    s = run.summary
    print(f"parts run {run.run_id}: {run.n_series} parts {s['classes']}, methods {s['methods']}, {run.seconds:.0f} s; "
          f"backtest MASE (outer windows) {_f(s['backtest_mase_outer'])}, ÷ zero {_f(s['backtest_mase_rel_zero'])}, "
          f"÷ seasonal naive {_f(s['backtest_mase_rel_snaive'])}")
    risk = run.tables["parts_reorder"].filter(pl.col("runs_out_within_lead_time").fill_null(False)) \
        .sort("runout_date").head(15)
    print(f"{s['at_risk']} part(s) projected to run out within their lead time; {s['order_now']} at or below the "
          "reorder point" + (":" if risk.height else ""))
    for r in risk.iter_rows(named=True):
        print(f"  {r['part_no']:<12} runs out {r['runout_date']}  stock {r['stock_at_cutoff']:.0f}  lead "
              f"{r['lead_time_days']} d  reorder point {r['reorder_point']}  order {r['order_qty']}")


def cmd_forecast(args: argparse.Namespace) -> int:
    if args.what == "all" and args.input:
        raise UserError("--input works with `forecast workload` or `forecast parts`, not `all`")
    if args.what in ("workload", "all"):
        _forecast_workload(args)
    if args.what in ("parts", "all"):
        if args.what == "all":
            args.horizon = None  # a workload horizon in days is not a parts horizon in weeks
        _forecast_parts(args)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    if args.what == "workload":
        from forecasts import run_workload

        db, config, n = _settings(args, "workload")
        long, source, _ = _workload_input(args, db, config)
        run = run_workload.backtest(long, config, n, source, events=not args.no_events)
        store.save_run(db, run)
        h = run.summary
        print(f"workload backtest {run.run_id}: {h['series']} series, origins {', '.join(h['origins'])}, "
              f"{run.seconds:.0f} s")
        _targets([("MASE vs seasonal naive (lag 7), selected", h["mase_rel_snaive7"], "≤ 0.75"),
                  ("  Prophet alone", h["prophet_mase_rel_snaive7"], "≤ 0.75"),
                  ("win rate vs seasonal naive", h["win_rate_vs_snaive7"], ""),
                  ("80% interval coverage", h["coverage_80"], "0.75–0.85"),
                  ("95% interval coverage", h["coverage_95"], "0.90–0.98"),
                  ("  raw Prophet 80% / 95%", f"{_f(h['raw_prophet_coverage_80'])} / {_f(h['raw_prophet_coverage_95'])}", ""),
                  ("event MAE vs lag-364 naive, volume-weighted", h["event_mae_rel_naive364_volume"], "≤ 0.70"),
                  ("event MASE vs lag-364 naive, mean over series", h["event_mase_rel_naive364"], "≤ 0.70")])
    else:
        from forecasts import parts_backtest

        db, config, n = _settings(args, "parts")
        long, source, extra = _parts_input(args, db)
        run = parts_backtest.backtest(long, config, n, source, extra.get("master"), simulate=not args.no_sim)
        store.save_run(db, run)
        h = run.summary
        print(f"parts backtest {run.run_id}: {run.n_series} parts, methods {h['methods']}, {run.seconds:.0f} s")
        _targets([("MASE of the forecasts used (outer windows)", h["mase"], ""),
                  ("  relative to zero / seasonal naive / SES",
                   f"{_f(h['mase_rel_zero'])} / {_f(h['mase_rel_snaive'])} / {_f(h['mase_rel_ses'])}", "zero: ≤ 1"),
                  ("RMSSE relative to naive / SES / zero",
                   f"{_f(h['rmsse_rel_naive'])} / {_f(h['rmsse_rel_ses'])} / {_f(h['rmsse_rel_zero'])}", ""),
                  ("simulated fill rate, reorder policy", h["fill_rate"], f"{h['target_fill_rate']:.2f} ± 0.02"),
                  ("  baseline (SES + normal)", h["baseline_fill_rate"], ""),
                  ("  lumpy parts: policy / baseline",
                   f"{_f(h['lumpy_fill_rate'])} / {_f(h['lumpy_baseline_fill_rate'])}", ""),
                  ("mean stock units, reorder policy", h["mean_stock_units"], "≤ baseline"),
                  ("  baseline", h["baseline_mean_stock_units"], "")])
        if h.get("policy_by_class"):
            print(f"  policy chosen per class on the inner window (parts.policy_by_class): {h['policy_by_class']}")
    return 0


def _f(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _targets(rows: list[tuple[str, Any, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {_f(value):>14}  {('target ' + target) if target else ''}")
