"""Scorecards and first-time-fix losses: every cell equals the single-KPI API for the same unit,
ranks are the league tables' own, and the loss causes add up to the first-time-fix losses.
Expectations come from ``metrics.query``/``rank``/``breaching`` and the generated data, never
from pinned numbers (the generator changes)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

import metrics
from aftersales.config import DEFAULTS
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import periods
from metrics.losses import CAUSES, ftf_losses
from metrics.scorecard import COUNTS, scorecard, scorecard_kpis
from tests.metrics_fixtures import fixture_con, shared_sample_db


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect(str(shared_sample_db()[0]), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def month(con):
    last = con.execute("SELECT max(created_at) FROM tickets").fetchall()[0][0]
    return periods.shift(periods.trunc(last.date(), "month"), "month", -1)  # the last complete month


@pytest.fixture(scope="module")
def outlets(con, month):
    return scorecard(con, "outlet", period=month, config=DEFAULTS, scope=DataScope())


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_outlet_row_equals_the_single_kpi_api(con, month, outlets):
    t = outlets.table
    assert t.height > 1 and t["outlet"].is_unique().all()
    busiest = t.sort("ticket_volume", descending=True)["outlet"][0]
    row = outlets.row(busiest)
    for kpi in scorecard_kpis():
        q = metrics.query(con, metrics=[kpi], grain="month", start=month, end=month, where={"outlet": busiest},
                          config=DEFAULTS, scope=DataScope()).to_dicts()[0]
        assert _same(row[kpi], q["value"]), kpi
        assert row[f"{kpi}_n"] == q["n_records"], kpi
        assert _same(row[f"{kpi}_prev"], q["prev_value"]), kpi
        assert _same(row[f"{kpi}_change"], q["prev_change"]), kpi
        if kpi in COUNTS:
            assert row[COUNTS[kpi]] == q["numerator"], kpi
    # overdue: open past the resolution limit at the month's end, as the breach list says
    end = periods.to_ts(periods.shift(month, "month", 1))
    b = metrics.breaching(con, where={"outlet": busiest}, as_of=end, limit=None, config=DEFAULTS, scope=DataScope())
    assert row["overdue"] == b.filter(pl.col("stage") == "resolution").height


def test_ranks_are_the_fair_league_tables(con, month, outlets):
    last_day = periods.shift(month, "month", 1) - dt.timedelta(days=1)
    for kpi in ("first_time_fix_rate", "csat", "mttr", "complaint_rate"):
        league = metrics.rank(con, kpi, level="outlet", start=month, end=last_day, config=DEFAULTS, scope=DataScope())
        # the league's order, without the group of tickets that have no outlet (refunds and
        # consultations are handled centrally), numbered again
        order = [u for u, r in zip(league["outlet"].to_list(), league["rank"].to_list(), strict=True)
                 if u is not None and r is not None]
        got = dict(zip(outlets.table["outlet"].to_list(), outlets.table[f"{kpi}_rank"].to_list(), strict=True))
        assert {u: r for u, r in got.items() if r is not None} == {u: i + 1 for i, u in enumerate(order)}, kpi
    # the overall rank orders units by their mean KPI rank position
    t = outlets.table.drop_nulls("overall_rank").sort("overall_rank")
    assert t["overall_score"].is_sorted()


def test_technicians_per_outlet_and_their_rows(con, month):
    techs = scorecard(con, "technician", period=month, config=DEFAULTS, scope=DataScope())
    per_outlet = techs.table.group_by("outlet_id").len()
    assert per_outlet.height > 1 and per_outlet["len"].min() > 1  # by technician is not by outlet again
    # a technician's row equals the single-KPI API filtered on that technician
    tech = techs.table.sort("first_time_fix_rate_n", descending=True)["technician"][0]
    row = techs.row(tech)
    q = metrics.query(con, metrics=["first_time_fix_rate", "ticket_volume"], grain="month", start=month, end=month,
                      where={"technician": tech}, config=DEFAULTS, scope=DataScope())
    for r in q.to_dicts():
        assert _same(row[r["kpi"]], r["value"]) and row[f"{r['kpi']}_n"] == r["n_records"]
    # one outlet's technicians: the same values as in the network-wide card (ranks are among them)
    outlet = row["outlet_id"]
    mine = scorecard(con, "technician", period=month, where={"outlet": outlet}, config=DEFAULTS, scope=DataScope())
    assert tech in mine.table["technician"].to_list()
    assert _same(mine.row(tech)["first_time_fix_rate"], row["first_time_fix_rate"])


def test_own_and_outsourced_side_by_side(con, month):
    types = scorecard(con, "outlet_type", period=month, config=DEFAULTS, scope=DataScope())
    assert set(types.table["outlet_type"]) == {"own", "outsourced"}
    q = metrics.query(con, metrics=["first_time_fix_rate"], by=["outlet_type"], grain="month", start=month,
                      end=month, config=DEFAULTS, scope=DataScope())
    want = dict(zip(q["outlet_type"].to_list(), q["value"].to_list(), strict=True))
    for r in types.table.to_dicts():
        assert _same(r["first_time_fix_rate"], want[r["outlet_type"]])


@pytest.mark.parametrize("by", [["outlet"], ["technician"], ["product_model"], []])
def test_loss_causes_sum_to_first_time_fix_losses(con, by):
    losses = ftf_losses(con, by=by, grain="month", config=DEFAULTS, scope=DataScope())
    q = metrics.query(con, metrics=["first_time_fix_rate"], by=by, grain="month", config=DEFAULTS, scope=DataScope())
    keys = ["period_start", *by]
    got = losses.group_by(keys).agg(pl.col("count").sum().alias("lost"), pl.col("resolved").first())
    want = q.filter(pl.col("denominator") > pl.col("numerator")).select(
        *keys, (pl.col("denominator") - pl.col("numerator")).cast(pl.Int64).alias("want"),
        pl.col("denominator").cast(pl.Int64).alias("den"))
    j = want.join(got, on=keys, how="full", nulls_equal=True, coalesce=True)
    assert j.height > 0
    bad = j.filter((pl.col("lost") != pl.col("want")) | (pl.col("resolved") != pl.col("den"))
                   | pl.col("lost").is_null() | pl.col("want").is_null())
    assert bad.is_empty(), bad.head()
    assert set(losses["cause"]) == set(CAUSES)


def test_loss_cause_of_each_kind_of_first_visit():
    c = fixture_con()
    june = dt.datetime(2024, 6, 1)
    rows = [  # (ticket, resolution, visit 1's outcome or None for no visit, reopen count)
        ("P", "fixed", "need_parts", None), ("A", "fixed", "customer_absent", None),
        ("N", "fixed", "not_fixed", None), ("R", "fixed", "referred", None),
        ("H", "not_fixed", "fixed", None),  # fixed on visit 1 but the fix did not hold: not fixed
        ("X", "replaced", None, 0),  # no visit recorded, not fixed in the end: not fixed
        ("O", "fixed", None, 2),  # no visit recorded, fixed but reopened twice: other
        ("F", "fixed", "fixed", None),  # a first-time fix: no loss
    ]
    for tid, res, outcome, reopens in rows:
        c.execute("INSERT INTO tickets (ticket_id, channel, service_type, priority, status, outlet_id, customer_id,"
                  " product_model, created_at, resolved_at, resolution, is_complaint, reopen_count)"
                  " VALUES (?, 'jd', 'repair', 'normal', 'closed', 'O1', ?, 'M1', ?, ?, ?, FALSE, ?)",
                  [tid, f"C{tid}", june, june + dt.timedelta(days=2), res, reopens])
        if outcome:
            c.execute("INSERT INTO visits (visit_id, ticket_id, visit_no, started_at, outcome) VALUES (?, ?, 1, ?, ?)",
                      [f"V{tid}", tid, june + dt.timedelta(hours=5), outcome])
    got = ftf_losses(c, grain="month", start=june.date(), end=june.date(), scope=DataScope())
    counts = dict(zip(got["cause"].to_list(), got["count"].to_list(), strict=True))
    # 8 resolved, 1 first-time fix → 7 losses: P, A, R one each; N, H, X not fixed; O other
    assert counts == {"need_parts": 1, "customer_absent": 1, "not_fixed": 3, "referred": 1, "other": 1}
    assert set(got["resolved"]) == {8}
    r = metrics.query(c, metrics=["first_time_fix_rate"], grain="month", start=june.date(), end=june.date(),
                      scope=DataScope()).to_dicts()[0]
    assert r["denominator"] - r["numerator"] == sum(counts.values())


def test_unknown_level_and_unit_are_named(con, outlets):
    with pytest.raises(UserError, match="outlet, technician, outlet_type"):
        scorecard(con, "region", scope=DataScope())
    with pytest.raises(UserError, match="no outlet 'WD9999'"):
        outlets.row("WD9999")
