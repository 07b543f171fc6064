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


def test_the_trimmed_mean_of_diverse_models_is_used_unless_one_model_is_clearly_better():
    c, d = D(2026, 1, 1), D(2026, 1, 2)
    # MASE = |error| / scale. The trimmed mean of prophet, ets, mstl, swa (naive364 absent: no
    # year): the highest and the lowest dropped, the middle two averaged.
    # a: forecasts 9, 9.5, 10.5, 11 -> (9.5 + 10.5) / 2 = 10, exact; no single model beats it.
    # b: prophet 9.5 (error 0.5), ets 6, mstl 6, swa 6.5 -> (6 + 6.5) / 2 = 6.25 (error 3.75; the
    #    plain mean would be 7): prophet is 87% better: used.
    # c: prophet 9 (error 1), ets 8.6, mstl 8.8, swa 9.0 -> (8.8 + 9.0) / 2 = 8.9 (error 1.1):
    #    prophet 9% better, under the 30% margin: the mean stays.
    rows = []
    for uid, fc in {"a": (9, 9.5, 10.5, 11), "b": (9.5, 6, 6, 6.5), "c": (9, 8.6, 8.8, 9.0)}.items():
        rows += [(uid, c, d, 10, m, float(v), 1) for m, v in zip(("prophet", "ets", "mstl", "swa"), fc, strict=True)]
        rows.append((uid, c, d, 10, "snaive7", 7.0, 1))
        rows.append((uid, c, d, 10, "theta", 0.0, 1))  # not a member: never in the mean
    frame = _frame(rows).with_columns(pl.lit("rolling").alias("window"), pl.lit(1).alias("h"))
    frame = pl.concat([frame, bt.mean_of_models(frame)], how="diagonal_relaxed")
    means = dict(frame.filter(pl.col("model") == "mean").select("unique_id", "yhat").iter_rows())
    assert means == pytest.approx({"a": 10.0, "b": 6.25, "c": 8.9})
    choice = {r["unique_id"]: r for r in bt.choose_models(frame, 0.3).iter_rows(named=True)}
    assert choice["a"]["model"] == "mean" and "trimmed mean" in choice["a"]["reason"]
    assert choice["b"]["model"] == "prophet" and "87% below the mean's" in choice["b"]["reason"]
    assert choice["c"]["model"] == "mean" and "not more than 30% better" in choice["c"]["reason"]
    assert choice["c"]["mase_prophet"] == pytest.approx(1.0) and choice["c"]["mase_mean"] == pytest.approx(1.1)
    # Three members: nothing to trim, their plain mean.
    three = frame.filter((pl.col("unique_id") == "b") & pl.col("model").is_in(["prophet", "ets", "swa"]))
    assert bt.mean_of_models(three)["yhat"].item() == pytest.approx((9.5 + 6 + 6.5) / 3)
    # On a day the calendar marks, only Prophet (given the calendar) votes.
    marked = frame.filter(pl.col("unique_id") == "b").with_columns(pl.lit(True).alias("calendar_day"))
    assert bt.mean_of_models(marked)["yhat"].item() == pytest.approx(9.5)
    # No mean (a single model fitted): Prophet is the default, kept unless clearly beaten.
    alone = {r["unique_id"]: r["model"] for r in
             bt.choose_models(frame.filter(pl.col("model").is_in(["prophet", "snaive7"])), 0.3).iter_rows(named=True)}
    assert alone == {"a": "prophet", "b": "prophet", "c": "prophet"}


def test_combination_is_the_mean_of_the_best_three():
    c, d = D(2026, 1, 1), D(2026, 1, 2)
    frame = _frame([("a", c, d, 10, "prophet", 9.0, 1), ("a", c, d, 10, "swa", 8.0, 1), ("a", c, d, 10, "snaive7", 11.5, 1),
                    ("a", c, d, 10, "naive364", 4.0, 1)]).with_columns(pl.lit("rolling").alias("window"), pl.lit(1).alias("h"))
    ranking = bt.rank_models(frame)
    assert ranking["a"] == ["prophet", "snaive7", "swa", "naive364"]  # errors 1, 1.5, 2, 6
    combo = bt.combine(frame, ranking)
    assert combo["model"].to_list() == ["combo"] and combo["yhat"].item() == pytest.approx((9 + 11.5 + 8) / 3)


def _residuals(rng, n_series, days, cutoff, noise, level):
    """Backtest rows of one window: each series' error is heavy-tailed, grows with the horizon
    and is proportional to its noise at the origin, which its recent scale (the mean absolute
    weekly difference before the origin, about 1.13 x the noise's sd) measures."""
    rows = []
    for i in range(n_series):
        rs = 1.13 * noise[i] * rng.uniform(0.85, 1.15)  # measured on eight weeks: not exact
        for h in range(1, days + 1):
            yhat = level[i] * (1 + 0.3 * (h % 7 == 0))
            y = max(0.0, yhat + noise[i] * (1 + h / days) * rng.standard_t(5))
            rows.append((f"s{i}", cutoff, cutoff + dt.timedelta(days=h), h, y, "prophet", yhat, rs))
    return pl.DataFrame(rows, orient="row", schema={"unique_id": pl.String, "cutoff": pl.Date, "ds": pl.Date, "h": pl.Int32,
                                                    "y": pl.Float64, "model": pl.String, "yhat": pl.Float64,
                                                    "recent_scale": pl.Float64})


def test_conformal_intervals_follow_the_recent_scale_when_a_series_gets_noisier():
    rng = np.random.default_rng(0)
    level = rng.uniform(50, 2000, 30)
    noise = level * rng.uniform(0.03, 0.3, 30)  # series as noisy as a quiet code and as steady as a total
    cal = scoring.fit_calibration(_residuals(rng, 30, 84, D(2026, 1, 1), noise, level))
    assert set(cal["source"]) == {"conformal:bucket"}
    # Later, every series is 60% noisier than in the window the intervals were calibrated on
    # (real series drift so: Toronto's later windows erred 31% more). Their recent scale says so.
    fresh = scoring.apply_calibration(_residuals(rng, 30, 84, D(2026, 4, 1), 1.6 * noise, level), cal)
    by = fresh.with_columns(scoring.bucket(pl.col("h")).alias("b")).group_by("b").agg(
        scoring.coverage("yhat_lower_80", "yhat_upper_80").alias("c80"),
        scoring.coverage("yhat_lower_95", "yhat_upper_95").alias("c95"))
    assert sorted(by["b"]) == ["1-7", "29+", "8-28"]
    for r in by.iter_rows(named=True):
        assert 0.74 <= r["c80"] <= 0.86 and 0.91 <= r["c95"] <= 0.985, r
    # Wider for a noisier series: the unit is the series' own recent scale.
    width = dict(fresh.group_by("unique_id").agg((pl.col("yhat_upper_80") - pl.col("yhat_lower_80")).mean()).iter_rows())
    noisy, steady = f"s{int(np.argmax(noise))}", f"s{int(np.argmin(noise))}"
    assert width[noisy] > 3 * width[steady]


def test_too_few_residuals_fall_back_to_the_models_own_interval_and_say_so():
    rng = np.random.default_rng(1)
    few = _residuals(rng, 1, 10, D(2026, 1, 1), [10.0], [100.0])  # 10 residuals: under 14 of its own, no pool of 40
    assert scoring.fit_calibration(few).is_empty()
    new = _residuals(rng, 1, 3, D(2026, 2, 1), [10.0], [100.0]).with_columns(
        (pl.col("yhat") * 0.5).alias("raw_lo80"), (pl.col("yhat") * 1.5).alias("raw_hi80"),
        (pl.col("yhat") * 0.3).alias("raw_lo95"), (pl.col("yhat") * 1.7).alias("raw_hi95"))
    out = scoring.apply_calibration(new, scoring.fit_calibration(few))
    assert set(out["interval_source"]) == {"model"}
    assert out["yhat_lower_80"].to_list() == new["raw_lo80"].to_list()
    # A series without residuals of its own gets no calibrated interval, even beside a pool.
    pool = _residuals(rng, 5, 84, D(2026, 1, 1), [10.0] * 5, [100.0] * 5)
    cal = scoring.fit_calibration(pool.filter(pl.col("unique_id") != "s4").vstack(
        pool.filter(pl.col("unique_id") == "s4").head(5)))
    assert "s4" not in set(cal["unique_id"]) and {"s0", "s1", "s2", "s3"} <= set(cal["unique_id"])


def _abs_residuals(cutoff, u_of_h, n_series=20, horizon=84, seed=0):
    """Rows whose |y - yhat| / recent scale is u_of_h(h) × a half-normal draw (recent scale 1)."""
    rng = np.random.default_rng(seed)
    rows = [(f"s{i}", cutoff, cutoff + dt.timedelta(days=h), h, 100.0 + u_of_h(h) * abs(rng.normal()), "m", 100.0, 1.0)
            for i in range(n_series) for h in range(1, horizon + 1)]
    return pl.DataFrame(rows, orient="row", schema={"unique_id": pl.String, "cutoff": pl.Date, "ds": pl.Date, "h": pl.Int32,
                                                    "y": pl.Float64, "model": pl.String, "yhat": pl.Float64,
                                                    "recent_scale": pl.Float64})


def test_bucket_intervals_grow_with_the_buckets_errors_on_a_tail_pooled_over_horizons():
    # Errors three times as large after day 28 as in the first week: each bucket's interval
    # follows its own typical error, however few residuals the bucket has.
    res = _abs_residuals(D(2026, 1, 1), lambda h: 1.0 if h <= 7 else 2.0 if h <= 28 else 3.0, n_series=3)
    q = {r["bucket"]: r for r in scoring.fit_calibration(res).filter(pl.col("unique_id") == "s0").iter_rows(named=True)}
    assert q["29+"]["q80"] / q["1-7"]["q80"] == pytest.approx(3.0, rel=0.15)
    assert q["8-28"]["q95"] / q["1-7"]["q95"] == pytest.approx(2.0, rel=0.15)
    # The tail is the half-normal's whatever the bucket: |N(0, 1)|'s 80% point, 1.28.
    assert q["1-7"]["q80"] == pytest.approx(1.2816, rel=0.15)
    assert set(q[b]["source"] for b in q) == {"conformal:bucket"}


def test_recent_windows_weigh_more_in_the_calibration():
    # Two windows, the later one erring twice as much: the intervals lean to the later one.
    old = _abs_residuals(D(2025, 10, 1), lambda h: 1.0, seed=1)
    new = _abs_residuals(D(2026, 1, 1), lambda h: 2.0, seed=2)  # 92 days later: weight 1 against 0.47
    both = scoring.fit_calibration(pl.concat([old, new])).filter(pl.col("unique_id") == "s0")
    equal = scoring.fit_calibration(pl.concat([old, new]), half_life_days=0).filter(pl.col("unique_id") == "s0")
    alone = scoring.fit_calibration(new).filter(pl.col("unique_id") == "s0")
    q, qe, qa = (float(f.filter(pl.col("bucket") == "8-28")["q80"][0]) for f in (both, equal, alone))
    assert qe < q < qa and (q - qe) > 0.25 * (qa - qe)


def test_nested_backtest_scores_the_choice_made_on_earlier_origins():
    c1, c2 = D(2026, 1, 1), D(2026, 1, 15)
    rows = []
    for c, (err_p, err_s) in ((c1, (1.0, 3.0)), (c2, (4.0, 2.0))):  # Prophet best first, swa best after
        for k in range(1, 15):
            ds = c + dt.timedelta(days=k)
            for uid in ("a", "b", "c"):
                rows += [(uid, c, ds, 10.0, "prophet", 10.0 - err_p, 1.0), (uid, c, ds, 10.0, "swa", 10.0 - err_s, 1.0),
                         (uid, c, ds, 10.0, "snaive7", 5.0, 1.0)]
    frame = _frame(rows).with_columns(pl.lit("rolling").alias("window"), pl.lit(1.0).alias("recent_scale"),
                                      ((pl.col("ds") - pl.col("cutoff")).dt.total_days()).cast(pl.Int32).alias("h"))
    oos = bt.out_of_sample(frame, 0.2)
    assert set(oos["cutoff"]) == {c2}  # scored from the second origin on
    # Chosen on origin 1 (Prophet, error 1, against the mean of Prophet and swa, error 2), so
    # the score is Prophet's error at origin 2 (4), not the better swa (2) that a choice made
    # on the scored windows would pick.
    assert set(oos.filter(pl.col("model") == "selected")["yhat"]) == {6.0}
    # Calibrated on origin 1 only: |y - yhat| / recent scale = 1 everywhere, so Prophet's
    # forecast 6 gets 6 ± 1 x the recent scale (1).
    p = oos.filter(pl.col("model") == "prophet").row(0, named=True)
    assert p["yhat_upper_80"] == pytest.approx(7.0) and p["yhat_lower_80"] == pytest.approx(5.0)
    assert p["interval_source"] == "conformal:bucket"  # days 1-7 had residuals (the tail pooled over 42)


def test_numpy_stan_data_is_what_prophet_hands_cmdstanpy():
    import json

    import pandas as pd
    from stanio.json import dump_stan_json

    workload._prophet_class()  # installs the numpy version, keeping Prophet's
    init = {"k": 0.1, "m": 0.2, "delta": np.zeros(3), "beta": np.ones(2), "sigma_obs": 1.0}
    data = {"T": 3, "S": 3, "K": 2, "tau": 0.05, "trend_indicator": 0, "y": np.array([0.1, 1 / 3, 2.0]),
            "t": np.array([0, 0.5, 1.0]), "cap": np.zeros(3), "t_change": np.array([0.2, 0.4, 0.6]),
            "s_a": np.ones(2), "s_m": np.zeros(2), "X": pd.DataFrame({"a": [1.0, 0, 0], "b": [0.5, 1e-17, 3]}),
            "sigmas": [10.0, 10.0]}
    for ours, prophets in zip(workload._numpy_prepare(init, data), workload._ORIGINAL_PREPARE(init, data), strict=True):
        assert json.loads(dump_stan_json(ours)) == json.loads(dump_stan_json(prophets))


def test_prophets_mean_forecast_is_what_its_predict_gives():
    import pandas as pd

    long = synthetic.daily_workload(n_series=1, seed=3, start=D(2025, 1, 1), end=D(2025, 12, 31))
    days = pd.date_range("2025-01-01", "2026-01-28", freq="D")
    regs = workload.features({}, days)
    cols = ["working_day", *[c for c in regs.columns if c != "working_day" and regs[c].iloc[:365].any()][:6]]
    for mode in ("additive", "multiplicative"):
        model = workload._prophet_class()(seasonality_mode=mode, uncertainty_samples=0, yearly_seasonality=True)
        train = pd.DataFrame({"ds": days[:365], "y": long["y"].to_numpy()[:365], **{c: regs[c].iloc[:365].to_numpy() for c in cols}})
        fut = pd.DataFrame({"ds": days[365:], **{c: regs[c].iloc[365:].to_numpy() for c in cols}})
        for i, c in enumerate(cols):  # one regressor of the other mode: both terms are exercised
            model.add_regressor(c, standardize=False, mode=None if i else ("additive" if mode == "multiplicative" else "multiplicative"))
        model.fit(train)
        assert np.allclose(workload.predict_mean(model, fut), model.predict(fut)["yhat"].to_numpy(), rtol=1e-9, atol=1e-9)


def test_calendar_features_for_another_country_and_weekly_series():
    import pandas as pd

    days = pd.date_range("2014-12-22", "2014-12-28", freq="D")
    f = workload.features({"country": "IT"}, days)
    assert f["working_day"].tolist() == [1, 1, 1, 0, 0, 0, 0]  # 25, 26 Dec holidays, then the weekend
    assert f.drop(columns="working_day").sum(axis=1).tolist() == [0, 0, 0, 1, 1, 0, 0]
    weeks = pd.date_range("2014-12-22", periods=2, freq="7D")
    w = workload.features({"country": "IT", "freq": "W"}, weeks)
    assert w["holiday_days"].tolist() == [2, 1]  # Christmas + St Stephen; New Year's Day
    assert w["working_day"].tolist() == [0.6, 0.8]


def test_prophet_beats_seasonal_naive_on_a_seasonal_series():
    long = synthetic.daily_workload(n_series=2, seed=5, start=D(2024, 1, 1), end=D(2025, 12, 31))
    windows = [("rolling", D(2025, 10, 15), 56)]  # covers Double 11 and its wave
    tasks = workload.tasks_from_long(long, windows, {})
    res = pl.concat(map_series(workload.forecast_series, tasks, workers=1))
    assert res["error"].null_count() == res.height
    mase = scoring.mase(res, ["unique_id", "model"]).pivot(on="model", index="unique_id", values="mase")
    assert (mase["prophet"] < 0.8 * mase["snaive7"]).all()
    assert (mase["prophet"] < mase["naive364"]).all()


def test_short_history_gets_prophet_with_its_own_intervals_flagged():
    from forecasts import run_workload

    long = synthetic.daily_workload(n_series=1, seed=6, start=D(2026, 1, 1), end=D(2026, 4, 30))
    run = run_workload.forecast(long, {"forecast": {"horizon_days": 84}}, 1, "test")
    series = run.tables["forecast_series"].row(0, named=True)
    assert series["model"] == "prophet" and "no backtest window" in series["reason"]
    chosen = run.tables["forecast_values"].filter("chosen")
    assert chosen.height == 84 and chosen["yhat_lower_80"].null_count() == 0  # Prophet's own, not calibrated
    assert (chosen["yhat_lower_95"] <= chosen["yhat_lower_80"]).all()
    assert run.summary["interval_sources"] == {"model": 84}


def test_weekly_series_forecast_in_weeks_with_weekly_baselines():
    from forecasts import run_workload

    daily = synthetic.daily_workload(n_series=1, seed=7, start=D(2023, 1, 2), end=D(2025, 12, 28))
    weekly = daily.group_by("unique_id", pl.col("ds").dt.truncate("1w")).agg(pl.col("y").sum()).sort("ds")
    config = {"forecast": {"freq": "W", "country": "IT", "horizon_days": 84, "backtest_origins": 3}}
    run = run_workload.backtest(weekly, config, 1, "test")
    assert len(run.summary["origins"]) == 3 and set(run.summary["coverage_by_bucket"]) == {"1", "2-4", "5+"}
    stored = run.tables["backtest_forecasts"]
    # The labels follow the frequency: last week's count is "naive1", the same week a year
    # before "snaive52"; no "snaive7" (a daily lag) anywhere in a weekly run.
    labels = set(stored["model"]) | set(run.tables["backtest_scores"]["model"]) | set(run.model.split("|"))
    assert {"naive1", "snaive52"} <= labels and not labels & {"snaive7", "naive364"}
    assert run.summary["best_baseline"] in ("naive1", "snaive52") and "last week" in run.summary["baseline"]
    naive = stored.filter(pl.col("model") == "naive1").sort("cutoff", "ds")
    first = naive.filter(pl.col("cutoff") == naive["cutoff"].min())
    assert first.height == 12  # 84 days = 12 weeks
    last_week = weekly.filter(pl.col("ds") == first["cutoff"][0])["y"].item()
    assert set(first["yhat"]) == {last_week}  # weekly seasonal naive: last week's count
