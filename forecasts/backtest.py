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
from forecasts.workload import COMBO, ETS, MEAN, MSTL, NAIVE364, PROPHET, SNAIVE7, SWA

SELECTED = "selected"
ROLLING = "rolling"
FINAL = "final"
COMBO_SIZE = 3  # models in the combination
BASELINES = (SNAIVE7, NAIVE364)  # the single baselines a planner would otherwise use
# The default forecast: the trimmed mean of these diverse models (those a series has): each
# day, the highest and the lowest forecast are dropped and the rest averaged (with four or more
# members). The M4 and M5 competitions found combinations of diverse methods more robust than
# picking one model per series on a few backtest windows, and a trimmed mean is robust to the
# one member that runs away (Prophet's trend after a level shift, the annual naive after a
# changed year), which an equal-weight mean follows a fifth of the way (Jose & Winkler 2008).
# One model replaces it only where the inner windows show it clearly better
# (``choose_models``). On the days the calendar marks (holidays, festival waves, a planner's
# events) only the models given the calendar vote: the others forecast an ordinary day there,
# wrong in a known direction.
MEAN_MEMBERS = (PROPHET, ETS, MSTL, SWA, NAIVE364)
TRIM_MIN_MEMBERS = 4  # fewer members: their plain mean (nothing to trim from three)
CALENDAR_MEMBERS = (PROPHET,)


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
    combinations and the selection itself are not ranked)."""
    scores = series_scores(frame.filter(~pl.col("model").is_in([COMBO, MEAN, SELECTED]))).sort("unique_id", "mase", "model")
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
    extra = [pl.col(c).first() for c in ("recent_scale", "calendar_day") if c in frame.columns]
    comb = parts.group_by(keys).agg(pl.col("yhat").mean(), pl.col("yhat").null_count().alias("_missing"),
                                    pl.col("y").first(), pl.col("h").first(), pl.col("scale").first(), *extra)
    comb = comb.filter(pl.col("_missing") == 0).drop("_missing").with_columns(pl.lit(COMBO).alias("model"))
    return pl.concat([frame.head(0), comb], how="diagonal_relaxed").select(frame.columns)


def mean_of_models(frame: pl.DataFrame, members: tuple[str, ...] = MEAN_MEMBERS,
                   calendar_members: tuple[str, ...] = CALENDAR_MEMBERS) -> pl.DataFrame:
    """Rows of model ``MEAN``: per series, window and day the trimmed mean of the members'
    forecasts that exist there (at least two; a model that failed on a series is left out, and
    the annual naive is absent before a year of history): with ``TRIM_MIN_MEMBERS`` or more, the
    mean without the highest and the lowest; on a day the calendar marks (``calendar_day``), the
    mean of the ``calendar_members`` there, where they have a forecast."""
    keys = ["unique_id", "window", "cutoff", "ds"]
    parts = frame.filter(pl.col("model").is_in(list(members)) & pl.col("yhat").is_not_null())
    if parts.is_empty():
        return frame.head(0)
    extra = [pl.col(c).first() for c in ("recent_scale", "calendar_day") if c in frame.columns]
    aware = pl.col("model").is_in(list(calendar_members))
    n = pl.len()
    trimmed = pl.when(n >= TRIM_MIN_MEMBERS).then(
        (pl.col("yhat").sum() - pl.col("yhat").min() - pl.col("yhat").max()) / (n - 2)).otherwise(pl.col("yhat").mean())
    comb = parts.group_by(keys).agg(trimmed.alias("yhat"), pl.col("yhat").filter(aware).mean().alias("_aware"),
                                    pl.len().alias("_members"), pl.col("y").first(),
                                    pl.col("h").first(), pl.col("scale").first(), *extra)
    if "calendar_day" in comb.columns:
        comb = comb.with_columns(pl.when(pl.col("calendar_day").fill_null(False) & pl.col("_aware").is_not_null())
                                 .then(pl.col("_aware")).otherwise(pl.col("yhat")).alias("yhat"))
    comb = comb.filter(pl.col("_members") >= 2).drop("_members", "_aware").with_columns(pl.lit(MEAN).alias("model"))
    return pl.concat([frame.head(0), comb], how="diagonal_relaxed").select(frame.columns)


def choose_models(frame: pl.DataFrame, margin: float = 0.3) -> pl.DataFrame:
    """The model each series uses, with the reason, from the MASE of every candidate on
    ``frame``'s windows (the inner windows of a nested backtest): the trimmed mean of the
    diverse models (``MEAN``), unless one candidate's MASE is lower than the mean's by more than
    ``margin`` (a single model where the windows show it clearly better: a few windows rank
    models noisily, and a wrong pick costs more than the mean's small loss to the right one).
    Series without the mean fall back to Prophet, or to the best candidate where Prophet has no
    score. Columns ``unique_id, model, reason`` and ``mase_<model>`` per candidate (null where it
    has no score) and ``scores`` (JSON of every candidate's MASE)."""
    scores = series_scores(frame.filter(pl.col("model") != SELECTED))
    models = sorted(set(scores["model"]))
    rows = []
    for (uid,), g in scores.group_by("unique_id", maintain_order=True):
        by = dict(zip(g["model"], g["mase"], strict=True))
        default = MEAN if MEAN in by else PROPHET if PROPHET in by else None
        singles = {m: v for m, v in by.items() if m != default}
        best = min(singles, key=lambda m: (singles[m], m)) if singles else default
        if default is None:
            model, reason = best, f"no mean or Prophet score: best candidate {best} (MASE {by[best]:.3f})"
        elif best != default and by[best] < by[default] * (1 - margin):
            model, reason = best, (f"{best} MASE {by[best]:.3f} is {1 - by[best] / by[default]:.0%} below the "
                                   f"{'mean' if default == MEAN else 'Prophet'}'s {by[default]:.3f} (more than {margin:.0%})")
        else:
            name = "trimmed mean of the models" if default == MEAN else "Prophet"
            model, reason = default, (f"{name}, MASE {by[default]:.3f}" + (
                f"; the best single model, {best} {by[best]:.3f}, is not more than {margin:.0%} better"
                if best != default else ""))
        rows.append({"unique_id": uid, "model": model, "reason": reason,
                     **{f"mase_{m}": by.get(m) for m in models},
                     "scores": json.dumps({m: round(v, 4) for m, v in sorted(by.items())})})
    schema = {"unique_id": pl.String, "model": pl.String, "reason": pl.String,
              **{f"mase_{m}": pl.Float64 for m in models}, "scores": pl.String}
    return pl.DataFrame(rows, schema=schema)


def with_combination(frame: pl.DataFrame, inner: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus the trimmed mean of the diverse models and the combination of each
    series' best models as ranked on ``inner``."""
    return pl.concat([frame, mean_of_models(frame), combine(frame, rank_models(inner))], how="diagonal_relaxed")


def calibrate_final(frame: pl.DataFrame, backtest: pl.DataFrame, freq: str = "D") -> pl.DataFrame:
    """``frame``'s forecasts with intervals calibrated on all of ``backtest``'s residuals."""
    return scoring.apply_calibration(frame, scoring.fit_calibration(backtest, freq=freq), freq=freq)


def out_of_sample(rolling: pl.DataFrame, margin: float, freq: str = "D") -> pl.DataFrame:
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
        choice = choose_models(inner, margin).select("unique_id", pl.col("model").alias("_chosen"))
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
