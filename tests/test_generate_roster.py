"""The generated technician roster against the work it has to do: teams follow the volume, every
visit has a qualified technician of its outlet, and the staffing plan on generated data finds
ordinary weeks covered and some peak weeks short."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from forecasts import series, staffing
from forecasts.settings import section
from forecasts.workload import lag_naive
from pipelines.generate import generate, roster
from pipelines.generate.calendar import build_calendar
from pipelines.generate.masters import build_masters

HORIZON = 84  # the staffing plan's default horizon, days


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    out = tmp_path_factory.mktemp("roster")
    generate(out, tickets=100_000, seed=42, end="2026-10-31", progress=False)
    con = duckdb.connect()
    for t in ("tickets", "visits", "outlets", "technicians"):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{out / (t + '.parquet')}')")
    return con


@pytest.mark.parametrize("tickets", [3_000, 100_000, 1_000_000, 10_000_000])
def test_team_sizes_follow_the_volume(tickets):
    cal = build_calendar("2024-01-01", "2026-10-31", 42)
    m = build_masters(cal, tickets, np.random.default_rng(0), 42)
    active = int(m.technicians["active"].sum())
    # What the last year's busy week needs, in technicians.
    weeks = roster.expected_hours(cal, tickets)[-364:].reshape(52, 7).sum(axis=1)
    need = np.quantile(weeks, roster.STAFF_QUANTILE) / roster.TECH_WEEKLY_HOURS
    assert active >= m.outlets.height  # every outlet keeps at least its all-rounder
    if need > 3 * m.outlets.height:  # past the one-technician floor, the team follows the work
        assert 0.85 * need < active < 1.4 * need, (active, need)
    assert m.outlets.height == roster.outlet_count(cal, tickets)
    assert (m.outlet_outsourced.sum() > 0) and (~m.outlet_outsourced).sum() > 0
    assert set(m.outlets["region"]) == {"east", "south", "north", "central", "southwest", "northwest", "northeast"}


def test_the_roster_changes_over_time(con):
    hired_during = con.execute("SELECT count(*) FROM technicians WHERE hired_on >= DATE '2024-01-01'").fetchall()[0][0]
    left = con.execute("SELECT count(*) FROM technicians WHERE NOT active").fetchall()[0][0]
    assert hired_during > 0 and left > 0


def test_every_visit_has_a_qualified_technician_of_its_outlet(con):
    bad = con.execute("""
        SELECT count(*) FILTER (WHERE x.technician_id IS NULL),
               count(*) FILTER (WHERE x.outlet_id <> t.outlet_id),
               count(*) FILTER (WHERE x.hired_on > v.started_at::DATE),
               count(*) FILTER (WHERE NOT list_contains(string_split(x.skills, ','),
                   CASE t.service_type WHEN 'exchange' THEN 'delivery' ELSE t.service_type END))
        FROM visits v JOIN tickets t USING (ticket_id) LEFT JOIN technicians x ON x.technician_id = v.technician_id
        """).fetchall()[0]
    assert bad == (0, 0, 0, 0)


def test_staffing_plan_on_generated_data_has_short_and_covered_weeks(con):
    """The plan for the 12 weeks after the data (they hold the Double 11 wave), from a forecast a
    planner could make without any model: the same weeks a year before, scaled by the past
    year's growth."""
    long = series.workload_series(con, ["region_service"])
    settings = section(None, "staffing")
    hours = staffing.hours_per_ticket(series.visit_stats(con), settings)
    last = long["ds"].max()
    future = [last + dt.timedelta(days=i + 1) for i in range(HORIZON)]
    frames = []
    for (uid,), g in long.sort("ds").group_by("unique_id", maintain_order=True):
        y = g["y"].to_numpy()
        growth = y[-364:].sum() / max(y[-728:-364].sum(), 1.0)
        frames.append(pl.DataFrame({"unique_id": uid, "ds": future, "yhat": lag_naive(y, HORIZON, 364) * growth}))
    plan = staffing.plan(pl.concat(frames), hours, series.technicians_by_region(con), settings)
    short = plan.filter("short")
    assert plan.height >= 7 * 10
    assert short.height >= 1, "no region-week short: the roster covers even the Double 11 wave"
    assert short.height <= 0.4 * plan.height, f"{short.height} of {plan.height} region-weeks short"
    assert short["gap"].min() > -6, "a shortfall of more than a few technicians"
