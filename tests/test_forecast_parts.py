"""Spare parts: classification, the Croston family against naive, count-distribution reorder
points, and the inventory simulation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from forecasts import inventory, parts, synthetic
from forecasts.run_parts import forecast as forecast_parts


def test_classification_quadrants_and_thresholds():
    assert parts.classify(np.full(20, 5.0))[0] == "smooth"            # ADI 1, CV² 0
    assert parts.classify(np.array([1.0, 9.0] * 10))[0] == "erratic"      # ADI 1, CV² (4/5)² = 0.64
    assert parts.classify(np.array([0.0, 0.0, 3.0] * 10))[0] == "intermittent"  # ADI 3, CV² 0
    assert parts.classify(np.array([0.0, 0.0, 1.0, 0.0, 0.0, 9.0] * 5))[0] == "lumpy"  # ADI 3, CV² 0.64
    assert parts.classify(np.zeros(10))[0] == parts.NO_DEMAND
    # On the cut-offs: ADI = 33 weeks / 25 with demand = 1.32 exactly -> intermittent side.
    y = np.array([4.0] * 25 + [0.0] * 8)
    cls, adi, cv2 = parts.classify(y)
    assert adi == pytest.approx(1.32) and cls == "intermittent"
    # CV² = 0.49 exactly -> the lumpy/erratic side: sizes 3 and 17 have mean 10, sd 7, (7/10)² = 0.49.
    cls, adi, cv2 = parts.classify(np.array([3.0, 17.0] * 10))
    assert cv2 == pytest.approx(0.49) and cls == "erratic"


def test_poisson_reorder_point_by_hand():
    # Lead 0 days -> protection period 1 week; Poisson mean 1 (variance 1); Q = 1 week cover = 1.
    # With Q = 1 the shortage per cycle is E[(X-s)+] - E[(X-s-1)+] = P(X >= s+1), which must be
    # <= (1 - 0.9) * 1 = 0.1: P(X>=1) = .632, P(X>=2) = .264, P(X>=3) = .080 -> s = 2, S = 3.
    lv = inventory.count_policy(rate=1.0, var=1.0, lead_days=0, fill_rate=0.9, cover_weeks=1)
    assert (lv.reorder_point, lv.order_up_to) == (2, 3)


def test_negative_binomial_reorder_point_matches_direct_sum():
    # rate 2/week, variance 6/week, lead 7 days -> P = 2 weeks: mean 4, variance 12, so NB with
    # n = 4²/(12-4) = 2 and p = 2/(2+4) = 1/3; Q = 2 × 4 weeks = 8; allowed shortage 0.05 × 8 = 0.4.
    lv = inventory.count_policy(rate=2.0, var=6.0, lead_days=7, fill_rate=0.95, cover_weeks=4)
    k = np.arange(0, 400)
    pmf = stats.nbinom.pmf(k, 2, 1 / 3)

    def short(s: int) -> float:
        return float(np.sum(np.clip(k - s, 0, None) * pmf) - np.sum(np.clip(k - s - 8, 0, None) * pmf))

    expected = next(s for s in range(100) if short(s) <= 0.4)
    assert lv.reorder_point == expected and lv.order_up_to == expected + 8
    assert short(expected - 1) > 0.4


def test_nb_is_wider_than_poisson_for_overdispersed_demand():
    nb = inventory.count_policy(rate=2.0, var=10.0, lead_days=14, fill_rate=0.95, cover_weeks=4)
    po = inventory.count_policy(rate=2.0, var=2.0, lead_days=14, fill_rate=0.95, cover_weeks=4)
    assert nb.reorder_point > po.reorder_point


def test_simulation_by_hand():
    # Demand 2 a week, s = 2, S = 6, lead 0 days (arrives next week). Start with 6 on hand:
    # week 0: 6-2 = 4 (IP 4 > 2); week 1: 2 -> IP 2 <= 2, order 4; week 2: +4 = 6-2 = 4; ...
    # Stock at week ends 4, 2, 4, 2, ... mean 3; every unit of demand filled.
    r = inventory.simulate(np.full(10, 2.0), [inventory.Levels(2, 6)], refit_every=10, lead_days=0)
    assert r["fill_rate"] == 1.0 and r["mean_stock"] == pytest.approx(3.0) and r["orders"] == 5
    # No stock and no orders: nothing is filled.
    r = inventory.simulate(np.full(4, 1.0), [inventory.Levels(0, 0)], refit_every=4, lead_days=7)
    assert r["fill_rate"] == 0.0


def test_croston_family_beats_naive_on_intermittent_demand():
    long, _ = synthetic.weekly_parts(n_series=40, seed=3)
    tasks = parts.tasks_from_long(long, origins=3, horizon=8)
    out = [parts.forecast_part(t) for t in tasks]
    bt = pl.concat([o["backtest"] for o in out])
    info = pl.concat([o["info"] for o in out])
    assert set(info["series_class"]) >= {"smooth", "intermittent", "lumpy"}
    methods = parts.choose_methods(bt, info)
    chosen = info.join(methods, on="series_class")
    scores = parts.rmsse_table(bt).join(chosen.select("unique_id", "series_class", pl.col("model").alias("m")),
                                        on="unique_id")
    sparse = scores.filter(pl.col("series_class").is_in(["intermittent", "lumpy"]))
    used = sparse.filter(pl.col("model") == pl.col("m"))["rmsse"].mean()
    naive = sparse.filter(pl.col("model") == "naive")["rmsse"].mean()
    assert used < 0.9 * naive
    for cls in ("intermittent", "lumpy"):
        assert methods.filter(pl.col("series_class") == cls)["model"][0] in parts.CANDIDATES[cls]


def test_parts_forecast_lists_parts_running_out_within_lead_time():
    long, master = synthetic.weekly_parts(n_series=12, seed=4)
    last_week = long["ds"].max()
    master = master.with_columns(pl.lit(last_week + dt.timedelta(days=6)).alias("as_of"))
    # Part P00000 (smooth, 5-40 a week) with 1 unit on hand runs out within any lead time.
    master = master.with_columns(pl.when(pl.col("part_no") == "P00000").then(1).otherwise(pl.col("on_hand"))
                                 .alias("on_hand"))
    run = forecast_parts(long, {}, 1, "test", master=master, used_since=None,
                         last_day=last_week + dt.timedelta(days=6))
    reorder = run.tables["parts_reorder"]
    row = reorder.filter(pl.col("part_no") == "P00000").row(0, named=True)
    assert row["runs_out_within_lead_time"] and row["order_now"]
    assert row["runout_date"] <= last_week + dt.timedelta(days=6 + row["lead_time_days"])
    assert row["order_qty"] == row["order_up_to"] - 1
    assert reorder.height == 12 and (reorder["order_up_to"] >= reorder["reorder_point"]).all()
    values = run.tables["forecast_values"].filter("chosen")
    assert values.height == 12 * 12 and (values["yhat_upper_95"] >= values["yhat_upper_80"]).all()
