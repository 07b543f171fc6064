"""Top-down region × service forecasts: the region's forecast × last year's share, by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from forecasts import reconcile

D = dt.date


def _history(days: int = 400) -> pl.DataFrame:
    start = D(2025, 1, 1)
    rows = []
    for i in range(days):
        ds = start + dt.timedelta(days=i)
        inst = 3.0 if i < 380 else 1.0  # the last 20 days: installs fall to 1 in 10
        rows += [("east/install", ds, inst), ("east/repair", ds, 10.0 - inst), ("east/all", ds, 10.0)]
    return pl.DataFrame(rows, orient="row", schema={"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})


def _res(cutoff: dt.date, horizon: int) -> pl.DataFrame:
    rows = []
    for uid in ("east/install", "east/repair", "east/all"):
        for k in range(1, horizon + 1):
            rows.append({"unique_id": uid, "window": "rolling", "cutoff": cutoff, "ds": cutoff + dt.timedelta(days=k),
                         "y": None, "model": "prophet", "yhat": 20.0 if uid == "east/all" else 99.0,
                         "raw_lo80": None, "raw_hi80": None, "raw_lo95": None, "raw_hi95": None,
                         "scale": 1.0, "error": None})
    return pl.DataFrame(rows, schema_overrides={"y": pl.Float64, "raw_lo80": pl.Float64, "raw_hi80": pl.Float64,
                                                "raw_lo95": pl.Float64, "raw_hi95": pl.Float64, "error": pl.String})


def test_share_of_the_same_days_a_year_before():
    cutoff = D(2026, 1, 20)  # a year of history: last year's days (Jan 2025) had installs 3 in 10
    td = reconcile.top_down(_res(cutoff, 7), _history()).sort("unique_id", "ds")
    assert set(td["model"]) == {reconcile.TOP_DOWN} and td.height == 14  # region × service series only
    assert td.filter(pl.col("unique_id") == "east/install")["yhat"].to_list() == pytest.approx([6.0] * 7)
    assert td.filter(pl.col("unique_id") == "east/repair")["yhat"].to_list() == pytest.approx([14.0] * 7)


def test_recent_share_without_a_year_of_history():
    cutoff = D(2025, 1, 1) + dt.timedelta(days=399)  # history ends; a window of 370 days reaches past a year
    td = reconcile.top_down(_res(cutoff, 370), _history())
    # Days 365.. of the window have no history a year back: the last 28 days' share is used,
    # 8 days at 3 in 10 and 20 days at 1 in 10 -> (8*3 + 20*1) / 280.
    share = (8 * 3 + 20 * 1) / 280
    assert td.filter(pl.col("unique_id") == "east/install")["yhat"][0] == pytest.approx(20 * share)
