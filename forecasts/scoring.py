"""Scores and interval calibration, on long frames of backtest forecasts
(``unique_id, cutoff, ds, h, y, model, yhat, scale, recent_scale``).

Intervals are conformal: empirical quantiles of backtest residuals measured in units of each
series' recent scale (its mean absolute seasonal difference over the eight weeks before the
origin), pooled over the run's series, from the windows before the ones they are applied to
(see ``fit_calibration``). The unit moves with the series, so an interval widens when the
series gets busier or noisier after the windows it was calibrated on; a fixed per-series spread
did not (real series whose later windows erred 31% more were covered 68% at 80%). Errors grow
with the horizon: each horizon bucket has its own typical error (the mean residual of the
bucket), and the shape of the tail (the quantile of residual ÷ that mean) is pooled over all
horizons, so a bucket of a week's days is not left to place a 95% bound on a few dozen
residuals. Recent windows weigh more (half as much per ``HALF_LIFE_DAYS`` of age): drifting
service series err like their recent past. Where a series has too few residuals of its own
the model's own interval stands in, and ``interval_source`` says so.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

LEVELS = (80, 95)
# Horizon buckets per frequency: the last step of each bucket but the open last one
# (daily: days 1-7, 8-28, 29+; weekly: week 1, weeks 2-4, 5+).
BUCKET_ENDS = {"D": (7, 28), "W": (1, 4)}
MIN_RESIDUALS = 40  # fewer residuals than this cannot place a 95% conformal bound (needs n >= 39)
MIN_SERIES_RESIDUALS = 14  # to measure a series' own spread
# A residual's weight halves per this many days between its window's origin and the latest
# origin: one default horizon, so the window just before the latest counts half as much.
HALF_LIFE_DAYS = 84


def bucket_labels(freq: str = "D") -> list[str]:
    """Labels of the horizon buckets of a frequency, in order (``1-7``, ``8-28``, ``29+``)."""
    ends = BUCKET_ENDS[freq]
    starts = (1, *(e + 1 for e in ends))
    return [f"{a}-{b}" if a != b else f"{a}" for a, b in zip(starts, ends, strict=False)] + [f"{starts[-1]}+"]


def bucket(h: pl.Expr, freq: str = "D") -> pl.Expr:
    """The horizon bucket label of horizon step ``h`` (1 = the first period after the cut-off)."""
    labels = bucket_labels(freq)
    expr = pl.lit(labels[-1])
    for end, label in reversed(list(zip(BUCKET_ENDS[freq], labels[:-1], strict=True))):
        expr = pl.when(h <= end).then(pl.lit(label)).otherwise(expr)
    return expr


def _conformal_level(n: int, p: float) -> float:
    """The empirical quantile level that covers ``p`` of a new point from ``n`` residuals."""
    if p >= 0.5:
        return min(1.0, math.ceil((n + 1) * p) / n)
    return max(0.0, math.floor((n + 1) * p) / n)


def _weighted_quantile(a: np.ndarray, w: np.ndarray, level: float) -> float:
    """The smallest ``a`` whose share of the total weight at or below it reaches ``level``."""
    order = np.argsort(a, kind="stable")
    cum = np.cumsum(w[order])
    return float(a[order][min(int(np.searchsorted(cum, level * cum[-1] - 1e-12)), len(a) - 1)])


def _quantiles(u: np.ndarray, w: np.ndarray, levels: tuple[int, ...]) -> dict[str, float]:
    # Symmetric: the conformal quantile of |u|. Asymmetric quantiles learn the calibration
    # windows' bias (a forecast that ran high all through one window), which with the few
    # windows a backtest has does not carry over to the next one.
    a = np.abs(u)
    return {f"q{lv}": _weighted_quantile(a, w, _conformal_level(len(a), lv / 100)) for lv in levels}


def _units(rows: pl.DataFrame) -> pl.DataFrame:
    """``u``: the absolute error in units of the row's recent scale."""
    return rows.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null() & (pl.col("recent_scale") > 0)) \
        .with_columns(((pl.col("y") - pl.col("yhat").clip(0)).abs() / pl.col("recent_scale")).alias("u"))


def fit_calibration(residuals: pl.DataFrame, levels: tuple[int, ...] = LEVELS, freq: str = "D",
                    min_n: int = MIN_RESIDUALS, half_life_days: float = HALF_LIFE_DAYS) -> pl.DataFrame:
    """Conformal interval calibration per ``unique_id, model, bucket`` from backtest rows with
    ``y``, ``yhat``, ``h``, ``cutoff`` and ``recent_scale``. Each residual is u = |y - yhat| /
    recent_scale (the series' scale at that window's origin), pooled over the run's series per
    model, weighted by recency (half per ``half_life_days`` before the latest origin). Per
    horizon bucket, m_b = the weighted mean of its u; the tail comes from all horizons
    together: z = u / m_(its bucket), and the bucket's quantile is m_b × the weighted conformal
    quantile of z. A model with fewer than ``min_n`` pooled residuals gets no calibration. A
    series gets rows only where it has ``MIN_SERIES_RESIDUALS`` residuals of its own (its errors
    were checked at all); otherwise ``apply_calibration`` falls back to the model's own interval.
    Columns ``unique_id, model, bucket, q{L}, source``."""
    schema = {"unique_id": pl.String, "model": pl.String, "bucket": pl.String,
              **{f"q{lv}": pl.Float64 for lv in levels}, "source": pl.String}
    if "recent_scale" not in residuals.columns:
        return pl.DataFrame(schema=schema)
    rows = _units(residuals).with_columns(bucket(pl.col("h"), freq).alias("bucket"))
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    if "cutoff" in rows.columns and half_life_days > 0:
        age = (pl.col("cutoff").max() - pl.col("cutoff")).dt.total_days().cast(pl.Float64)
        rows = rows.with_columns((0.5 ** (age / half_life_days)).alias("w"))
    else:
        rows = rows.with_columns(pl.lit(1.0).alias("w"))
    own = rows.group_by("unique_id", "model").agg(pl.len().alias("n")).filter(pl.col("n") >= MIN_SERIES_RESIDUALS).drop("n")
    records = []
    for (model,), g in rows.group_by("model"):
        if g.height < min_n:
            continue
        means = g.group_by("bucket").agg(((pl.col("u") * pl.col("w")).sum() / pl.col("w").sum()).alias("m"))
        overall = float((g["u"] * g["w"]).sum() / g["w"].sum())
        scale = {b: (m if m and m > 0 else overall) for b, m in means.iter_rows()}
        if not overall > 0:
            continue
        z = g.with_columns(pl.col("bucket").replace_strict(scale, default=overall, return_dtype=pl.Float64).alias("m"))
        q = _quantiles((z["u"] / z["m"]).to_numpy(), z["w"].to_numpy(), levels)
        for label in bucket_labels(freq):
            m = scale.get(label, overall)
            records.append({"model": model, "bucket": label, **{k: v * m for k, v in q.items()},
                            "source": "conformal:bucket" if label in scale else "conformal:all-horizons"})
    if not records:
        return pl.DataFrame(schema=schema)
    return own.join(pl.DataFrame(records), on="model").select(list(schema))


def apply_calibration(forecasts: pl.DataFrame, calibration: pl.DataFrame,
                      levels: tuple[int, ...] = LEVELS, freq: str = "D") -> pl.DataFrame:
    """Adds ``yhat_lower_{L}, yhat_upper_{L}`` (yhat ± q_L × recent_scale, the lower clipped at
    0) and ``interval_source`` to a frame with ``unique_id, model, h, yhat, recent_scale`` (and
    the model's own ``raw_lo{L}, raw_hi{L}`` where it has them). Rows without calibration or
    without a recent scale take the model's own interval (``interval_source`` = ``model``), or
    none (``none``)."""
    out = forecasts.with_columns(bucket(pl.col("h"), freq).alias("bucket")).join(
        calibration, on=["unique_id", "model", "bucket"], how="left")
    rs = pl.col("recent_scale") if "recent_scale" in out.columns else pl.lit(None, dtype=pl.Float64)
    has_cal = pl.col(f"q{levels[0]}").is_not_null() & (rs > 0)
    yhat = pl.col("yhat").clip(0)
    for lv in levels:
        raw_lo = pl.col(f"raw_lo{lv}") if f"raw_lo{lv}" in out.columns else pl.lit(None, dtype=pl.Float64)
        raw_hi = pl.col(f"raw_hi{lv}") if f"raw_hi{lv}" in out.columns else pl.lit(None, dtype=pl.Float64)
        out = out.with_columns(
            pl.when(has_cal).then((yhat - pl.col(f"q{lv}") * rs).clip(0)).otherwise(raw_lo).alias(f"yhat_lower_{lv}"),
            pl.when(has_cal).then(yhat + pl.col(f"q{lv}") * rs).otherwise(raw_hi).alias(f"yhat_upper_{lv}"))
    out = out.with_columns(pl.when(has_cal).then(pl.col("source"))
                           .when(pl.col(f"yhat_lower_{levels[0]}").is_not_null()).then(pl.lit("model"))
                           .otherwise(pl.lit("none")).alias("interval_source"))
    return out.drop([c for c in ("source", *[c for c in calibration.columns if c.startswith("q")])
                     if c in out.columns and c != "unique_id"])


def mase(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Mean absolute error over each group divided by its in-sample seasonal-naive scale."""
    return (frame.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null())
            .group_by(by).agg(((pl.col("y") - pl.col("yhat")).abs().mean() / pl.col("scale").first()).alias("mase"),
                              (pl.col("y") - pl.col("yhat")).abs().sum().alias("abs_error"),
                              pl.col("y").sum().alias("actual"),
                              pl.col("yhat").sum().alias("forecast"),
                              pl.len().alias("n")))


def coverage(lower: str, upper: str) -> pl.Expr:
    """Share of rows whose ``y`` lies in ``[lower, upper]`` (an expression to aggregate)."""
    return ((pl.col("y") >= pl.col(lower)) & (pl.col("y") <= pl.col(upper))).mean()


def rmsse_scale(y: np.ndarray) -> float:
    """Mean squared one-step naive difference in the training data: RMSSE's denominator."""
    if len(y) < 2:
        return float("nan")
    scale = float(np.mean(np.diff(y) ** 2))
    return scale if scale > 0 else float("nan")
