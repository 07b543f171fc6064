"""Scores and interval calibration, on long frames of backtest forecasts
(``unique_id, cutoff, ds, y, model, yhat, scale``).

Intervals are conformal: empirical quantiles of scale-free backtest residuals (log ratio of
actual to forecast, divided by the series' own mean absolute log ratio), per horizon bucket,
from the windows before the ones they are applied to (see ``fit_calibration``). Where a series
has too few residuals the model's own interval stands in, and ``interval_source`` says so.
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


def _z(y: pl.Expr, yhat: pl.Expr) -> pl.Expr:
    # Scale-free: the log ratio of actual to forecast (+1 keeps zero counts finite). Service
    # volumes err in proportion to their level (a busy Monday misses by more calls than a quiet
    # Sunday), and over-dispersed, drifting real series break the Poisson sqrt scaling used before.
    return (y.clip(0) + 1).log() - (yhat.clip(0) + 1).log()


def _conformal_level(n: int, p: float) -> float:
    """The empirical quantile level that covers ``p`` of a new point from ``n`` residuals."""
    if p >= 0.5:
        return min(1.0, math.ceil((n + 1) * p) / n)
    return max(0.0, math.floor((n + 1) * p) / n)


def _quantiles(u: np.ndarray, levels: tuple[int, ...]) -> dict[str, float]:
    # Symmetric in the log ratio: the conformal quantile of |u|. Asymmetric quantiles learn the
    # calibration windows' bias (a forecast that ran high all through one window), which with
    # the few windows a backtest has does not carry over to the next one.
    a = np.abs(u)
    out = {}
    for lv in levels:
        q = float(np.quantile(a, _conformal_level(len(a), lv / 100)))
        out[f"q_lo{lv}"], out[f"q_hi{lv}"] = -q, q
    return out


def fit_calibration(residuals: pl.DataFrame, levels: tuple[int, ...] = LEVELS, freq: str = "D",
                    min_n: int = MIN_RESIDUALS) -> pl.DataFrame:
    """Conformal interval calibration per ``unique_id, model, bucket`` from backtest rows with
    ``y``, ``yhat`` and ``h``. Each residual is the log ratio z = log(y+1) - log(yhat+1); a
    series' spread ``s`` is its mean |z|; the bucket's quantiles of z / s are pooled over the
    run's series (every series of the run, same model and horizon bucket), so a series needs
    only enough residuals to measure its own spread. Where a bucket has fewer than ``min_n``
    pooled residuals the quantiles over all horizons stand in (``source`` says which). Series
    with too few residuals for ``s`` get no row: ``apply_calibration`` then falls back to the
    model's own interval. Columns ``unique_id, model, bucket, s, q_lo{L}, q_hi{L}, source``."""
    schema = {"unique_id": pl.String, "model": pl.String, "bucket": pl.String, "s": pl.Float64,
              **{f"q_{side}{lv}": pl.Float64 for lv in levels for side in ("lo", "hi")}, "source": pl.String}
    rows = residuals.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null()).with_columns(
        _z(pl.col("y"), pl.col("yhat")).alias("z"), bucket(pl.col("h"), freq).alias("bucket"))
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    spread = rows.group_by("unique_id", "model").agg(pl.col("z").abs().mean().alias("s"), pl.len().alias("n")) \
        .filter((pl.col("n") >= MIN_SERIES_RESIDUALS) & (pl.col("s") > 0)).drop("n")
    rows = rows.join(spread, on=["unique_id", "model"]).with_columns((pl.col("z") / pl.col("s")).alias("u"))
    records = []
    for (model,), g in rows.group_by("model"):
        overall = _quantiles(g["u"].to_numpy(), levels) if g.height >= min_n else None
        for label in bucket_labels(freq):
            u = g.filter(pl.col("bucket") == label)["u"].to_numpy()
            if len(u) >= min_n:
                records.append({"model": model, "bucket": label, **_quantiles(u, levels), "source": "conformal:bucket"})
            elif overall is not None:
                records.append({"model": model, "bucket": label, **overall, "source": "conformal:all-horizons"})
    if not records:
        return pl.DataFrame(schema=schema)
    quant = pl.DataFrame(records)
    return spread.join(quant, on="model").select(list(schema))


def apply_calibration(forecasts: pl.DataFrame, calibration: pl.DataFrame,
                      levels: tuple[int, ...] = LEVELS, freq: str = "D") -> pl.DataFrame:
    """Adds ``yhat_lower_{L}, yhat_upper_{L}`` (clipped at 0) and ``interval_source`` to a frame
    with ``unique_id, model, h, yhat`` (and the model's own ``raw_lo{L}, raw_hi{L}`` where it has
    them). Rows without calibration take the model's own interval (``interval_source`` =
    ``model``), or none (``none``)."""
    out = forecasts.with_columns(bucket(pl.col("h"), freq).alias("bucket")).join(
        calibration, on=["unique_id", "model", "bucket"], how="left")
    base = (pl.col("yhat").clip(0) + 1).log()
    has_cal = pl.col("s").is_not_null()
    for lv in levels:
        lo = (base + pl.col(f"q_lo{lv}") * pl.col("s")).exp() - 1
        hi = (base + pl.col(f"q_hi{lv}") * pl.col("s")).exp() - 1
        raw_lo = pl.col(f"raw_lo{lv}") if f"raw_lo{lv}" in out.columns else pl.lit(None, dtype=pl.Float64)
        raw_hi = pl.col(f"raw_hi{lv}") if f"raw_hi{lv}" in out.columns else pl.lit(None, dtype=pl.Float64)
        out = out.with_columns(
            pl.when(has_cal).then(pl.min_horizontal(lo, pl.col("yhat")).clip(0)).otherwise(raw_lo).alias(f"yhat_lower_{lv}"),
            pl.when(has_cal).then(pl.max_horizontal(hi, pl.col("yhat"))).otherwise(raw_hi).alias(f"yhat_upper_{lv}"))
    out = out.with_columns(pl.when(has_cal).then(pl.col("source"))
                           .when(pl.col(f"yhat_lower_{levels[0]}").is_not_null()).then(pl.lit("model"))
                           .otherwise(pl.lit("none")).alias("interval_source"))
    return out.drop([c for c in ("s", "source", *[c for c in calibration.columns if c.startswith("q_")])
                     if c in out.columns])


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
