"""The workload benchmark's hindsight figures (tests/benchmarks/workload_realdata.py) on a tiny
backtest whose errors are known, so the oracle printed beside each result means what it says."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import workload_realdata as wr  # noqa: E402

D = dt.date


def _case() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two series of 10 with 16 every third day, three origins (the first only chooses), one
    scored day per window. Errors per (series, outer window): seasonal naive 4; model a 1 then
    3; model b 3 then 1 (series s) and 2, 2 (series t)."""
    days = [D(2026, 1, 1) + dt.timedelta(days=k) for k in range(60)]
    long = pl.DataFrame({"unique_id": ["s"] * 60 + ["t"] * 60, "ds": days * 2,
                         "y": [16.0 if k % 3 == 0 else 10.0 for k in range(60)] * 2})
    cut = [D(2026, 1, 20), D(2026, 1, 30), D(2026, 2, 9)]
    err = {("s", 1): {"a": 1, "b": 3}, ("s", 2): {"a": 3, "b": 1}, ("t", 1): {"a": 1, "b": 2}, ("t", 2): {"a": 3, "b": 2}}
    rows = []
    for uid in ("s", "t"):
        for i, c in enumerate(cut):
            ds = c + dt.timedelta(days=3)
            y = 16.0 if (ds - days[0]).days % 3 == 0 else 10.0
            e = err.get((uid, i), {"a": 0, "b": 0})
            rows += [("rolling", uid, c, ds, "snaive7", y, y + 4),
                     ("rolling", uid, c, ds, "prophet", y, y + e["a"]),
                     ("rolling", uid, c, ds, "ets", y, y - e["b"])]
    stored = pl.DataFrame(rows, orient="row", schema={"window_label": pl.String, "unique_id": pl.String, "cutoff": pl.Date,
                                                      "ds": pl.Date, "model": pl.String, "y": pl.Float64, "yhat": pl.Float64})
    return long, stored


def _scale(long: pl.DataFrame, cutoff: dt.date) -> float:
    y = long.filter((pl.col("unique_id") == "s") & (pl.col("ds") <= cutoff))["y"].to_numpy()
    return float(np.mean(np.abs(y[7:] - y[:-7])))


def test_hindsight_choice_per_window_per_series_and_best_fixed_mean():
    long, stored = _case()
    out = wr.hindsight_choice(long, stored)
    k1, k2 = (1 / _scale(long, c) for c in (D(2026, 1, 30), D(2026, 2, 9)))  # MASE = error / scale
    naive = (4 * k1 + 4 * k2) / 2  # the same for both series

    def rel(per_cell: dict[tuple[str, int], float]) -> float:  # mean over (series, window) ÷ the naive's
        return sum(e * (k1 if w == 1 else k2) for (_, w), e in per_cell.items()) / len(per_cell) / naive

    # Best per (series, window): 1, 1 (s); 1, 2 (t).
    assert out["oracle_window"] == pytest.approx(rel({("s", 1): 1, ("s", 2): 1, ("t", 1): 1, ("t", 2): 2}))
    # Best per series, the same model in both windows: s: a (1, 3) or b (3, 1); t: a (1, 3) or b (2, 2).
    best_s = min(rel({("s", 1): 1, ("s", 2): 3}), rel({("s", 1): 3, ("s", 2): 1}))
    best_t = min(rel({("t", 1): 1, ("t", 2): 3}), rel({("t", 1): 2, ("t", 2): 2}))
    assert out["oracle_series"] == pytest.approx((best_s + best_t) / 2)
    assert out["oracle_window"] < out["oracle_series"]
    # The mean of prophet (+e_a) and ets (-e_b) errs |e_a - e_b| / 2: 1, 1 (s), 0.5, 0.5 (t),
    # better than any single model: the best fixed subset is the pair.
    assert out["best_fixed_combination"] == pytest.approx(rel({("s", 1): 1, ("s", 2): 1, ("t", 1): 0.5, ("t", 2): 0.5}))
    assert out["best_fixed_members"] == "prophet+ets"


def test_coverage_spread_brackets_the_bucket_coverage():
    long, stored = _case()
    sel = stored.filter(pl.col("model") == "ets").with_columns(
        pl.lit("selected").alias("model"), (pl.col("yhat") - 1.5).alias("yhat_lower_80"), (pl.col("yhat") + 1.5).alias("yhat_upper_80"),
        (pl.col("yhat") - 2.5).alias("yhat_lower_95"), (pl.col("yhat") + 2.5).alias("yhat_upper_95"))
    spread = wr.coverage_spread(pl.concat([stored, sel], how="diagonal_relaxed"))
    # Outer cells: errors 3, 1, 2, 2 -> covered at 80% (±1.5) only by the error-1 cell: 1 of 4;
    # at 95% (±2.5) three of 4. Resampling whole cells ranges between all and none of them.
    lo, hi = spread["1-7"]["80"]
    assert 0 <= lo <= 0.25 <= hi <= 0.75
    lo, hi = spread["1-7"]["95"]
    assert 0.25 <= lo <= 0.75 <= hi <= 1
