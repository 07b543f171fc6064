"""Lead-time distributions read at the long history's own level (``nb_long``, ``block_long``,
``bootstrap_long``) and the negative binomial / Poisson pmf computed without scipy's ppf."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecasts import inventory


@pytest.mark.parametrize("mean,var", [(0.02, 0.02), (0.3, 0.3), (4.0, 4.0), (0.05, 2.0), (1.0, 9.0), (30.0, 400.0)])
def test_count_pmf_is_scipys_poisson_or_negative_binomial(mean, var):
    pmf = inventory.count_pmf(mean, var)
    k = np.arange(len(pmf))
    if var <= mean * 1.0001:
        ref = stats.poisson.pmf(k, mean)
        top = stats.poisson.ppf(1 - 1e-7, mean)
    else:
        n = mean ** 2 / (var - mean)
        ref = stats.nbinom.pmf(k, n, n / (n + mean))
        top = stats.nbinom.ppf(1 - 1e-7, n, n / (n + mean))
    assert abs(len(pmf) - (top + 2)) <= 1  # the support ends at the 1 - 1e-7 quantile, as before
    assert pmf == pytest.approx(ref / ref.sum(), abs=1e-12)
    assert float(np.dot(k, pmf)) == pytest.approx(mean, rel=1e-3)


def test_count_pmf_survives_extreme_dispersions():
    # n = mean^2 / (var - mean) underflows to 0 (all the mass at 0) or p rounds to 1 (Poisson):
    # a small database's first weeks give both; scipy returned nan there, math.log raised.
    tiny = inventory.count_pmf(1e-170, 1e3)
    assert tiny[0] == 1.0 and tiny.sum() == 1.0
    flat = inventory.count_pmf(2.0, 2.0 * (1 + 1e-3) + 1e-17)
    assert float(np.dot(np.arange(len(flat)), flat)) == pytest.approx(2.0, rel=1e-3)
    assert inventory.lead_time_pmf(1e-170, 1e3, 3).sum() == pytest.approx(1.0)


def _silent_year() -> np.ndarray:
    """Five years of monthly demand: a lump of 6 every 6 months, then a silent last year."""
    y = np.zeros(60)
    y[[3, 9, 15, 21, 27, 33, 39, 45]] = 6.0
    return y


def test_long_level_distributions_plan_with_the_history_mean_not_the_decayed_forecast():
    y = _silent_year()
    decayed = 0.05  # what a level method says after a silent year (SES, Croston: far below the 0.8 mean)
    var = float(y.var(ddof=1))
    short = inventory.part_curve(decayed, var, 14, 1.0, "nb", y, 30.4)
    own = inventory.part_curve(decayed, var, 14, 1.0, "nb_long", y, 30.4)
    assert own.mean == pytest.approx(y.mean(), rel=1e-4)  # 48 units / 60 months = 0.8
    assert short.mean == pytest.approx(decayed, rel=1e-3)
    # The same planned fill needs a reorder point covering one lump at the history's level ...
    lv_own = inventory.count_policy(decayed, var, 14, 0.9, 1.0, "nb_long", y, period_days=30.4)
    lv_short = inventory.count_policy(decayed, var, 14, 0.9, 1.0, "nb", y, period_days=30.4)
    assert lv_own.reorder_point > lv_short.reorder_point
    # ... and the empirical forms are the history's own periods: a month of 6 with probability 8/60.
    boot = inventory.part_curve(decayed, var, 14, 1.0, "bootstrap_long", y, 30.4)
    assert boot.mean == pytest.approx(0.8)
    blk = inventory.part_curve(decayed, var, 14, 1.0, "block_long", y, 30.4)
    assert blk.mean == pytest.approx(0.8)


def test_the_policy_bootstrap_does_not_depend_on_row_order():
    # The same inner-window rows in two orders: each resample must draw the same parts, so the
    # resampled filled units (and the choice made on them) are the same run after run.
    import polars as pl

    from forecasts import parts_backtest

    rows = [{"part_no": f"p{k}", "series_class": "lumpy", "window": "inner", "policy": pol,
             "demand": 10.0 + k, "filled": (10.0 + k) * share, "mean_stock": 1.0 + k}
            for k in range(12) for pol, share in (("count:nb:0", (k % 3) / 3), ("count:nb:3", 1.0))]
    sim = pl.DataFrame(rows)
    frontier = {"lumpy": [{"policy": "count:nb:0"}, {"policy": "count:nb:3"}]}
    a = parts_backtest._bootstrap_filled(sim, frontier, 50)["lumpy"]
    b = parts_backtest._bootstrap_filled(sim.reverse(), frontier, 50)["lumpy"]
    assert np.array_equal(a[0]["count:nb:0"], b[0]["count:nb:0"])
    assert np.array_equal(a[1], b[1])
