"""Workload backtesting: the cut-offs, the choice of model per series, interval calibration and
the scores, all on one long frame of backtest forecasts (see ``workload.forecast_series``).

Rolling origins are spaced a horizon apart by default, so their windows do not overlap and each
origin's residuals are all in the past for the next one. That lets the backtest score the
production procedure honestly: at origin k, the model choice and the interval calibration use
only origins before k (so those scores start at the second origin).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from forecasts import calendar, scoring
from forecasts.workload import NAIVE364, PROPHET, SNAIVE7

SELECTED = "selected"
ROLLING = "rolling"
FINAL = "final"


def rolling_cutoffs(first: dt.date, last: dt.date, horizon: int, origins: int, step: int = 0,
                    min_train: int = 365) -> list[dt.date]:
    """``origins`` cut-offs, the latest ``horizon`` days before ``last`` (its window ends on the
    last day), each earlier one ``step`` days (default: the horizon) before the next; cut-offs
    leaving less than ``min_train`` days of history are dropped."""
    step = step or horizon
    cutoffs = [last - dt.timedelta(days=horizon + step * k) for k in reversed(range(origins))]
    return [c for c in cutoffs if (c - first).days + 1 >= min_train]


def event_windows(first: dt.date, last: dt.date, lead: int, horizon: int) -> list[tuple[str, dt.date, int]]:
    """``(label, cutoff, horizon)`` for each Spring Festival, 618 and Double 11 whose window
    ``event - lead .. + horizon`` is inside the data with a year of history before it (the
    lag-364 naive needs it). Labels read ``event:double11:2025``."""
    out = []
    for year in range(first.year, last.year + 1):
        for name, day in calendar.event_dates(year).items():
            cutoff = day - dt.timedelta(days=lead)
            if (cutoff - first).days + 1 >= 365 and cutoff + dt.timedelta(days=horizon) <= last:
                out.append((f"event:{name}:{year}", cutoff, horizon))
    return sorted(out, key=lambda w: w[1])


def level_of(unique_id: str) -> str:
    """Hierarchy level of a workload series id: total, region or region_service ('series' for
    ids from a planner's file)."""
    if unique_id == "all/all":
        return "total"
    if "/" not in unique_id:
        return "series"
    return "region" if unique_id.endswith("/all") else "region_service"


def _levels(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """``("", frame)`` and, when the ids span several levels, ``(":level", part)`` for each."""
    lv = frame.with_columns(pl.col("unique_id").map_elements(level_of, return_dtype=pl.String).alias("_level"))
    levels = sorted(lv["_level"].unique().to_list())
    out = [("", frame)]
    if len(levels) > 1:
        out += [(f":{name}", lv.filter(pl.col("_level") == name).drop("_level")) for name in levels]
    return out


def series_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """Per ``unique_id, model``: mean MASE over the frame's windows and the number of windows."""
    per_window = scoring.mase(frame, ["unique_id", "cutoff", "model"])
    return per_window.group_by("unique_id", "model").agg(pl.col("mase").mean(), pl.len().alias("windows"))


def choose_models(frame: pl.DataFrame, challenger: str, keep_within: float = 0.05,
                  extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """The model each series uses, with the reason: the best of the challenger and the ``extra``
    candidates (e.g. top-down) only where its backtest MASE is more than ``keep_within`` below
    Prophet's. Columns ``unique_id, model, reason, mase_prophet, mase_challenger, mase_snaive7``
    and ``mase_<extra>`` for each extra candidate."""
    others = (challenger, *extra)
    scores = series_scores(frame).filter(pl.col("model").is_in([PROPHET, *others, SNAIVE7]))
    wide = scores.pivot(on="model", index="unique_id", values="mase")
    for col in (PROPHET, *others, SNAIVE7):
        if col not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    rows = []
    for r in wide.iter_rows(named=True):
        p, s = _score(r[PROPHET]), r[SNAIVE7]
        alt = {m: _score(r[m]) for m in others if _score(r[m]) is not None}
        best = min(alt, key=alt.get) if alt else None
        c = alt.get(best) if best else None
        if p is None and c is None:
            model, reason = SNAIVE7, "Prophet and the challenger both failed or had no backtest: seasonal naive"
        elif c is None:
            model, reason = PROPHET, f"{challenger} failed or had no backtest"
        elif p is None:
            model, reason = best, "Prophet failed or had no backtest"
        elif c < p * (1 - keep_within):
            model, reason = best, (f"{best} MASE {c:.3f} is {1 - c / p:.0%} below Prophet's {p:.3f} "
                                   f"(more than {keep_within:.0%})")
        else:
            model, reason = PROPHET, (f"Prophet MASE {p:.3f} vs {best} {c:.3f}: "
                                      + ("Prophet is best" if p <= c else f"within {keep_within:.0%} of the best, kept"))
        rows.append({"unique_id": r["unique_id"], "model": model, "reason": reason,
                     "mase_prophet": p, "mase_challenger": _score(r[challenger]), "mase_snaive7": s,
                     **{f"mase_{m}": _score(r[m]) for m in extra}})
    return pl.DataFrame(rows, schema={"unique_id": pl.String, "model": pl.String, "reason": pl.String,
                                      "mase_prophet": pl.Float64, "mase_challenger": pl.Float64,
                                      "mase_snaive7": pl.Float64, **{f"mase_{m}": pl.Float64 for m in extra}})


def _score(v: float | None) -> float | None:
    return None if v is None or v != v else v


def calibrate_final(frame: pl.DataFrame, backtest: pl.DataFrame) -> pl.DataFrame:
    """``frame``'s forecasts with intervals calibrated on all of ``backtest``'s residuals."""
    return scoring.apply_calibration(frame, scoring.fit_calibration(backtest))


def out_of_sample(rolling: pl.DataFrame, challenger: str, keep_within: float,
                  extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """The rolling frame from the second origin on, with intervals calibrated and a ``selected``
    model chosen from earlier origins only (what production would have done at each origin)."""
    cutoffs = sorted(rolling["cutoff"].unique().to_list())
    out = []
    for c in cutoffs[1:]:
        past = rolling.filter((pl.col("cutoff") < c) & (pl.col("ds") <= c))
        now = rolling.filter(pl.col("cutoff") == c)
        now = scoring.apply_calibration(now, scoring.fit_calibration(past))
        choice = choose_models(past, challenger, keep_within, extra).select("unique_id", pl.col("model").alias("_chosen"))
        picked = now.join(choice, on="unique_id").filter(pl.col("model") == pl.col("_chosen")).drop("_chosen")
        out += [now, picked.with_columns(pl.lit(SELECTED).alias("model"))]
    return pl.concat(out, how="diagonal_relaxed") if out else rolling.head(0)


def _relative(per: pl.DataFrame, baseline: str, keys: list[str]) -> pl.DataFrame:
    base = per.filter(pl.col("model") == baseline).select(*keys, pl.col("mase").alias("_base"))
    return per.join(base, on=keys, how="inner")


def summarize_rolling(oos: pl.DataFrame, rolling: pl.DataFrame) -> pl.DataFrame:
    """Long summary ``scope, model, metric, value`` of the rolling backtest: MASE (all origins
    for the raw models; from the second origin for ``selected``), MASE relative to seasonal
    naive on the same windows, win rate against it, and interval coverage (from the second
    origin: calibration needs a past). Scope ``rolling``, and ``rolling:<level>`` per level of
    the hierarchy (total, region, region_service)."""
    keys = ["unique_id", "cutoff"]
    per = pl.concat([scoring.mase(rolling, [*keys, "model"]),
                     scoring.mase(oos.filter(pl.col("model") == SELECTED), [*keys, "model"])])
    rel_all = _relative(per.filter(pl.col("mase").is_not_nan()), SNAIVE7, keys)
    cov_rows = oos.filter(pl.col("y").is_not_null() & pl.col("yhat_lower_80").is_not_null()) \
        if "yhat_lower_80" in oos.columns else oos.head(0)
    raw_rows = rolling.filter((pl.col("model") == PROPHET) & pl.col("raw_lo80").is_not_null() & pl.col("y").is_not_null())
    out = []
    by_level = dict(_levels(rel_all))
    cov_by = dict(_levels(cov_rows)) if not cov_rows.is_empty() else {}
    raw_by = dict(_levels(raw_rows)) if not raw_rows.is_empty() else {}
    for suffix, rel in by_level.items():
        rows = rel.group_by("model").agg(
            pl.col("mase").mean().alias("mase"),
            (pl.col("mase").mean() / pl.col("_base").mean()).alias("mase_rel_snaive7"),
            (pl.col("mase") < pl.col("_base")).mean().alias("win_rate_vs_snaive7"),
            pl.col("unique_id").n_unique().cast(pl.Float64).alias("series"),
            pl.len().cast(pl.Float64).alias("windows"))
        if suffix in cov_by:
            cov = cov_by[suffix].group_by("model").agg(
                scoring.coverage("yhat_lower_80", "yhat_upper_80").alias("coverage_80"),
                scoring.coverage("yhat_lower_95", "yhat_upper_95").alias("coverage_95"))
            rows = rows.join(cov, on="model", how="left")
        if suffix in raw_by:
            raw = raw_by[suffix].group_by("model").agg(scoring.coverage("raw_lo80", "raw_hi80").alias("raw_coverage_80"),
                                                       scoring.coverage("raw_lo95", "raw_hi95").alias("raw_coverage_95"))
            rows = rows.join(raw, on="model", how="left")
        out.append(_long(rows, ROLLING + suffix))
    return pl.concat(out)


def summarize_events(events: pl.DataFrame, choice: pl.DataFrame) -> pl.DataFrame:
    """Long summary of the event backtest per event and over all events: MASE and MAE relative
    to the lag-364 naive on the same windows (``selected`` uses the rolling backtest's choice)."""
    picked = events.join(choice.select("unique_id", pl.col("model").alias("_chosen")), on="unique_id") \
        .filter(pl.col("model") == pl.col("_chosen")).drop("_chosen").with_columns(pl.lit(SELECTED).alias("model"))
    frame = pl.concat([events, picked], how="diagonal_relaxed")
    keys = ["unique_id", "window"]
    per = scoring.mase(frame, [*keys, "model"]).filter(pl.col("mase").is_not_nan())
    base = per.filter(pl.col("model") == NAIVE364).select(*keys, pl.col("mase").alias("_base"),
                                                           pl.col("abs_error").alias("_base_ae"))
    rel = per.join(base, on=keys, how="inner")
    out = []
    scopes = [(f"event:all{suffix}", g) for suffix, g in _levels(rel)]
    for scope, g in [*scopes, *((w, g) for (w,), g in rel.group_by("window"))]:
        s = g.group_by("model").agg(
            pl.col("mase").mean().alias("mase"),
            (pl.col("mase").mean() / pl.col("_base").mean()).alias("mase_rel_naive364"),
            (pl.col("abs_error").sum() / pl.col("_base_ae").sum()).alias("mae_rel_naive364_volume"),
            (pl.col("mase") < pl.col("_base")).mean().alias("win_rate_vs_naive364"),
            pl.col("unique_id").n_unique().cast(pl.Float64).alias("series"))
        out.append(_long(s, scope))
    return pl.concat(out) if out else pl.DataFrame()


def _long(wide: pl.DataFrame, scope: str) -> pl.DataFrame:
    return (wide.unpivot(index="model", variable_name="metric", value_name="value")
            .with_columns(pl.lit(scope).alias("scope"), pl.col("value").cast(pl.Float64))
            .select("scope", "model", "metric", "value").sort("model", "metric"))
