"""Properties that must hold on any data (hypothesis chooses the data set's size and seed).

- proportions and their intervals lie in [0, 1]; NPS in [-100, 100]; intervals contain the value;
- a month recomputed from its days' numerators and denominators equals the month (flow KPIs;
  the backlog, a stock, equals its last day's);
- additive measures summed over any breakdown equal the total;
- an empty denominator gives an empty value, never zero.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from metrics import registry as R
from tests.metrics_fixtures import fixture_con, synth

START = dt.date(2024, 5, 1)
JUNE, JUNE_END = dt.date(2024, 6, 1), dt.date(2024, 6, 30)
AS_OF = dt.datetime(2024, 7, 30)
FLOW = [k for k in R.KPIS.values() if k.kind in ("count", "sum", "ratio", "mean", "nps") and k.base != "backlog"]
PROFILE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _db(n: int, seed: int):
    con = fixture_con()
    synth(con, tickets=n, seed=seed, start=str(START), days=90)
    return con


def _key(df: pl.DataFrame, dims: list[str]) -> dict:
    return {tuple(r[c] for c in ["kpi", *dims]): r for r in df.to_dicts()}


@PROFILE
@given(n=st.integers(20, 600), seed=st.integers(0, 10_000), by=st.sampled_from([[], ["region"], ["service_type"]]))
def test_values_in_range(n, seed, by):
    con = _db(n, seed)
    df = metrics.query(con, by=by, grain="week", start=START, end=dt.date(2024, 7, 29), config=DEFAULTS, as_of=AS_OF,
                       scope=DataScope())
    for r in df.to_dicts():
        k = R.KPIS[r["kpi"]]
        v, lo, hi = r["value"], r["ci_low"], r["ci_high"]
        if k.kind in ("ratio", "nps") and not r["denominator"]:
            assert v is None, r  # empty, never zero
        if v is None:
            continue
        if k.is_proportion:
            assert 0.0 <= v <= 1.0, r
        if k.kind == "nps":
            assert -100.0 <= v <= 100.0
        if lo is not None:
            assert lo <= v + 1e-9 and v <= hi + 1e-9, r
            if k.is_proportion:
                assert 0.0 <= lo <= hi <= 1.0
        if k.kind in ("count", "sum") and k.unit != "yuan":
            assert v >= 0


@PROFILE
@given(n=st.integers(20, 600), seed=st.integers(0, 10_000))
def test_month_equals_its_days(n, seed):
    con = _db(n, seed)
    kw = dict(start=JUNE, end=JUNE_END, config=DEFAULTS, as_of=AS_OF)
    month = _key(metrics.query(con, grain="month", **kw, scope=DataScope()), [])
    days = metrics.query(con, grain="day", **kw, scope=DataScope())
    for k in FLOW:
        d = days.filter(pl.col("kpi") == k.id)
        m = month.get((k.id,))
        if m is None:
            assert d.is_empty() or d["n_records"].sum() == 0
            continue
        assert d["numerator"].fill_null(0).sum() == pytest.approx(m["numerator"] or 0), k.id
        if m["denominator"] is not None:
            assert d["denominator"].sum() == pytest.approx(m["denominator"]), k.id
        assert d["n_records"].sum() == m["n_records"], k.id
        if m["value"] is None and k.evidence:  # no record carries what the KPI rests on
            assert m["status"] == "no_data", k.id
            continue
        if k.kind in ("ratio", "mean", "nps") and m["denominator"]:
            recomputed = d["numerator"].sum() / d["denominator"].sum() * k.scale * (100 if k.kind == "nps" else 1)
            assert recomputed == pytest.approx(m["value"]), k.id
    # the backlog is a stock: the month's is its last day's
    last = days.filter((pl.col("kpi") == "backlog") & (pl.col("period_start") == JUNE_END))
    if ("backlog",) in month:
        assert last["value"].to_list() == [month[("backlog",)]["value"]]


@PROFILE
@given(n=st.integers(20, 600), seed=st.integers(0, 10_000),
       dim=st.sampled_from(["region", "outlet_type", "channel", "service_type", "product_category", "priority",
                            "technician"]))
def test_breakdown_sums_to_total(n, seed, dim):
    con = _db(n, seed)
    kw = dict(grain="month", start=JUNE, end=JUNE_END, config=DEFAULTS, as_of=AS_OF)
    total = _key(metrics.query(con, **kw, scope=DataScope()), [])
    parts = metrics.query(con, by=[dim], **kw, scope=DataScope())
    for k in R.KPIS.values():
        if k.kind == "quantile" or dim not in k.allowed_dims() or (k.id,) not in total:
            continue
        p = parts.filter(pl.col("kpi") == k.id)
        t = total[(k.id,)]
        assert p["numerator"].fill_null(0).sum() == pytest.approx(t["numerator"] or 0), (k.id, dim)
        assert p["n_records"].sum() == t["n_records"], (k.id, dim)
        assert p["n_excluded"].sum() == t["n_excluded"], (k.id, dim)
        if t["denominator"] is not None:
            assert p["denominator"].fill_null(0).sum() == pytest.approx(t["denominator"]), (k.id, dim)


def test_empty_denominator_is_empty_not_zero():
    con = fixture_con()
    con.execute("INSERT INTO tickets (ticket_id, channel, service_type, status, created_at) "
                "VALUES ('T1', 'jd', 'consult', 'open', '2024-06-03 10:00')")
    df = metrics.query(con, metrics=["repair_success_rate", "complaint_rate", "mttr"], grain="month", start=JUNE,
                       end=JUNE_END, config=DEFAULTS, scope=DataScope())
    # no repair resolved in June: the repair KPIs have no row (nothing to count), and the
    # complaint flag is missing, so the rate is empty with the reason given
    r = df.filter(pl.col("kpi") == "complaint_rate").to_dicts()[0]
    assert r["value"] is None and r["denominator"] == 0 and r["status"] == "no_data"
    assert r["excluded_reason"] == "is_complaint_missing: 1" and r["completeness"] == 0.0
