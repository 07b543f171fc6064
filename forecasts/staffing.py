"""Technicians needed per region and week, from the workload forecast.

For service type t (estimated from finished tickets' visits, each overridable in config):

    visit_share_t   share of tickets that get at least one technician visit
    work_t          on-site hours per ticket = visit_share_t × mean visit duration
                    (``staffing.hours_per_ticket[t]`` replaces it)
    travel_t        travel hours per ticket = visit_share_t × mean travel per visit
                    (``staffing.travel_hours_per_visit`` where visits record no travel)
    repeat_t        extra visits per visited ticket (``staffing.repeat_visit_rate[t]``)
    H_t             hours per ticket = (work_t + travel_t) × (1 + repeat_t)

Hours of a region-week = Σ_t tickets forecast × H_t, planned at ``plan_quantile`` (default the
80th percentile): the expected hours times one plus the quantile of the relative error of
region-week hours in the workload backtest (so the plan carries the uncertainty the forecasts
really had, at the grain that is planned). Technicians needed = planned hours ÷ (productive
hours per week × (1 − shrinkage)). Only whole weeks (Monday–Sunday) inside the horizon are
planned, and tickets not yet dispatched to an outlet (region ``unassigned``) are left out: they
have no region to staff.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from forecasts.series import UNASSIGNED, split_id


def hours_per_ticket(visits: pl.DataFrame, settings: dict[str, Any]) -> pl.DataFrame:
    """``service_type, visit_share, work_hours, travel_hours, repeat_rate, hours_per_ticket`` from
    ``series.visit_stats`` output and the ``staffing`` settings (see the module docstring)."""
    overrides = settings.get("hours_per_ticket") or {}
    repeat_over = settings.get("repeat_visit_rate") or {}
    default_travel = float(settings.get("travel_hours_per_visit", 0.75))
    rows = []
    for r in visits.iter_rows(named=True):
        t = r["service_type"]
        share = r["visited_tickets"] / r["tickets"] if r["tickets"] else 0.0
        work = float(overrides[t]) if t in overrides else share * (r["work_hours"] or 0.0)
        travel_visit = r["travel_hours"] if r["travel_hours"] is not None else default_travel
        travel = share * travel_visit
        repeat = float(repeat_over[t]) if t in repeat_over else (
            r["visits"] / r["visited_tickets"] - 1 if r["visited_tickets"] else 0.0)
        rows.append({"service_type": t, "visit_share": share, "work_hours": work, "travel_hours": travel,
                     "repeat_rate": repeat, "hours_per_ticket": (work + travel) * (1 + repeat)})
    for t, hours in overrides.items():  # a type with no tickets yet but an explicit figure
        if t not in {r["service_type"] for r in rows}:
            rows.append({"service_type": t, "visit_share": 1.0, "work_hours": float(hours), "travel_hours": 0.0,
                         "repeat_rate": 0.0, "hours_per_ticket": float(hours)})
    return pl.DataFrame(rows, schema={"service_type": pl.String, "visit_share": pl.Float64,
                                      "work_hours": pl.Float64, "travel_hours": pl.Float64,
                                      "repeat_rate": pl.Float64, "hours_per_ticket": pl.Float64})


def _with_hours(frame: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """Rows of region × service-type series with ``region`` and ``h`` (hours per ticket)."""
    ids = frame["unique_id"].unique().to_list()
    mapping = pl.DataFrame([{"unique_id": u, "region": split_id(u)[0], "service_type": split_id(u)[1]} for u in ids],
                           schema={"unique_id": pl.String, "region": pl.String, "service_type": pl.String})
    mapping = mapping.filter((pl.col("service_type") != "all") & ~pl.col("region").is_in(["all", UNASSIGNED]))
    return (frame.join(mapping, on="unique_id")
            .join(hours.select("service_type", pl.col("hours_per_ticket").alias("h")), on="service_type", how="left")
            .with_columns(pl.col("h").fill_null(0.0),
                          (pl.col("ds") - pl.duration(days=pl.col("ds").dt.weekday() - 1)).alias("week_start")))


def error_quantiles(backtest: pl.DataFrame, hours: pl.DataFrame, q: float, min_weeks: int = 8) -> pl.DataFrame:
    """Per region: the ``q`` quantile of (actual − forecast) ÷ forecast hours over the full weeks
    of the backtest windows (``unique_id, cutoff, ds, y, yhat`` of the models in use). Regions
    with fewer than ``min_weeks`` weeks take the quantile over all regions."""
    rows = _with_hours(backtest.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null()), hours)
    weekly = (rows.group_by("region", "cutoff", "week_start")
              .agg((pl.col("y") * pl.col("h")).sum().alias("actual"), (pl.col("yhat") * pl.col("h")).sum().alias("pred"),
                   pl.col("ds").n_unique().alias("days"))
              .filter((pl.col("days") == 7) & (pl.col("pred") > 0))
              .with_columns(((pl.col("actual") - pl.col("pred")) / pl.col("pred")).alias("rel")))
    if weekly.is_empty():
        return pl.DataFrame(schema={"region": pl.String, "rel_q": pl.Float64})
    pooled = float(np.quantile(weekly["rel"].to_numpy(), q))
    return weekly.group_by("region").agg(pl.col("rel").quantile(q, "linear").alias("rel_q"), pl.len().alias("n")) \
        .with_columns(pl.when(pl.col("n") >= min_weeks).then(pl.col("rel_q")).otherwise(pooled).alias("rel_q")) \
        .select("region", "rel_q")


def plan(forecast: pl.DataFrame, hours: pl.DataFrame, technicians: pl.DataFrame, settings: dict[str, Any],
         backtest: pl.DataFrame | None = None) -> pl.DataFrame:
    """The staffing plan (table ``staffing_plan`` without ``run_id``) from the chosen daily
    forecasts of region × service-type series (``unique_id, ds, yhat``) and, for the plan
    quantile, their backtest rows."""
    q = float(settings.get("plan_quantile", 0.8))
    capacity = float(settings.get("productive_hours_per_week", 40.0)) * (1 - float(settings.get("shrinkage", 0.15)))
    if capacity <= 0:
        raise ValueError("staffing.productive_hours_per_week × (1 − shrinkage) must be positive")
    rows = _with_hours(forecast, hours)
    weekly = (rows.group_by("region", "week_start")
              .agg(pl.col("yhat").sum().alias("tickets_expected"), (pl.col("yhat") * pl.col("h")).sum().alias("hours_expected"),
                   pl.col("ds").n_unique().alias("days_in_horizon")))
    if backtest is not None and not backtest.is_empty():
        weekly = weekly.join(error_quantiles(backtest, hours, q), on="region", how="left")
    else:
        weekly = weekly.with_columns(pl.lit(None, dtype=pl.Float64).alias("rel_q"))
    techs = technicians.select("region", pl.col("technicians").cast(pl.Int64))
    out = (weekly.join(techs, on="region", how="left")
           .with_columns(pl.col("technicians").fill_null(0).alias("technicians_available"),
                         (pl.col("hours_expected") * (1 + pl.col("rel_q").fill_null(0.0)).clip(lower_bound=0.0))
                         .alias("hours_planned"))
           .filter(pl.col("days_in_horizon") == 7)
           .with_columns((pl.col("hours_planned") / capacity).alias("technicians_needed"))
           .with_columns((pl.col("technicians_available") - pl.col("technicians_needed")).alias("gap"))
           .with_columns((pl.col("gap") < 0).alias("short"), pl.lit(q).alias("plan_quantile"))
           .filter((pl.col("hours_expected") > 0) | (pl.col("technicians_available") > 0)))
    return out.select("region", "week_start", "tickets_expected",
                      "hours_expected", "hours_planned", "plan_quantile", "technicians_needed",
                      pl.col("technicians_available").cast(pl.Int32), "gap", "short").sort("week_start", "region")


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())
