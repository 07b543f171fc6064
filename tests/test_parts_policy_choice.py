"""`forecast parts` plans with the reorder policy per class that `backtest parts` chooses on the
same data (inner simulation window), unless the settings pin one."""

from __future__ import annotations

import polars as pl
import pytest

from aftersales.errors import UserError
from forecasts import parts_backtest, run_parts, synthetic

SMALL = {"parallel_min_series": 10_000, "sim_weeks": 26, "policy_margins": [0, 2], "backtest_origins": 3,
         "policy_distributions": ["block", "nb"]}  # margins and distributions, not recency: see test_forecast_parts_recency


def test_forecast_uses_the_policy_the_backtest_chooses_unless_pinned():
    long, master = synthetic.weekly_parts(n_series=24, weeks=110, seed=3)
    cfg = {"parts": SMALL}
    bt = parts_backtest.backtest(long, cfg, 1, "t", master)
    run = run_parts.forecast(long, cfg, 1, "t", master=master)
    chosen = bt.summary["policy_by_class"]
    assert run.summary["policy_by_class"] == chosen
    assert set(run.summary["policy_source"].values()) == {"backtest"}
    assert 0 < run.summary["policy_fill_outer"]["all"]["fill_rate"] <= 1
    moved = [c for c, p in chosen.items() if p != "block:0"]
    assert moved, "the data must make the backtest choose something other than the default, or this test cannot fail"

    pinned = run_parts.forecast(long, {"parts": {**SMALL, "policy_by_class": {c: "block:0" for c in chosen}}}, 1,
                                "t", master=master)
    assert pinned.summary["policy_by_class"] == {c: "block:0" for c in chosen}
    assert set(pinned.summary["policy_source"].values()) == {"settings"}

    def points(r: object, cls: str) -> list[int]:
        t = r.tables["parts_reorder"]
        return t.filter(pl.col("series_class") == cls).sort("part_no")["reorder_point"].to_list()

    # A chosen margin above 0 plans for a higher fill: reorder points of that class move up.
    assert all(points(run, c) != points(pinned, c) for c in moved)
    assert sum(points(run, moved[0])) > sum(points(pinned, moved[0]))


@pytest.mark.parametrize("spec", ["nb", "foo:1", "nb:x", "block:-1"])
def test_a_malformed_pinned_policy_is_one_message(spec):
    with pytest.raises(UserError, match="policy_by_class: lumpy"):
        run_parts.check_pinned_policies({"policy_by_class": {"lumpy": spec}})
    with pytest.raises(UserError, match="classes: smooth"):
        run_parts.check_pinned_policies({"policy_by_class": {"slow": "nb:1"}})
    run_parts.check_pinned_policies({"policy_by_class": {"lumpy": "nb:3", "smooth": "block:0",
                                                         "intermittent": "block_recent:2", "erratic": "nb_recent:1"}})
