"""The parts backtest: RMSSE and bias of every method on identical cut-offs, set against naive,
SES and the zero forecast, and an inventory simulation over the last ``sim_weeks`` weeks of the
reorder policy (class method + count distribution) against the baseline policy (SES forecast
with a normal reorder point), both recomputed every ``sim_refit_weeks`` weeks from the data
before that week only."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from forecasts import inventory, parts, store
from forecasts.executor import map_series
from forecasts.run_parts import _fan_out
from forecasts.settings import section

SELECTED = "selected"


@dataclass
class SimItem:
    part_no: str
    series_class: str
    y: np.ndarray
    method: str
    lead_days: int
    settings: dict[str, Any]


def _ses(train: np.ndarray) -> tuple[float, float]:
    """SES level and the RMSE of its one-step in-sample errors over the last 52 weeks."""
    from statsforecast.models import SimpleExponentialSmoothingOptimized

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SimpleExponentialSmoothingOptimized().forecast(y=train.astype(float), h=1, fitted=True)
    err = (train - res["fitted"])[-52:]
    err = err[np.isfinite(err)]
    sigma = float(np.sqrt(np.mean(err ** 2))) if len(err) else float(np.std(train))
    return max(float(res["mean"][0]), 0.0), sigma


def simulate_part(item: SimItem) -> list[dict[str, Any]]:
    """Both policies on one part: rows ``part_no, series_class, policy, weeks, demand, filled,
    fill_rate, mean_stock, orders, stockout_weeks`` (none when the history is too short)."""
    ps, y = item.settings, item.y
    start = max(len(y) - int(ps["sim_weeks"]), int(ps["min_history_weeks"]))
    if start >= len(y):
        return []
    refit, fill, cover = int(ps["sim_refit_weeks"]), float(ps["target_fill_rate"]), float(ps["order_cover_weeks"])
    p = inventory.protection_weeks(item.lead_days)
    count, base = [], []
    for t0 in range(start, len(y), refit):
        train = y[:t0]
        recent = train[-52:]
        var = float(recent.var(ddof=1)) if len(recent) > 1 else 0.0
        rate = float(parts.point_forecast(item.method, train, p).mean()) if np.any(train > 0) else 0.0
        count.append(inventory.count_policy(rate, var, item.lead_days, fill, cover, str(ps["lead_time_distribution"]),
                                            recent, np.random.default_rng(t0)))
        ses_rate, sigma = _ses(train) if np.any(train > 0) else (0.0, 0.0)
        base.append(inventory.normal_policy(ses_rate, sigma, item.lead_days, fill, cover))
    demand = y[start:]
    rows = []
    for name, pols in (("count", count), ("baseline", base)):
        r = inventory.simulate(demand, pols, refit, item.lead_days)
        rows.append({"part_no": item.part_no, "series_class": item.series_class, "policy": name,
                     "weeks": len(demand), **r})
    return rows


def _forecast_scores(bt: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """Summary rows ``scope, model, metric, value`` for all parts and per class."""
    per = parts.rmsse_table(bt).join(chosen.select("unique_id", "series_class", pl.col("model").alias("_m")),
                                     on="unique_id")
    sel = per.filter(pl.col("model") == pl.col("_m")).with_columns(pl.lit(SELECTED).alias("model"))
    per = pl.concat([per, sel])
    out = []
    for scope, g in [("all", per), *((f"class:{c}", g) for (c,), g in per.group_by("series_class"))]:
        base = {m: g.filter(pl.col("model") == m) for m in parts.BASELINES}
        for (model,), gm in g.group_by("model"):
            finite = gm.filter(pl.col("rmsse").is_finite())
            vals = {"rmsse": finite["rmsse"].mean(),
                    "bias": (gm["forecast"].sum() - gm["actual"].sum()) / gm["actual"].sum() if gm["actual"].sum() else None,
                    "series": float(gm["unique_id"].n_unique())}
            for b, gb in base.items():
                fb = gb.filter(pl.col("rmsse").is_finite())
                vals[f"rmsse_rel_{b}"] = (vals["rmsse"] / fb["rmsse"].mean()) if len(fb) and fb["rmsse"].mean() else None
            out += [{"scope": scope, "model": model, "metric": k, "value": None if v is None else float(v)}
                    for k, v in vals.items()]
    return pl.DataFrame(out, schema={"scope": pl.String, "model": pl.String, "metric": pl.String, "value": pl.Float64})


def _sim_scores(sim: pl.DataFrame) -> pl.DataFrame:
    out = []
    for scope, g in [("inventory", sim), *((f"inventory:{c}", g) for (c,), g in sim.group_by("series_class"))]:
        for (policy,), gp in g.group_by("policy"):
            vals = {"fill_rate": gp["filled"].sum() / gp["demand"].sum() if gp["demand"].sum() else None,
                    "mean_part_fill_rate": gp["fill_rate"].drop_nans().mean(),
                    "mean_stock_units": gp["mean_stock"].sum(), "orders": gp["orders"].sum(),
                    "parts": float(gp.height)}
            out += [{"scope": scope, "model": policy, "metric": k, "value": None if v is None else float(v)}
                    for k, v in vals.items()]
    return pl.DataFrame(out, schema={"scope": pl.String, "model": pl.String, "metric": pl.String, "value": pl.Float64})


def backtest(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str,
             master: pl.DataFrame | None = None, simulate: bool = True) -> store.Run:
    """Backtest every method and the reorder policy; returns a ``backtest_parts`` run."""
    started = time.perf_counter()
    ps = section(config, "parts")
    out = _fan_out(long, ps, workers)
    methods = parts.choose_methods(out["backtest"], out["info"])
    chosen = out["info"].join(methods, on="series_class", how="left")
    scores = _forecast_scores(out["backtest"], chosen)
    tables: dict[str, pl.DataFrame] = {}
    if simulate:
        leads = {} if master is None else dict(master.select("part_no", "lead_time_days").drop_nulls().iter_rows())
        default = int(ps["default_lead_time_days"])
        ys = {uid: g["y"].to_numpy() for (uid,), g in long.sort("ds").group_by("unique_id")}
        items = [SimItem(r["unique_id"], r["series_class"], ys[r["unique_id"]], r["model"],
                         int(leads.get(r["unique_id"], default)), ps)
                 for r in chosen.filter(pl.col("series_class") != parts.NO_DEMAND).iter_rows(named=True)]
        sim_workers = workers if len(items) >= int(ps["parallel_min_series"]) else 1
        sim_rows = [row for rows in map_series(simulate_part, items, workers=sim_workers, desc="inventory sim")
                    for row in rows]
        sim = pl.DataFrame(sim_rows, schema={"part_no": pl.String, "series_class": pl.String, "policy": pl.String,
                                             "weeks": pl.Int32, "demand": pl.Float64, "filled": pl.Float64,
                                             "fill_rate": pl.Float64, "mean_stock": pl.Float64,
                                             "orders": pl.Float64, "stockout_weeks": pl.Float64})
        sim = sim.with_columns(pl.col("orders", "stockout_weeks").cast(pl.Int32))
        tables["inventory_sim"] = sim
        scores = pl.concat([scores, _sim_scores(sim)])
    per_series = parts.rmsse_table(out["backtest"]).group_by("unique_id", "model").agg(pl.col("rmsse").mean()) \
        .select(pl.lit("all").alias("scope"), "unique_id", "model", pl.lit("rmsse").alias("metric"),
                pl.col("rmsse").alias("value"))
    tables["backtest_scores"] = pl.concat([scores.with_columns(pl.lit("*").alias("unique_id")).select(per_series.columns),
                                           per_series])
    tables["backtest_forecasts"] = out["backtest"].select(pl.lit("rolling").alias("window_label"), "unique_id",
                                                          "cutoff", "ds", "model", "y", "yhat")
    summary = headline(tables["backtest_scores"], float(ps["target_fill_rate"]))
    summary["methods"] = {r["series_class"]: r["model"] for r in methods.iter_rows(named=True)}
    return store.Run(kind="backtest_parts", source=source, model="|".join(parts.ALL_MODELS),
                     data_cutoff=long["ds"].max(), params={"parts": ps}, n_series=out["info"].height, workers=workers,
                     seconds=time.perf_counter() - started, summary=summary, tables=tables)


def headline(scores: pl.DataFrame, target: float) -> dict[str, Any]:
    s = scores.filter(pl.col("unique_id") == "*")

    def get(scope: str, model: str, metric: str) -> float | None:
        v = s.filter((pl.col("scope") == scope) & (pl.col("model") == model) & (pl.col("metric") == metric))["value"]
        return float(v[0]) if len(v) and v[0] is not None else None

    return {"target_fill_rate": target,
            "fill_rate": get("inventory", "count", "fill_rate"),
            "baseline_fill_rate": get("inventory", "baseline", "fill_rate"),
            "mean_stock_units": get("inventory", "count", "mean_stock_units"),
            "baseline_mean_stock_units": get("inventory", "baseline", "mean_stock_units"),
            "bias": get("all", SELECTED, "bias"),
            "rmsse": get("all", SELECTED, "rmsse"),
            "rmsse_rel_naive": get("all", SELECTED, "rmsse_rel_naive"),
            "rmsse_rel_ses": get("all", SELECTED, "rmsse_rel_ses"),
            "rmsse_rel_zero": get("all", SELECTED, "rmsse_rel_zero")}
