"""Workload backtesting: the cut-offs, the choice of model per series, interval calibration and
the scores, all on one long frame of backtest forecasts (see ``workload.forecast_series``).

Rolling origins are spaced a horizon apart by default, so their windows do not overlap and each
origin's residuals are all in the past for the next one. That makes the backtest nested: at
outer origin k the ranking, the model choice, the combination's members and the interval
calibration use only the inner windows (origins before k), and the score is taken on origin
k's window. Every figure called "backtest" is this outer score (from the second origin on).
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from forecasts import calendar, scoring
from forecasts.workload import COMBO, NAIVE364, PROPHET, SNAIVE7

SELECTED = "selected"
ROLLING = "rolling"
FINAL = "final"
COMBO_SIZE = 3  # models in the combination
BASELINES = (SNAIVE7, NAIVE364)  # the single baselines a planner would otherwise use


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
    per_window = scoring.mase(frame, ["unique_id", "cutoff", "model"]).filter(pl.col("mase").is_not_nan())
    return per_window.group_by("unique_id", "model").agg(pl.col("mase").mean(), pl.len().alias("windows"))


def rank_models(frame: pl.DataFrame) -> dict[str, list[str]]:
    """Per series, the models ordered by mean MASE on ``frame``'s windows (best first; the
    combination and the selection itself are not ranked)."""
    scores = series_scores(frame.filter(~pl.col("model").is_in([COMBO, SELECTED]))).sort("unique_id", "mase", "model")
    return {uid: g["model"].to_list() for (uid,), g in scores.group_by("unique_id", maintain_order=True)}


def combine(frame: pl.DataFrame, ranking: dict[str, list[str]], k: int = COMBO_SIZE) -> pl.DataFrame:
    """The equal-weight mean of each series' ``k`` best-ranked models (a robust choice in the M4
    and M5 competitions), as rows of model ``COMBO`` over the same windows and days as ``frame``.
    Series with fewer than two ranked models get none."""
    members = pl.DataFrame([{"unique_id": uid, "model": m} for uid, ms in ranking.items() if len(ms) >= 2
                            for m in ms[:k]], schema={"unique_id": pl.String, "model": pl.String})
    if members.is_empty() or frame.is_empty():
        return frame.head(0)
    keys = ["unique_id", "window", "cutoff", "ds"]
    parts = frame.join(members, on=["unique_id", "model"])
    comb = parts.group_by(keys).agg(pl.col("yhat").mean(), pl.col("yhat").null_count().alias("_missing"),
                                    pl.col("y").first(), pl.col("h").first(), pl.col("scale").first())
    comb = comb.filter(pl.col("_missing") == 0).drop("_missing").with_columns(pl.lit(COMBO).alias("model"))
    return pl.concat([frame.head(0), comb], how="diagonal_relaxed").select(frame.columns)


def choose_models(frame: pl.DataFrame, keep_within: float = 0.05) -> pl.DataFrame:
    """The model each series uses, with the reason, from the MASE of every candidate on
    ``frame``'s windows (the inner windows of a nested backtest): the best candidate, except
    that Prophet is kept where it is not worse than the best by more than ``keep_within``.
    Columns ``unique_id, model, reason`` and ``mase_<model>`` per candidate (null where it has
    no score) and ``scores`` (JSON of every candidate's MASE)."""
    scores = series_scores(frame.filter(pl.col("model") != SELECTED))
    models = sorted(set(scores["model"]))
    rows = []
    for (uid,), g in scores.group_by("unique_id", maintain_order=True):
        by = dict(zip(g["model"], g["mase"], strict=True))
        best = min(by, key=lambda m: (by[m], m))
        p = by.get(PROPHET)
        if p is None:
            model, reason = best, f"Prophet failed or had no backtest: best candidate {best} (MASE {by[best]:.3f})"
        elif p <= by[best] * (1 + keep_within):
            model = PROPHET
            reason = (f"Prophet MASE {p:.3f} is the best" if best == PROPHET else
                      f"Prophet MASE {p:.3f} within {keep_within:.0%} of the best, {best} {by[best]:.3f}: kept")
        else:
            model, reason = best, (f"{best} MASE {by[best]:.3f} is {1 - by[best] / p:.0%} below Prophet's {p:.3f} "
                                   f"(more than {keep_within:.0%})")
        rows.append({"unique_id": uid, "model": model, "reason": reason,
                     **{f"mase_{m}": by.get(m) for m in models},
                     "scores": json.dumps({m: round(v, 4) for m, v in sorted(by.items())})})
    schema = {"unique_id": pl.String, "model": pl.String, "reason": pl.String,
              **{f"mase_{m}": pl.Float64 for m in models}, "scores": pl.String}
    return pl.DataFrame(rows, schema=schema)


def with_combination(frame: pl.DataFrame, inner: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus the combination of each series' best models as ranked on ``inner``."""
    return pl.concat([frame, combine(frame, rank_models(inner))], how="diagonal_relaxed")


def calibrate_final(frame: pl.DataFrame, backtest: pl.DataFrame, freq: str = "D") -> pl.DataFrame:
    """``frame``'s forecasts with intervals calibrated on all of ``backtest``'s residuals."""
    return scoring.apply_calibration(frame, scoring.fit_calibration(backtest, freq=freq), freq=freq)


def out_of_sample(rolling: pl.DataFrame, keep_within: float, freq: str = "D") -> pl.DataFrame:
    """The nested backtest: the rolling frame from the second origin on (the outer windows),
    each with the combination, calibrated intervals and a ``selected`` model, where the ranking,
    the choice and the calibration use only the earlier origins' windows, cut at the outer
    cut-off (the inner windows: what production would have known). Everything reported as the
    backtest score comes from these rows."""
    cutoffs = sorted(rolling["cutoff"].unique().to_list())
    out = []
    for c in cutoffs[1:]:
        inner = rolling.filter((pl.col("cutoff") < c) & (pl.col("ds") <= c))
        inner = with_combination(inner, inner)
        now = with_combination(rolling.filter(pl.col("cutoff") == c), inner)
        now = scoring.apply_calibration(now, scoring.fit_calibration(inner, freq=freq), freq=freq)
        choice = choose_models(inner, keep_within).select("unique_id", pl.col("model").alias("_chosen"))
        picked = now.join(choice, on="unique_id").filter(pl.col("model") == pl.col("_chosen")).drop("_chosen")
        out += [now, picked.with_columns(pl.lit(SELECTED).alias("model"))]
    return pl.concat(out, how="diagonal_relaxed") if out else rolling.head(0)


def _relative(per: pl.DataFrame, baseline: str, keys: list[str]) -> pl.DataFrame:
    base = per.filter(pl.col("model") == baseline).select(*keys, pl.col("mase").alias("_base"))
    return per.join(base, on=keys, how="inner")


def summarize_rolling(oos: pl.DataFrame, rolling: pl.DataFrame, freq: str = "D") -> pl.DataFrame:
    """Long summary ``scope, model, metric, value`` of the nested backtest, all on the outer
    windows (from the second origin): MASE, MASE relative to seasonal naive and to the best
    single baseline (the naive method with the lowest MASE over the scope), win rate against
    seasonal naive, interval coverage per level and per horizon bucket (``coverage_80_h1-7``),
    the share of rows whose interval fell back to the model's own, and raw Prophet coverage
    (its own intervals, where the run computed them). Scope ``rolling``, and
    ``rolling:<level>`` per level of the hierarchy (total, region, region_service)."""
    keys = ["unique_id", "cutoff"]
    per = scoring.mase(oos, [*keys, "model"]).filter(pl.col("mase").is_not_nan())
    rel_all = _relative(per, SNAIVE7, keys)
    cov_rows = oos.filter(pl.col("y").is_not_null() & pl.col("yhat_lower_80").is_not_null()) \
        .with_columns(scoring.bucket(pl.col("h"), freq).alias("_bucket"))
    raw_rows = oos.filter((pl.col("model") == PROPHET) & pl.col("raw_lo80").is_not_null() & pl.col("y").is_not_null())
    out = []
    by_level = dict(_levels(rel_all))
    cov_by = dict(_levels(cov_rows)) if not cov_rows.is_empty() else {}
    raw_by = dict(_levels(raw_rows)) if not raw_rows.is_empty() else {}
    all_rows = dict(_levels(oos.filter(pl.col("y").is_not_null())))
    for suffix, rel in by_level.items():
        rows = rel.group_by("model").agg(
            pl.col("mase").mean().alias("mase"),
            (pl.col("mase").mean() / pl.col("_base").mean()).alias("mase_rel_snaive7"),
            (pl.col("mase") < pl.col("_base")).mean().alias("win_rate_vs_snaive7"),
            pl.col("unique_id").n_unique().cast(pl.Float64).alias("series"),
            pl.len().cast(pl.Float64).alias("windows"))
        base = rows.filter(pl.col("model").is_in(list(BASELINES)))
        if base.height:
            best = base.sort("mase").row(0, named=True)
            rows = rows.with_columns((pl.col("mase") / best["mase"]).alias("mase_rel_best_baseline"),
                                     pl.lit(BASELINES.index(best["model"]), dtype=pl.Float64).alias("best_baseline"))
        if suffix in cov_by:
            g = cov_by[suffix]
            aggs = [scoring.coverage("yhat_lower_80", "yhat_upper_80").alias("coverage_80"),
                    scoring.coverage("yhat_lower_95", "yhat_upper_95").alias("coverage_95")]
            for label in scoring.bucket_labels(freq):
                inb = pl.col("_bucket") == label
                for lv in (80, 95):
                    inside = (pl.col("y") >= pl.col(f"yhat_lower_{lv}")) & (pl.col("y") <= pl.col(f"yhat_upper_{lv}"))
                    aggs.append(inside.filter(inb).mean().alias(f"coverage_{lv}_h{label}"))
            rows = rows.join(g.group_by("model").agg(aggs), on="model", how="left")
        if suffix in all_rows and "interval_source" in oos.columns:
            rows = rows.join(all_rows[suffix].group_by("model").agg(
                (pl.col("interval_source") == "model").mean().alias("interval_fallback_share")), on="model", how="left")
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
