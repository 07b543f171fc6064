"""Spare-part runs: ``forecast`` (classify, pick a method per class by backtest, forecast,
reorder policy and run-out dates) and ``backtest`` (RMSSE and bias against naive, SES and zero,
and the inventory simulation of the reorder policy against the SES + normal baseline)."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from forecasts import inventory, parts, store
from forecasts.executor import map_series
from forecasts.settings import section

MAX_PROJECTION_DAYS = 3 * 365
BATCH = 250  # parts per executor item

def _fan_out(long: pl.DataFrame, ps: dict[str, Any], workers: int) -> dict[str, pl.DataFrame]:
    tasks = parts.tasks_from_long(long, int(ps["backtest_origins"]), int(ps["horizon_weeks"]),
                                  int(ps["backtest_step_weeks"]), int(ps["min_history_weeks"]))
    # A part takes milliseconds and a worker process seconds to start (imports): below a few
    # thousand parts one process is faster (see the README's benchmark).
    if len(tasks) < int(ps["parallel_min_series"]):
        workers = 1
    size = max(1, min(BATCH, math.ceil(len(tasks) / (workers * 4))))
    batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    results = map_series(parts.forecast_parts_batch, batches, workers=workers, chunk_size=1,
                         desc=f"parts ×{size}")
    return {k: pl.concat([r[k] for r in results if not r[k].is_empty()], how="vertical_relaxed")
            for k in ("backtest", "final", "info")}


def _chosen(info: pl.DataFrame, methods: pl.DataFrame) -> pl.DataFrame:
    return info.join(methods, on="series_class", how="left")


@dataclass
class PolicyItem:
    """What a part's reorder policy needs (picklable)."""

    part_no: str
    rate: float
    var: float
    lead_days: int
    fill_rate: float
    cover_weeks: float
    method: str
    history: np.ndarray


def policy_for_part(item: PolicyItem) -> tuple[str, int, int, str]:
    """``(part_no, s, S, distribution)``."""
    lv = inventory.count_policy(item.rate, item.var, item.lead_days, item.fill_rate, item.cover_weeks,
                                item.method, item.history, np.random.default_rng(0))
    dist = "bootstrap" if item.method == "bootstrap" else ("nb" if item.var > item.rate else "poisson")
    return item.part_no, lv.reorder_point, lv.order_up_to, dist


def _intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """80%/95% bounds of weekly demand: NB with the forecast mean and the recent variance."""
    mean = frame["yhat"].to_numpy()
    var = np.maximum(frame["var_demand"].fill_null(0).to_numpy(), mean)
    out = {}
    over = var > mean * 1.0001
    n = np.where(over, mean ** 2 / np.where(over, var - mean, 1), 1.0)
    p = np.where(over, n / (n + np.maximum(mean, 1e-12)), 0.5)
    for lv in (80, 95):
        a = (1 - lv / 100) / 2
        for name, q in ((f"yhat_lower_{lv}", a), (f"yhat_upper_{lv}", 1 - a)):
            nb = stats.nbinom.ppf(q, np.maximum(n, 1e-9), p)
            po = stats.poisson.ppf(q, mean)
            out[name] = np.where(mean <= 0, 0.0, np.where(over, nb, po)).astype(float)
    return frame.with_columns(*(pl.Series(k, v) for k, v in out.items()))


def forecast(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str,
             master: pl.DataFrame | None = None, used_since: pl.DataFrame | None = None,
             last_day: dt.date | None = None) -> store.Run:
    """The production parts forecast with the reorder table. ``master`` (``series.parts_master``)
    gives lead times and stock; ``used_since`` (``series.parts_used_since(as_of)``) brings the
    stock count forward to ``last_day``, the last day of data."""
    started = time.perf_counter()
    ps = section(config, "parts")
    out = _fan_out(long, ps, workers)
    methods = parts.choose_methods(out["backtest"], out["info"])
    chosen = _chosen(out["info"], methods)
    final = (out["final"].join(chosen.select("unique_id", pl.col("model").alias("_m"), "var_demand"), on="unique_id")
             .with_columns((pl.col("model") == pl.col("_m")).alias("chosen")))
    bounds = ("yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
    values = pl.concat([_intervals(final.filter("chosen")),  # intervals for the method used only
                        final.filter(~pl.col("chosen")).with_columns(pl.lit(None, dtype=pl.Float64).alias(b)
                                                                     for b in bounds)],
                       how="diagonal_relaxed").select("unique_id", "ds", "model", "chosen", "yhat", *bounds)
    rates = final.filter("chosen").group_by("unique_id").agg(pl.col("yhat").mean().alias("rate"))
    scores = parts.rmsse_table(out["backtest"]).group_by("unique_id", "model").agg(pl.col("rmsse").mean())
    wide = scores.pivot(on="model", index="unique_id", values="rmsse")
    series = chosen.join(wide, on="unique_id", how="left")
    series_tbl = series.select(
        "unique_id", "model", "reason", "series_class", "adi", "cv2", pl.lit("rmsse").alias("score_metric"),
        pl.struct(*[pl.col(m) for m in parts.ALL_MODELS if m in wide.columns]).struct.json_encode().alias("scores"),
        pl.col("naive").alias("baseline_score") if "naive" in wide.columns else pl.lit(None, dtype=pl.Float64).alias("baseline_score"),
    ).join(scores.rename({"rmsse": "score"}), on=["unique_id", "model"], how="left")
    reorder = reorder_table(chosen.join(rates, on="unique_id", how="left"), long, ps, workers, master, used_since,
                            last_day or long["ds"].max() + dt.timedelta(days=6))
    at_risk = reorder.filter(pl.col("runs_out_within_lead_time").fill_null(False))
    summary = {"parts": chosen.height, "classes": dict(chosen["series_class"].value_counts().iter_rows()),
               "methods": {r["series_class"]: r["model"] for r in methods.iter_rows(named=True)},
               "at_risk": at_risk.height, "order_now": int(reorder["order_now"].fill_null(False).sum())}
    return store.Run(kind="parts", source=source, model="|".join(sorted(set(methods["model"]))),
                     data_cutoff=long["ds"].max(), params={"parts": ps}, n_series=chosen.height, workers=workers,
                     seconds=time.perf_counter() - started, summary=summary,
                     tables={"forecast_values": values, "forecast_series": series_tbl, "parts_reorder": reorder})


def reorder_table(chosen: pl.DataFrame, long: pl.DataFrame, ps: dict[str, Any], workers: int,
                  master: pl.DataFrame | None, used_since: pl.DataFrame | None, last_day: dt.date) -> pl.DataFrame:
    """The ``parts_reorder`` rows: one per forecast part and per master part without demand."""
    master = master if master is not None else pl.DataFrame(schema={"part_no": pl.String, "lead_time_days": pl.Int64})
    default_lead = int(ps["default_lead_time_days"])
    frame = chosen.rename({"unique_id": "part_no"}).join(master, on="part_no", how="full", coalesce=True)
    frame = frame.with_columns(
        pl.col("series_class").fill_null(parts.NO_DEMAND), pl.col("model").fill_null("zero"),
        pl.col("rate").fill_null(0.0), pl.col("var_demand").fill_null(0.0),
        pl.col("lead_time_days").is_not_null().alias("_has_lead"),
        pl.col("lead_time_days").fill_null(default_lead).cast(pl.Int64))
    hist = {uid: g["y"].to_numpy()[-52:] for (uid,), g in long.sort("ds").group_by("unique_id")}
    method = str(ps["lead_time_distribution"])
    items = [PolicyItem(r["part_no"], float(r["rate"]), float(r["var_demand"]), int(r["lead_time_days"]),
                        float(ps["target_fill_rate"]), float(ps["order_cover_weeks"]), method,
                        hist.get(r["part_no"], np.zeros(0))) for r in frame.iter_rows(named=True)]
    levels = pl.DataFrame(map_series(policy_for_part, items,
                                     workers=workers if len(items) >= int(ps["parallel_min_series"]) else 1,
                                     desc="reorder"), schema=["part_no", "reorder_point", "order_up_to", "distribution"],
                          orient="row")
    frame = frame.join(levels, on="part_no")
    used = _usage_after(frame, used_since, last_day)
    rows = []
    for r in frame.join(used, on="part_no", how="left").iter_rows(named=True):
        rows.append({**_runout(r, last_day), "part_no": r["part_no"]})
    proj = pl.DataFrame(rows, schema={"part_no": pl.String, "stock_at_cutoff": pl.Float64, "runout_date": pl.Date,
                                      "runs_out_within_lead_time": pl.Boolean, "stockout_prob_lead_time": pl.Float64,
                                      "order_now": pl.Boolean, "order_qty": pl.Int64})
    frame = frame.join(proj, on="part_no")
    cols = {"part_name": pl.String, "on_hand": pl.Int64, "as_of": pl.Date}
    frame = frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in frame.columns)
    return frame.select(
        "part_no", "part_name", "series_class", "model", "distribution", pl.col("lead_time_days").cast(pl.Int32),
        pl.when("_has_lead").then(pl.lit("master")).otherwise(pl.lit("default")).alias("lead_time_source"),
        pl.col("rate").alias("mean_weekly_demand"), pl.col("reorder_point").cast(pl.Int32),
        pl.col("order_up_to").cast(pl.Int32), pl.col("on_hand").cast(pl.Int32), "as_of", "stock_at_cutoff",
        "order_now", pl.col("order_qty").cast(pl.Int32), "runout_date", "runs_out_within_lead_time",
        "stockout_prob_lead_time").sort("part_no")


def _usage_after(frame: pl.DataFrame, used_since: pl.DataFrame | None, last_day: dt.date) -> pl.DataFrame:
    """Quantity used per part after its stock count, up to ``last_day``."""
    if used_since is None or used_since.is_empty() or "as_of" not in frame.columns:
        return pl.DataFrame(schema={"part_no": pl.String, "used_after": pl.Float64})
    return (used_since.join(frame.select("part_no", "as_of"), on="part_no")
            .filter((pl.col("day") > pl.col("as_of")) & (pl.col("day") <= last_day))
            .group_by("part_no").agg(pl.col("qty").sum().alias("used_after")))


def _runout(r: dict[str, Any], last_day: dt.date) -> dict[str, Any]:
    on_hand = r.get("on_hand")
    if on_hand is None:
        return {"stock_at_cutoff": None, "runout_date": None, "runs_out_within_lead_time": None,
                "stockout_prob_lead_time": None, "order_now": None, "order_qty": None}
    stock = float(on_hand) - float(r.get("used_after") or 0.0)
    start = max(last_day, r["as_of"]) if r.get("as_of") else last_day
    rate, lead = float(r["rate"]), int(r["lead_time_days"])
    days = stock / (rate / 7) if rate > 0 else math.inf
    if stock <= 0:
        runout: dt.date | None = start
    elif days <= MAX_PROJECTION_DAYS:
        runout = start + dt.timedelta(days=math.ceil(days))
    else:
        runout = None  # not within the projection: demand is too slow to matter
    prob = 0.0
    if rate > 0:
        pmf = inventory.lead_time_pmf(rate, float(r["var_demand"]), lead / 7)
        prob = float(pmf[int(max(stock, 0)) + 1:].sum()) if stock >= 0 else 1.0
    order_now = stock <= r["reorder_point"] and r["order_up_to"] > 0
    return {"stock_at_cutoff": stock, "runout_date": runout,
            "runs_out_within_lead_time": runout is not None and runout <= start + dt.timedelta(days=lead),
            "stockout_prob_lead_time": prob, "order_now": order_now,
            "order_qty": int(math.ceil(r["order_up_to"] - stock)) if order_now else 0}
