"""Staffing arithmetic, checked by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from forecasts import staffing

MONDAY = dt.date(2026, 11, 2)


def _visits(**over):
    row = {"service_type": "repair", "tickets": 100, "visited_tickets": 50, "visits": 60, "work_hours": 1.5,
           "travel_hours": 0.5}
    row.update(over)
    return pl.DataFrame([row])


def test_hours_per_ticket_from_visits():
    # visit share 50/100 = 0.5; work 0.5 × 1.5 h = 0.75 h; travel 0.5 × 0.5 h = 0.25 h;
    # repeat visits 60/50 - 1 = 0.2; hours per ticket (0.75 + 0.25) × 1.2 = 1.2 h.
    h = staffing.hours_per_ticket(_visits(), {}).row(0, named=True)
    assert h["visit_share"] == 0.5 and h["repeat_rate"] == pytest.approx(0.2)
    assert h["hours_per_ticket"] == pytest.approx(1.2)


def test_overrides_and_default_travel():
    # hours_per_ticket override 2.0 h replaces 0.75; travel missing -> 0.75 h a visit × 0.5 = 0.375;
    # repeat override 0 -> (2.0 + 0.375) × 1 = 2.375 h.
    h = staffing.hours_per_ticket(_visits(travel_hours=None),
                                  {"hours_per_ticket": {"repair": 2.0}, "repeat_visit_rate": {"repair": 0.0},
                                   "travel_hours_per_visit": 0.75}).row(0, named=True)
    assert h["hours_per_ticket"] == pytest.approx(2.375)


def test_technicians_needed_and_gap_by_hand():
    hours = staffing.hours_per_ticket(_visits(), {})  # repair: 1.2 h per ticket
    days = [MONDAY + dt.timedelta(days=i) for i in range(9)]  # a whole week and two days of the next
    forecast = pl.DataFrame({"unique_id": "east/repair", "ds": days, "yhat": 10.0})
    techs = pl.DataFrame({"region": ["east"], "technicians": [2]})
    settings = {"plan_quantile": 0.8, "productive_hours_per_week": 40.0, "shrinkage": 0.15}
    plan = staffing.plan(forecast, hours, techs, settings)
    # 10 tickets × 7 days = 70 tickets × 1.2 h = 84 h; a technician gives 40 × (1 - 0.15) = 34 h;
    # needed 84 / 34 = 2.47; available 2; gap -0.47 (short). The partial second week is not planned.
    assert plan.height == 1
    row = plan.row(0, named=True)
    assert row["week_start"] == MONDAY and row["tickets_expected"] == pytest.approx(70)
    assert row["hours_expected"] == pytest.approx(84) and row["technicians_needed"] == pytest.approx(84 / 34)
    assert row["gap"] == pytest.approx(2 - 84 / 34) and row["short"]


def test_plan_quantile_from_backtest_errors():
    hours = staffing.hours_per_ticket(_visits(), {})
    cutoff = MONDAY - dt.timedelta(days=1)
    # Backtest: 4 whole weeks, forecast 10 a day; actual 10, 11, 12 and 13 a day -> relative errors
    # 0, .1, .2, .3 of the weekly hours; the 80th percentile (linear) is 0.24.
    rows = []
    for w, actual in enumerate((10, 11, 12, 13)):
        for d in range(7):
            rows.append(("east/repair", cutoff, MONDAY + dt.timedelta(days=7 * w + d), float(actual), 10.0))
    bt = pl.DataFrame(rows, orient="row", schema=["unique_id", "cutoff", "ds", "y", "yhat"])
    q = staffing.error_quantiles(bt, hours, 0.8, min_weeks=1)
    assert q["rel_q"][0] == pytest.approx(0.24)
    forecast = pl.DataFrame({"unique_id": "east/repair", "ds": [MONDAY + dt.timedelta(days=i) for i in range(7)],
                             "yhat": 10.0})
    plan = staffing.plan(forecast, hours, pl.DataFrame({"region": ["east"], "technicians": [5]}),
                         {"plan_quantile": 0.8}, bt.with_columns(pl.lit(None, dtype=pl.Float64).alias("x")))
    # (with min_weeks 8 by default the region's 4 weeks fall back to the pooled quantile: also 0.24)
    assert plan["hours_planned"][0] == pytest.approx(84 * 1.24)


def test_unassigned_and_total_series_are_not_staffed():
    hours = staffing.hours_per_ticket(_visits(), {})
    days = [MONDAY + dt.timedelta(days=i) for i in range(7)]
    forecast = pl.concat([pl.DataFrame({"unique_id": uid, "ds": days, "yhat": 5.0})
                          for uid in ("unassigned/repair", "east/all", "all/all", "east/repair")])
    plan = staffing.plan(forecast, hours, pl.DataFrame({"region": ["east"], "technicians": [1]}), {})
    assert plan["region"].to_list() == ["east"] and plan["tickets_expected"][0] == pytest.approx(35)
