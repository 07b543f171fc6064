"""Scores and interval calibration, on long frames of backtest forecasts
(``unique_id, cutoff, ds, y, model, yhat, scale``).

Intervals are calibrated on backtest residuals (split-conformal style): for each series and
model, the empirical quantiles of the residual ``y - yhat`` divided by ``sqrt(max(yhat, 1))``
(count data: spread grows with the level, so an event week gets a wider band than a quiet
Sunday). Raw Prophet intervals come from its trend and noise model alone and cover far less
than promised on service series.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

LEVELS = (80, 95)


def _z(y: pl.Expr, yhat: pl.Expr) -> pl.Expr:
    return (y - yhat) / pl.max_horizontal(yhat, pl.lit(1.0)).sqrt()


def _conformal_level(n: int, p: float) -> float:
    """The empirical quantile level that covers ``p`` of a new point from ``n`` residuals."""
    if p >= 0.5:
        return min(1.0, math.ceil((n + 1) * p) / n)
    return max(0.0, math.floor((n + 1) * p) / n)


def fit_calibration(residuals: pl.DataFrame, levels: tuple[int, ...] = LEVELS, min_n: int = 20) -> pl.DataFrame:
    """Per ``unique_id, model``: ``z_lo{L}, z_hi{L}`` for each level L, from backtest rows with
    both ``y`` and ``yhat``. Series with fewer than ``min_n`` residuals take the model's
    quantiles over all series."""
    rows = residuals.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null()).with_columns(
        _z(pl.col("y"), pl.col("yhat")).alias("z"))
    if rows.is_empty():
        return pl.DataFrame(schema={"unique_id": pl.String, "model": pl.String,
                                    **{f"z_{s}{lv}": pl.Float64 for lv in levels for s in ("lo", "hi")}})

    def quantiles(z: np.ndarray) -> dict[str, float]:
        out = {}
        for lv in levels:
            a = (1 - lv / 100) / 2
            out[f"z_lo{lv}"] = float(np.quantile(z, _conformal_level(len(z), a)))
            out[f"z_hi{lv}"] = float(np.quantile(z, _conformal_level(len(z), 1 - a)))
        return out

    pooled = {m: quantiles(g["z"].to_numpy()) for (m,), g in rows.group_by("model")}
    records = []
    for (uid, model), g in rows.group_by("unique_id", "model"):
        z = g["z"].to_numpy()
        q = quantiles(z) if len(z) >= min_n else pooled[model]
        records.append({"unique_id": uid, "model": model, **q})
    return pl.DataFrame(records)


def apply_calibration(forecasts: pl.DataFrame, calibration: pl.DataFrame,
                      levels: tuple[int, ...] = LEVELS) -> pl.DataFrame:
    """Adds ``yhat_lower_{L}, yhat_upper_{L}`` (clipped at 0) to a frame with ``unique_id, model,
    yhat``. Series/models without calibration get null bounds."""
    out = forecasts.join(calibration, on=["unique_id", "model"], how="left")
    s = pl.max_horizontal(pl.col("yhat"), pl.lit(1.0)).sqrt()
    for lv in levels:
        lo, hi = pl.col(f"z_lo{lv}"), pl.col(f"z_hi{lv}")
        out = out.with_columns(  # (max_horizontal skips nulls: keep a missing calibration null)
            pl.when(lo.is_not_null()).then(pl.max_horizontal(pl.col("yhat") + lo * s, pl.lit(0.0)))
            .alias(f"yhat_lower_{lv}"),
            pl.when(hi.is_not_null()).then(pl.max_horizontal(pl.col("yhat") + hi * s, pl.col("yhat")))
            .alias(f"yhat_upper_{lv}"),
        )
    return out.drop([c for c in calibration.columns if c.startswith("z_")])


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
