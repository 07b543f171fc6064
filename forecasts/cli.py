"""Forecast subcommands: ``forecast workload|parts|all`` and ``backtest workload|parts``.

Each run reads the database read-only (or a planner's file of ``unique_id, ds, y``), fits across
the CPU cores, stores the run in one atomic write, and prints what a planner looks at first.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from aftersales.config import load_config, resolve_db_path
from aftersales.db import connect_readonly
from aftersales.errors import UserError
from forecasts import calendar, frequency, inputs, series, store
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
                   "database (workload: daily or weekly series; parts: weekly or monthly; the frequency is "
                   "detected from the dates)")
    p.add_argument("--freq", choices=["D", "W", "M"], type=str.upper,
                   help="with --input: the series' frequency (D daily, W weekly, M monthly) instead of detecting it")
    p.add_argument("--fill-gaps", choices=["none", "zero"], default="none",
                   help="with --input: count dates missing inside a series as 0 (default: leave such series out "
                   "and list them)")
    p.add_argument("--country", metavar="XX", help="workload: another country's public holidays (ISO code, e.g. US, "
                   "DE, JP) instead of China's calendar")
    p.add_argument("--events", metavar="FILE", help="workload: a CSV of your own events (promotions): "
                   "date[,name][,lower_window][,upper_window]")
    p.add_argument("--horizon", type=int, help="periods ahead: days or weeks (workload, default 84 days), weeks or "
                   "months (parts, default 12 weeks)")
    p.add_argument("--origins", type=int, help="backtest origins (default 4)")
    p.add_argument("--workers", type=int, help="processes (default: all CPU cores); with --executor dask and no "
                   "--scheduler, the local cluster's worker processes")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="where the per-series fits run: local processes (default) or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", help="with --executor dask: the cluster's scheduler, e.g. "
                   "tcp://10.0.0.5:8786 (default: start a local cluster of --workers processes)")


@dataclass
class Inputs:
    """What a run forecasts: the series, where they came from, and what the run stores about it."""

    long: pl.DataFrame
    source: str
    freq: str
    prepared: inputs.Prepared | None = None
    extra: dict[str, Any] | None = None


def _settings(args: argparse.Namespace, kind: str) -> tuple[Path, dict[str, Any], int]:
    db = resolve_db_path(args.db)
    config = copy.deepcopy(load_config(args.config, db))
    key = "forecast" if kind == "workload" else "parts"
    sec = config.setdefault(key, {})
    if args.horizon:
        sec["horizon_periods"] = args.horizon
    if args.origins:
        sec["backtest_origins"] = args.origins
    if kind == "workload":
        cal = calendar.spec(args.country, args.events)
        if cal is not None:
            sec["calendar"] = cal
            print(f"calendar: {calendar.describe(cal)}", file=sys.stderr)
    n = workers(args.workers if args.workers is not None else section(config, "forecast")["workers"])
    return db, config, n


def _file(args: argparse.Namespace, kind: str, config: dict[str, Any]) -> Inputs:
    key = "forecast" if kind == "workload" else "parts"
    prepared = inputs.prepare(args.input, kind, section(config, key), args.freq, args.fill_gaps)
    config[key]["freq"] = prepared.freq.code
    _horizon_units(config[key], kind, prepared.freq.code)
    n_series = prepared.long["unique_id"].n_unique()
    print(f"{args.input}: {prepared.rows} rows, {prepared.freq.describe()}, {len(prepared.gaps)} series, "
          f"{n_series} to forecast, cut-off {prepared.cutoff}", file=sys.stderr)
    for note in prepared.notes:
        print(f"  {note}", file=sys.stderr)
    gaps = inputs.gap_summary(prepared)
    if gaps:
        print(f"  {gaps}", file=sys.stderr)
    return Inputs(prepared.long, prepared.path, prepared.freq.code, prepared)


def _horizon_units(sec: dict[str, Any], kind: str, freq: str) -> None:
    """Keep the legacy horizon key (days for workload, weeks for parts) consistent with
    ``horizon_periods`` where its unit is the frequency's (daily workload, weekly parts)."""
    periods = sec.get("horizon_periods")
    if not periods:
        return
    if kind == "workload":
        sec["horizon_days"] = int(periods * frequency.period_days(freq))
    elif freq == frequency.WEEKLY:
        sec["horizon_weeks"] = int(periods)


def _database_only(args: argparse.Namespace) -> None:
    if args.freq or args.fill_gaps != "none":
        raise UserError("--freq and --fill-gaps apply to an --input file; the database's series are daily "
                        "(workload) and weekly (parts), without gaps")


def _workload_input(args: argparse.Namespace, db: Path, config: dict[str, Any]) -> Inputs:
    if args.input:
        return _file(args, "workload", config)
    _database_only(args)
    config.setdefault("forecast", {})["freq"] = frequency.DAILY
    _horizon_units(config["forecast"], "workload", frequency.DAILY)
    con = connect_readonly(db)
    try:
        long = series.workload_series(con, section(config, "forecast")["series"])
        from forecasts import staffing

        staffing_inputs = {"hours": staffing.hours_per_ticket(series.visit_stats(con), section(config, "staffing")),
                           "technicians": series.technicians_by_region(con)}
    finally:
        con.close()
    return Inputs(long, "database", frequency.DAILY, extra=staffing_inputs)


def _parts_input(args: argparse.Namespace, db: Path, config: dict[str, Any]) -> Inputs:
    if (args.country or args.events) and args.what == "parts":
        print("note: --country and --events shape the workload forecast; spare parts do not use a calendar",
              file=sys.stderr)
    if args.input:
        got = _file(args, "parts", config)
        got.extra = {}
        return got
    _database_only(args)
    config.setdefault("parts", {})["freq"] = frequency.WEEKLY
    _horizon_units(config["parts"], "parts", frequency.WEEKLY)
    con = connect_readonly(db)
    try:
        long = series.part_series(con)
        master = series.parts_master(con)
        since = master["as_of"].drop_nulls().min() if master.height else None
        used = series.parts_used_since(con, since) if since else None
        last_day = series._scalar(con, "SELECT max(started_at)::DATE FROM visits")
    finally:
        con.close()
    return Inputs(long, "database", frequency.WEEKLY, extra={"master": master, "used_since": used, "last_day": last_day})


@contextmanager
def _executor(args: argparse.Namespace) -> Iterator[None]:
    """Where the fits run for the length of the command: the local pool, or a Dask cluster
    (connected and checked before anything is read, so a cluster that cannot run the fits
    costs nothing and stores nothing). ``args.workers`` becomes the cluster's worker threads."""
    args.executor_label = "local"
    if args.executor != "dask":
        if args.scheduler:
            raise UserError("--scheduler needs --executor dask")
        yield
        return
    from forecasts import dask_backend

    if args.scheduler and args.workers:
        print("note: --workers does not apply with --scheduler: the cluster's workers run the fits", file=sys.stderr)
    with dask_backend.cluster(args.scheduler, None if args.scheduler else workers(args.workers)) as backend:
        print(backend.describe(), file=sys.stderr)
        args.workers = backend.workers
        args.executor_label = f"dask {args.scheduler}" if args.scheduler else f"dask local cluster ×{backend.workers}"
        yield


def _run(got: Inputs, make: Callable[[], store.Run], args: argparse.Namespace) -> store.Run:
    """Run a fit and mark the run with where its data came from and where it ran. A model's
    refusal of a planner's series (too little history for the settings) becomes one clear message."""
    try:
        run = make()
    except ValueError as exc:
        if got.prepared is None:
            raise
        raise UserError(f"{got.source}: these series cannot be forecast with the current settings ({exc}); "
                        "give more history or a shorter --horizon / fewer --origins") from exc
    run.freq = got.freq
    run.params["executor"] = getattr(args, "executor_label", "local")
    if got.prepared is not None:
        p = got.prepared
        run.source_sha256 = p.sha256
        run.params["source"] = p.source()
        run.params["not_forecast"] = p.not_forecast
        run.summary["not_forecast"] = len(p.not_forecast)
        run.tables["forecast_history"] = p.long
    return run


def _print_not_forecast(got: Inputs) -> None:
    if got.prepared is not None and got.prepared.not_forecast:
        print(f"  {inputs.not_forecast_text(got.prepared)} (stored with the run)")


def _forecast_workload(args: argparse.Namespace) -> None:
    from forecasts import run_workload

    db, config, n = _settings(args, "workload")
    got = _workload_input(args, db, config)
    long = got.long
    print(f"workload: {long['unique_id'].n_unique()} series to {long['ds'].max()}, {n} worker(s)", file=sys.stderr)
    run = _run(got, lambda: run_workload.forecast(long, config, n, got.source, got.extra), args)
    store.save_run(db, run)
    s = run.summary
    print(f"workload run {run.run_id}: {run.n_series} series, cut-off {run.data_cutoff}, {run.seconds:.0f} s; "
          f"models used {s['chosen']}; backtest MASE {_f(s['mase_chosen'])} vs {s.get('baseline', 'seasonal naive')} "
          f"{_f(s['mase_snaive7'])}")
    _print_not_forecast(got)
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
    got = _parts_input(args, db, config)
    long = got.long
    print(f"parts: {long['unique_id'].n_unique()} series to {long['ds'].max()}, {n} worker(s)", file=sys.stderr)
    run = _run(got, lambda: run_parts.forecast(long, config, n, got.source, **(got.extra or {})), args)
    store.save_run(db, run)
    s = run.summary
    print(f"parts run {run.run_id}: {run.n_series} parts {s['classes']}, methods {s['methods']}, {run.seconds:.0f} s; "
          f"backtest MASE (outer windows) {_f(s['backtest_mase_outer'])}, ÷ zero {_f(s['backtest_mase_rel_zero'])}, "
          f"÷ seasonal naive {_f(s['backtest_mase_rel_snaive'])}")
    _print_policies(s)
    _print_not_forecast(got)
    risk = run.tables["parts_reorder"].filter(pl.col("runs_out_within_lead_time").fill_null(False)) \
        .sort("runout_date").head(15)
    print(f"{s['at_risk']} part(s) projected to run out within their lead time; {s['order_now']} at or below the "
          "reorder point" + (":" if risk.height else ""))
    for r in risk.iter_rows(named=True):
        print(f"  {r['part_no']:<12} runs out {r['runout_date']}  stock {r['stock_at_cutoff']:.0f}  lead "
              f"{r['lead_time_days']} d  reorder point {r['reorder_point']}  order {r['order_qty']}")


def _print_policies(s: dict[str, Any]) -> None:
    """The reorder policy each class got, where it came from, and its fill on the outer window."""
    fills = s.get("policy_fill_outer") or {}
    where = {"backtest": "chosen on the inner window", "settings": "pinned by parts.policy_by_class",
             "default": "no inner window: parts.lead_time_distribution / policy_margin"}
    print("reorder policy per class (distribution:margin; fill rate on the outer window, policy / SES + normal "
          "baseline):")
    for cls, spec in (s.get("policy_by_class") or {}).items():
        f = fills.get(cls) or {}
        print(f"  {cls:<12} {spec:<9} {where.get(s['policy_source'][cls], s['policy_source'][cls])}; "
              f"fill {_f(f.get('fill_rate'))} / {_f(f.get('baseline_fill_rate'))}")
    if fills.get("all"):
        print(f"  all parts    fill {_f(fills['all']['fill_rate'])} / {_f(fills['all']['baseline_fill_rate'])} "
              f"(target {_f(s.get('target_fill_rate'))})")


def cmd_forecast(args: argparse.Namespace) -> int:
    if args.what == "all" and args.input:
        raise UserError("--input works with `forecast workload` or `forecast parts`, not `all`")
    with _executor(args):
        return _forecast(args)


def _forecast(args: argparse.Namespace) -> int:
    if args.what in ("workload", "all"):
        _forecast_workload(args)
    if args.what in ("parts", "all"):
        if args.what == "all":
            args.horizon = None  # a workload horizon in days is not a parts horizon in weeks
        _forecast_parts(args)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    with _executor(args):
        return _backtest(args)


def _backtest(args: argparse.Namespace) -> int:
    if args.what == "workload":
        from forecasts import run_workload

        db, config, n = _settings(args, "workload")
        got = _workload_input(args, db, config)
        run = _run(got, lambda: run_workload.backtest(got.long, config, n, got.source,
                                                      events=not args.no_events and got.freq == frequency.DAILY),
                   args)
        store.save_run(db, run)
        _print_not_forecast(got)
        h = run.summary
        print(f"workload backtest {run.run_id}: {h['series']} series, origins {', '.join(h['origins'])} "
              f"(scored from the second: chosen and calibrated on the earlier ones), {run.seconds:.0f} s")
        buckets = h.get("coverage_by_bucket") or {}
        _targets([(f"MASE vs {h.get('baseline', 'seasonal naive (lag 7)')}, selected", h["mase_rel_snaive7"], "≤ 0.85"),
                  (f"MASE vs best single baseline ({h.get('best_baseline')})", h.get("mase_rel_best_baseline"), "≤ 1"),
                  ("  Prophet alone", h["prophet_mase_rel_snaive7"], ""),
                  (f"win rate vs {h.get('baseline', 'seasonal naive')}", h["win_rate_vs_snaive7"], ""),
                  ("80% interval coverage", h["coverage_80"], "0.75–0.85"),
                  ("95% interval coverage", h["coverage_95"], "0.90–0.98"),
                  *[(f"  horizon {b}: 80% / 95%", f"{_f(c.get(80))} / {_f(c.get(95))}", "") for b, c in buckets.items()],
                  ("  raw Prophet 80% / 95%", f"{_f(h['raw_prophet_coverage_80'])} / {_f(h['raw_prophet_coverage_95'])}", ""),
                  ("event MAE vs lag-364 naive, volume-weighted", h["event_mae_rel_naive364_volume"], "≤ 0.70"),
                  ("event MASE vs lag-364 naive, mean over series", h["event_mase_rel_naive364"], "≤ 0.70")])
    else:
        from forecasts import parts_backtest

        db, config, n = _settings(args, "parts")
        got = _parts_input(args, db, config)
        run = _run(got, lambda: parts_backtest.backtest(got.long, config, n, got.source, (got.extra or {}).get("master"),
                                                        simulate=not args.no_sim), args)
        store.save_run(db, run)
        _print_not_forecast(got)
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
            print(f"  policy chosen per class on the inner window (`forecast parts` plans with it unless "
                  f"parts.policy_by_class pins one): {h['policy_by_class']}")
    return 0


def _f(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _targets(rows: list[tuple[str, Any, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {_f(value):>14}  {('target ' + target) if target else ''}")
