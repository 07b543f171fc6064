"""Workload: Prophet against the seasonal naive, the model-choice rule, interval calibration and
the backtest's cut-offs. Prophet fits take about a second each, so there are few."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from forecasts import backtest as bt
from forecasts import scoring, synthetic, workload
from forecasts.executor import map_series

D = dt.date


def test_naive_baselines():
    y = np.arange(1.0, 15.0)  # 1..14
    assert workload.seasonal_naive(y, 9, 7).tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]
    assert workload.lag_naive(y, 3, 10).tolist() == [5, 6, 7]  # y[t-10] for t = 14, 15, 16 (0-based)
    # MASE scale: every lag-7 difference of 1..14 is 7.
    assert workload.mase_scale(y, 7) == 7.0


def test_rolling_and_event_cutoffs():
    cuts = bt.rolling_cutoffs(D(2024, 1, 1), D(2026, 10, 31), 84, 4)
    assert cuts == [D(2025, 11, 29), D(2026, 2, 21), D(2026, 5, 16), D(2026, 8, 8)]  # windows end on 31 Oct
    labels = [w[0] for w in bt.event_windows(D(2024, 1, 1), D(2026, 10, 31), 14, 42)]
    # Double 11 2024 has no year of history before it; Double 11 2026 is after the data.
    assert labels == ["event:spring_festival:2025", "event:festival_618:2025", "event:double11:2025",
                      "event:spring_festival:2026", "event:festival_618:2026"]
    assert bt.event_windows(D(2024, 1, 1), D(2026, 10, 31), 14, 42)[0][1] == D(2025, 1, 15)  # 29 Jan - 14 days


def _frame(rows):
    return pl.DataFrame(rows, orient="row", schema={"unique_id": pl.String, "cutoff": pl.Date, "ds": pl.Date, "y": pl.Float64,
                                      "model": pl.String, "yhat": pl.Float64, "scale": pl.Float64})


def test_prophet_is_kept_within_five_percent_of_the_best():
    c, d = D(2026, 1, 1), D(2026, 1, 2)
    # MASE = |error| / scale: prophet 1.00, mstl 0.96 (4% better: Prophet kept) on series a;
    # prophet 1.00, mstl 0.90 (10% better: mstl used) on series b.
    frame = _frame([("a", c, d, 10, "prophet", 9.0, 1), ("a", c, d, 10, "mstl", 9.04, 1), ("a", c, d, 10, "snaive7", 8, 1),
                    ("b", c, d, 10, "prophet", 9.0, 1), ("b", c, d, 10, "mstl", 9.1, 1), ("b", c, d, 10, "snaive7", 8, 1)])
    choice = {r["unique_id"]: r for r in bt.choose_models(frame, "mstl", 0.05).iter_rows(named=True)}
    assert choice["a"]["model"] == "prophet" and "within 5%" in choice["a"]["reason"]
    assert choice["b"]["model"] == "mstl" and "10% below" in choice["b"]["reason"]


def test_calibrated_intervals_cover_what_they_promise():
    rng = np.random.default_rng(0)
    day = D(2026, 1, 1)

    def draws(n):
        yhat = rng.uniform(20, 200, n)
        y = yhat + rng.standard_t(4, n) * np.sqrt(yhat)  # heavy tails, spread growing with the level
        return pl.DataFrame({"unique_id": "s", "model": "prophet", "ds": day, "y": y, "yhat": yhat})

    cal = scoring.fit_calibration(draws(400))
    fresh = scoring.apply_calibration(draws(4000), cal)
    cov80 = fresh.select(scoring.coverage("yhat_lower_80", "yhat_upper_80")).item()
    cov95 = fresh.select(scoring.coverage("yhat_lower_95", "yhat_upper_95")).item()
    assert 0.76 <= cov80 <= 0.84 and 0.93 <= cov95 <= 0.97


def test_out_of_sample_scoring_uses_only_earlier_origins():
    c1, c2 = D(2026, 1, 1), D(2026, 1, 8)
    rows = []
    for c, err in ((c1, 1.0), (c2, 2.0)):
        for k in range(1, 8):
            ds = c + dt.timedelta(days=k)
            rows += [("s", c, ds, 10.0, "prophet", 10.0 - err, 1.0), ("s", c, ds, 10.0, "mstl", 10.0 - 3 * err, 1.0),
                     ("s", c, ds, 10.0, "snaive7", 5.0, 1.0)]
    oos = bt.out_of_sample(_frame(rows), "mstl", 0.05)
    assert set(oos["cutoff"]) == {c2}  # scored from the second origin on
    # Calibrated on origin 1's residuals only: y - yhat = 10 - 9 = 1 everywhere, z = 1 / sqrt(9) = 1/3,
    # so at origin 2 the band around yhat 8 collapses to 8 + sqrt(8) / 3 = 8.943.
    p = oos.filter(pl.col("model") == "prophet").row(0, named=True)
    assert p["yhat_lower_80"] == pytest.approx(8 + 8 ** 0.5 / 3) == p["yhat_upper_80"]
    assert set(oos.filter(pl.col("model") == "selected")["yhat"]) == {8.0}  # chose prophet from origin 1


def test_prophet_beats_seasonal_naive_on_a_seasonal_series():
    long = synthetic.daily_workload(n_series=2, seed=5, start=D(2024, 1, 1), end=D(2025, 12, 31))
    windows = [("rolling", D(2025, 10, 15), 56)]  # covers Double 11 and its wave
    tasks = workload.tasks_from_long(long, windows, {"challenger": "mstl"})
    res = pl.concat(map_series(workload.forecast_series, tasks, workers=1))
    assert res["error"].null_count() == res.height
    mase = scoring.mase(res, ["unique_id", "model"]).pivot(on="model", index="unique_id", values="mase")
    assert (mase["prophet"] < 0.8 * mase["snaive7"]).all()
    assert (mase["prophet"] < mase["naive364"]).all()


def test_short_history_gets_prophet_without_invented_intervals():
    from forecasts import run_workload

    long = synthetic.daily_workload(n_series=1, seed=6, start=D(2026, 1, 1), end=D(2026, 4, 30))
    run = run_workload.forecast(long, {"forecast": {"horizon_days": 84}}, 1, "test")
    series = run.tables["forecast_series"].row(0, named=True)
    assert series["model"] == "prophet" and "no backtest window" in series["reason"]
    chosen = run.tables["forecast_values"].filter("chosen")
    assert chosen.height == 84 and chosen["yhat_lower_80"].null_count() == 84  # nothing to calibrate on
