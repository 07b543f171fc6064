"""Spare parts at weekly or monthly frequency, the nested (honest) model choice, the history's own
lead-time blocks, the pooled allocation of reorder points and the oracles of the benchmark."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from forecasts import inventory, parts, parts_backtest, parts_select, run_parts, synthetic


def _monthly(n_series: int = 12, seed: int = 5) -> pl.DataFrame:
    weekly, _ = synthetic.weekly_parts(n_series=n_series, weeks=200, seed=seed)
    return parts.fill_periods(weekly, "M")


def test_periods_follow_the_frequency():
    assert parts.periods(12, "W") == 12 and parts.periods(12, "M") == 3 and parts.periods(52, "M") == 12
    assert inventory.protection_periods(14, parts.PERIOD_DAYS["W"]) == 3
    assert inventory.protection_periods(14, parts.PERIOD_DAYS["M"]) == 1
    assert inventory.protection_periods(45, parts.PERIOD_DAYS["M"]) == 2
    with pytest.raises(ValueError, match="'W'"):
        parts.check_freq("D")


def test_monthly_series_cutoffs_and_future_dates_are_month_starts():
    long = pl.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 2,
                         "ds": [dt.date(2024, 1, 15), dt.date(2024, 3, 2), dt.date(2024, 4, 30),
                                dt.date(2024, 3, 9), dt.date(2024, 3, 20)],
                         "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    filled = parts.fill_periods(long, "M")
    a = filled.filter(pl.col("unique_id") == "a")
    assert a["ds"].to_list() == [dt.date(2024, m, 1) for m in (1, 2, 3, 4)] and a["y"].to_list() == [1, 0, 2, 3]
    b = filled.filter(pl.col("unique_id") == "b")  # starts at its own first month, same-month rows summed
    assert b["ds"].to_list() == [dt.date(2024, 3, 1), dt.date(2024, 4, 1)] and b["y"].to_list() == [9, 0]
    assert parts.cut_dates(dt.date(2024, 12, 1), 2, 3, 3, "M") == [dt.date(2024, 6, 1), dt.date(2024, 9, 1)]
    assert list(parts.period_dates(np.datetime64("2024-11-01"), 3, "M").astype(str)) == \
        ["2024-12-01", "2025-01-01", "2025-02-01"]


def test_seasonal_naive_repeats_the_last_season():
    y = np.arange(30, dtype=float)
    assert parts.point_forecast("snaive", y, 14, season=12).tolist() == [*range(18, 30), 18, 19]
    assert parts.point_forecast("snaive", np.array([2.0, 4.0]), 3, season=12).tolist() == [3.0, 3.0, 3.0]


def _frame(scores: dict[str, list[float]], cutoffs: list[dt.date], uid: str = "p") -> pl.DataFrame:
    """One series, one period per window: ``|y - yhat|`` = the given error, scale 1."""
    rows = []
    for model, errs in scores.items():
        for c, e in zip(cutoffs, errs, strict=True):
            rows.append({"unique_id": uid, "cutoff": c, "ds": c + dt.timedelta(days=7), "y": 10.0,
                         "model": model, "yhat": 10.0 + e, "scale": 1.0, "mae_scale": 1.0})
    return pl.DataFrame(rows)


def test_nested_choice_is_scored_on_windows_it_did_not_see():
    cuts = [dt.date(2025, 1, 6) + dt.timedelta(weeks=4 * i) for i in range(4)]
    # ses is best on the two inner windows and bad on the outer ones; tsb the other way round.
    bt = _frame({"ses": [1, 1, 9, 9], "tsb": [3, 3, 1, 1], "zero": [10, 10, 10, 10], "naive": [5, 5, 5, 5],
                 "snaive": [6, 6, 6, 6]}, cuts)
    info = pl.DataFrame({"unique_id": ["p"], "series_class": ["intermittent"]})
    # One series: the sign test against zero could never pass (zero_sign_level=1 switches it off).
    sel = parts_select.choose(bt, info, outer=2, combo_size=3, zero_sign_level=1.0)
    assert sel["cutoffs"] == (cuts[:2], cuts[2:])
    assert sel["methods"].filter(pl.col("series_class") == "intermittent")["model"][0] == "ses"
    chosen = info.join(sel["methods"], on="series_class")
    out = parts_select.outer_scores(sel["backtest"], chosen, sel["cutoffs"][1])
    mase = out.filter((pl.col("scope") == "all") & (pl.col("metric") == "mase"))
    assert mase.filter(pl.col("model") == "selected")["value"][0] == pytest.approx(9.0)  # ses outside, not 1
    assert mase.filter(pl.col("model") == "selected")["value"][0] == mase.filter(pl.col("model") == "ses")["value"][0]
    # The production choice sees every window: tsb (mean 2) over ses (mean 5).
    assert parts_select.choose(bt, info, outer=0, zero_sign_level=1.0)["methods"]["model"][2] == "tsb"
    # The combination of the three best on the inner windows (ses, tsb, naive) is their median.
    combo = sel["backtest"].filter(pl.col("model") == parts_select.COMBO).sort("cutoff")
    assert sel["members"]["intermittent"] == ["ses", "tsb", "naive"]
    assert combo["yhat"].to_list() == [13.0, 13.0, 15.0, 15.0]


def test_zero_is_kept_unless_clearly_beaten():
    cuts = [dt.date(2025, 1, 6), dt.date(2025, 2, 3)]
    info = pl.DataFrame({"unique_id": ["p"], "series_class": ["lumpy"]})
    close = _frame({"zero": [10, 10], "tsb": [9.7, 9.7]}, cuts)
    assert parts_select.choose(close, info, outer=0, keep_zero_within=0.05)["methods"]["model"][3] == "zero"
    assert parts_select.choose(close, info, outer=0, keep_zero_within=0.0,
                               zero_sign_level=1.0)["methods"]["model"][3] == "tsb"
    clear = _frame({"zero": [10, 10], "tsb": [8, 8]}, cuts)
    assert parts_select.choose(clear, info, outer=0, keep_zero_within=0.05,
                               zero_sign_level=1.0)["methods"]["model"][3] == "tsb"


def _series(errors: list[tuple[float, float]], cuts: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lumpy series ``s0, s1, ...``; series i has zero's error and tsb's error ``errors[i]`` in every window."""
    bt = pl.concat([_frame({"zero": [z] * len(cuts), "tsb": [t] * len(cuts)}, cuts, f"s{i}")
                    for i, (z, t) in enumerate(errors)])
    return bt, pl.DataFrame({"unique_id": [f"s{i}" for i in range(len(errors))], "series_class": ["lumpy"] * len(errors)})


def test_a_tie_with_zero_goes_to_zero():
    cuts = [dt.date(2025, 1, 6), dt.date(2025, 2, 3)]
    # One series clearly better on both windows (MASE 0.6 of zero's, as MAN's single smooth part
    # was): two wins of two is what chance gives a quarter of the time, so zero is kept.
    bt, info = _series([(10, 6)], cuts)
    sel = parts_select.choose(bt, info, outer=0)
    assert sel["methods"]["model"][3] == "zero"
    assert "2 of 2 series-windows" in sel["methods"]["reason"][3]
    # Two large wins carry the class mean (mean MASE 7.6 against zero's 10) but three series are
    # lost: 4 wins of 10 series-windows is no skill, so zero.
    bt, info = _series([(10, 2), (10, 2), (10, 11), (10, 11), (10, 12)], cuts)
    assert parts_select.choose(bt, info, outer=0)["methods"]["model"][3] == "zero"
    # Three series, six wins of six: P(>= 6 of 6 by chance) = 1/64 <= 0.1, so tsb.
    bt, info = _series([(10, 8)] * 3, cuts)
    assert parts_select.choose(bt, info, outer=0)["methods"]["model"][3] == "tsb"
    # Three of five series (6 of 10): P = 386/1024 = 0.38 > 0.1, zero; the test switched off, tsb.
    bt, info = _series([(10, 7)] * 3 + [(10, 11)] * 2, cuts)
    assert parts_select.choose(bt, info, outer=0)["methods"]["model"][3] == "zero"
    assert parts_select.choose(bt, info, outer=0, zero_sign_level=1.0)["methods"]["model"][3] == "tsb"


def test_block_pmfs_are_the_sums_of_consecutive_periods():
    history = np.array([0, 5, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0], dtype=float)
    week, before, during = inventory.block_pmfs(history, p=2)
    assert week == pytest.approx(np.bincount([0, 5, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]) / 12)
    assert np.array_equal(before, week)  # blocks of P - 1 = 1 period
    sums = [5, 5, 0, 1, 1, 0, 0, 5, 5, 0, 0]  # every pair of neighbours
    assert during == pytest.approx(np.bincount(sums) / 11)
    # A lump that always comes twice in a row: the blocks see 10, independent periods never would
    # with the same period pmf as often (here the sum 10 needs both in one block).
    clustered = np.array([0, 0, 5, 5] * 5, dtype=float)
    assert inventory.block_pmfs(clustered, 2)[2][10] == pytest.approx(5 / 19)


def test_expected_stock_matches_a_long_simulation():
    rng = np.random.default_rng(11)
    for rate, var, lead in ((1.0, 1.0, 14), (2.0, 6.0, 7)):
        q, fill, stock, mean = inventory.policy_curves(rate, var, lead, 4)
        size = rate ** 2 / (var - rate) if var > rate else None
        demand = (rng.negative_binomial(size, size / (size + rate), 120_000) if size else
                  rng.poisson(rate, 120_000)).astype(float)
        for s in (1, 4):
            sim = inventory.simulate(demand, [inventory.Levels(s, s + q)], len(demand), lead)
            assert sim["mean_stock"] == pytest.approx(stock[s], rel=0.03)
            assert sim["fill_rate"] == pytest.approx(fill[s], abs=0.01)


def test_allocation_reaches_the_pooled_target_with_less_stock_than_per_part_targets():
    curves = [inventory.part_curve(3.0, 3.0, 14, 4, "nb", None),            # frequent small demand
              inventory.part_curve(0.3, 9.0, 14, 4, "nb", None),            # rare big lumps
              inventory.part_curve(1.0, 2.0, 14, 4, "nb", None)]
    target = 0.95
    pooled = inventory.allocate(curves, target)

    def expected(levels: list[inventory.Levels]) -> tuple[float, float]:
        filled = stock = 0.0
        for c, lv in zip(curves, levels, strict=True):
            k = min(lv.reorder_point // c.unit, len(c.filled) - 1)
            filled, stock = filled + c.filled[k], stock + c.stock[k]
        return filled / sum(c.mean for c in curves), stock

    each = [inventory.Levels(int(np.argmax(c.filled / c.mean >= target)) * c.unit,
                             int(np.argmax(c.filled / c.mean >= target)) * c.unit + c.q) for c in curves]
    fill_pooled, stock_pooled = expected(pooled)
    fill_each, stock_each = expected(each)
    assert fill_pooled >= target and fill_each >= target
    assert stock_pooled < stock_each
    assert pooled[1].reorder_point < each[1].reorder_point  # the lumpy part gives way


def test_large_parts_are_counted_in_lots():
    lv = inventory.count_policy(3000.0, 9e6, 14, 0.95, 4)
    assert lv.reorder_point > 0 and lv.order_up_to - lv.reorder_point == 12_000
    assert inventory.unit_size(3000.0, 14, 4) > 1


def test_hindsight_oracle_is_a_lower_bound_of_simulated_policies():
    demand = np.array([0, 0, 4, 0, 1, 0, 0, 0, 6, 0, 1, 0] * 3, dtype=float)
    curve = parts_backtest.oracle_curve(demand, 7, 7.0, 4)
    best = parts_backtest.oracle_stock([curve], float(demand.sum()), 0.9)
    q = inventory.order_quantity(float(demand.mean()), 4)
    for s in range(0, 20):
        r = inventory.simulate(demand, [inventory.Levels(s, s + q)], len(demand), 7)
        if r["fill_rate"] >= 0.9:
            assert best <= r["mean_stock"] + 1e-9
    assert parts_backtest.stock_at(np.array([0.5, 0.9, 1.0]), np.array([1.0, 5.0, 9.0]), 0.95) == pytest.approx(7.0)
    assert parts_backtest.stock_at(np.array([0.5, 0.9]), np.array([1.0, 5.0]), 0.95) is None


def test_monthly_forecast_and_backtest_run_end_to_end():
    long = _monthly()
    run = run_parts.forecast(long, {}, 1, "test", freq="M")
    values = run.tables["forecast_values"].filter("chosen")
    assert values["ds"].dt.day().unique().to_list() == [1]
    assert values["ds"].min() == dt.date(long["ds"].max().year + (long["ds"].max().month == 12),
                                         long["ds"].max().month % 12 + 1, 1)
    assert values.group_by("unique_id").len()["len"].unique().to_list() == [3]  # 12 weeks -> 3 months
    assert run.summary["freq"] == "M" and run.summary["backtest_mase_outer"] is not None
    bt = parts_backtest.backtest(long, {}, 1, "test", freq="M", oracle=True)
    s = bt.summary
    assert len(s["inner_cutoffs"]) == 2 and len(s["outer_cutoffs"]) == 2 and max(s["inner_cutoffs"]) < min(s["outer_cutoffs"])
    assert 0 < s["fill_rate"] <= 1 and s["mase_rel_zero"] is not None and s["policy_by_class"]
    assert set(bt.tables["inventory_sim"]["policy"]) == {"count", "baseline"}
    assert bt.tables["inventory_sim"]["weeks"].max() == 12  # the outer window: 52 weeks -> 12 months
