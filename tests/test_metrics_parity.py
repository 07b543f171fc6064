"""Parity: each KPI's generated query against an independent, hand-written one on the sample data.

The hand-written queries are deliberately plain (correlated EXISTS, scalar subqueries, a calendar
cross join for the backlog): slow but obviously right. Every KPI is compared by month × region
(complaints per 1,000 orders by month × channel) over the whole sample.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import polars as pl
import pytest

import metrics
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from metrics import registry as R
from tests.metrics_fixtures import shared_sample_db

CREATED = "date_trunc('month', t.created_at)"
REGION = "LEFT JOIN outlets o ON o.outlet_id = t.outlet_id"
LIVE = "t.status <> 'cancelled' AND coalesce(t.resolution, '') <> 'cancelled'"
RESOLVED = f"t.resolved_at IS NOT NULL AND {LIVE}"
REPAIR = f"t.service_type = 'repair' AND {RESOLVED}"


def _limit(stage: str) -> str:
    limits = DEFAULTS["sla_hours"][stage]
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in limits.items() if k != "default")
    return f"(CASE t.service_type {whens} ELSE {limits['default']} END)" if whens else f"({limits['default']})"


def _sla(stage: str, done: str, extra_from: str = "", extra_where: str = "") -> str:
    due = f"t.created_at + to_microseconds(CAST({_limit(stage)} * 3600000000 AS BIGINT))"
    return f"""
        SELECT date_trunc('month', {due}) AS m, o.region,
               count(*) FILTER (WHERE {done} <= {due}) AS num, count(*) AS den
        FROM tickets t {REGION} {extra_from}
        WHERE t.status <> 'cancelled' {extra_where}
          AND ({due} <= (SELECT max(created_at) FROM tickets) OR {done} IS NOT NULL)
          AND NOT ({done} IS NULL AND t.status NOT IN ('open', 'dispatched', 'in_progress'))
        GROUP BY ALL"""


HOURS = "epoch({b} - {a}) / 3600.0"
MTTR = HOURS.format(a="t.created_at", b="t.resolved_at")
REFUND = HOURS.format(a="coalesce(t.refund_requested_at, t.created_at)", b="t.refunded_at")
FRT = HOURS.format(a="t.created_at", b="t.first_response_at")

BACKLOG_ROWS = """
    WITH ends AS (
      SELECT unnest(generate_series(date_trunc('month', (SELECT min(created_at) FROM tickets)) + INTERVAL 1 MONTH,
                                    date_trunc('month', (SELECT max(created_at) FROM tickets)) + INTERVAL 1 MONTH,
                                    INTERVAL 1 MONTH)) AS e
    )
    SELECT ends.e - INTERVAL 1 MONTH AS m, o.region,
           epoch(least(ends.e, (SELECT max(created_at) FROM tickets)) - t.created_at) / 86400.0 AS age
    FROM ends, tickets t LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
    WHERE t.created_at < ends.e AND t.status <> 'cancelled'
      AND (t.resolved_at >= ends.e OR (t.resolved_at IS NULL AND t.status IN ('open', 'dispatched', 'in_progress')))
"""

# Cost of service, per resolved ticket, with the default rates: correlated subqueries over its
# visits and parts. A ticket with a visit lacking a valid end or a part lacking a unit cost is not counted.
_RATES = DEFAULTS["cost"]["labour_rate_per_hour"]
_LABOUR_RATE = ("(CASE t.service_type " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in _RATES.items() if k != "default")
                + f" ELSE {_RATES['default']} END)")
# (each amount rounded to the fen per ticket)
_T_PARTS = ("coalesce((SELECT sum(p.quantity * p.unit_cost) FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id"
            " WHERE v.ticket_id = t.ticket_id), 0)")
_T_LABOUR = (f"round(coalesce((SELECT sum(epoch(v.ended_at - v.started_at) / 3600.0) FROM visits v"
             f" WHERE v.ticket_id = t.ticket_id), 0) * {_LABOUR_RATE}, 2)")
_T_TRAVEL = (f"round({DEFAULTS['cost']['travel_fee_per_visit']} * (SELECT count(*) FROM visits v"
             f" WHERE v.ticket_id = t.ticket_id AND coalesce(v.visit_type, '') <> 'workshop')"
             f" + {DEFAULTS['cost']['travel_rate_per_minute']}"
             " * coalesce((SELECT sum(v.travel_minutes) FROM visits v WHERE v.ticket_id = t.ticket_id), 0), 2)")
_T_REFUND = "coalesce(t.refund_amount, 0)"
_T_TOTAL = f"({_T_PARTS} + {_T_LABOUR} + {_T_TRAVEL} + {_T_REFUND})"
_COSTED = (f"{RESOLVED} AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.ticket_id = t.ticket_id"
           " AND NOT coalesce(v.ended_at >= v.started_at, FALSE))"
           " AND NOT EXISTS (SELECT 1 FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id"
           " WHERE v.ticket_id = t.ticket_id AND p.unit_cost IS NULL)")


def _cost(value: str, kind: str = "sum", where: str = "TRUE") -> str:
    den = "count(*)" if kind == "mean" else "NULL"
    return f"""SELECT date_trunc('month', t.resolved_at) AS m, o.region, sum({value}) AS num, {den} AS den
               FROM tickets t {REGION} WHERE {_COSTED} AND {where} GROUP BY ALL"""


HAND: dict[str, str] = {
    "cost_total": _cost(_T_TOTAL),
    "cost_parts": _cost(_T_PARTS),
    "cost_labour": _cost(_T_LABOUR),
    "cost_travel": _cost(_T_TRAVEL),
    "cost_refunds": _cost(_T_REFUND),
    "customer_charges": _cost("coalesce(t.customer_charge, 0)"),
    "cost_per_ticket": _cost(_T_TOTAL, "mean"),
    "cost_per_repair": _cost(_T_TOTAL, "mean", "t.service_type = 'repair'"),
    "warranty_share": f"""SELECT date_trunc('month', t.resolved_at) AS m, o.region,
                                count(*) FILTER (WHERE t.in_warranty) AS num, count(*) AS den
                          FROM tickets t {REGION}
                          WHERE t.service_type = 'repair' AND {RESOLVED} AND t.in_warranty IS NOT NULL GROUP BY ALL""",
    "ticket_volume": f"SELECT {CREATED} AS m, o.region, count(*) AS num, NULL AS den FROM tickets t {REGION} GROUP BY ALL",
    "complaint_rate": f"""SELECT {CREATED} AS m, o.region, count(*) FILTER (WHERE t.is_complaint) AS num,
                                count(t.is_complaint) AS den FROM tickets t {REGION} GROUP BY ALL""",
    "first_response_time": f"""SELECT {CREATED} AS m, o.region, median({FRT}) AS value FROM tickets t {REGION}
                               WHERE t.status <> 'cancelled' AND t.first_response_at >= t.created_at GROUP BY ALL""",
    "repair_success_rate": f"""
        SELECT date_trunc('month', t.resolved_at) AS m, o.region,
               count(*) FILTER (WHERE t.resolution = 'fixed' AND NOT EXISTS (
                   SELECT 1 FROM tickets n WHERE n.service_type = 'repair' AND n.customer_id = t.customer_id
                     AND n.product_model = t.product_model AND n.created_at > t.resolved_at
                     AND n.created_at <= t.resolved_at + INTERVAL 30 DAY)) AS num,
               count(*) AS den
        FROM tickets t {REGION}
        WHERE {REPAIR} AND t.resolution IS NOT NULL AND t.customer_id IS NOT NULL AND t.product_model IS NOT NULL
        GROUP BY ALL""",
    "repeat_repair_rate": f"""
        SELECT date_trunc('month', t.resolved_at) AS m, o.region,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM tickets n WHERE n.service_type = 'repair' AND n.customer_id = t.customer_id
                     AND n.product_model = t.product_model AND n.created_at > t.resolved_at
                     AND n.created_at <= t.resolved_at + INTERVAL 30 DAY)) AS num,
               count(*) AS den
        FROM tickets t {REGION}
        WHERE {REPAIR} AND t.customer_id IS NOT NULL AND t.product_model IS NOT NULL
        GROUP BY ALL""",
    "first_time_fix_rate": f"""
        SELECT date_trunc('month', t.resolved_at) AS m, o.region,
               count(*) FILTER (WHERE t.resolution = 'fixed' AND (SELECT min(v.outcome) FROM visits v
                   WHERE v.ticket_id = t.ticket_id AND v.visit_no = 1) = 'fixed') AS num,
               count(*) AS den
        FROM tickets t {REGION}
        WHERE {REPAIR} AND t.resolution IS NOT NULL
          AND EXISTS (SELECT 1 FROM visits v WHERE v.ticket_id = t.ticket_id AND v.visit_no = 1)
        GROUP BY ALL""",
    "mttr": f"""SELECT date_trunc('month', t.resolved_at) AS m, o.region, sum({MTTR}) AS num, count(*) AS den
                FROM tickets t {REGION} WHERE {REPAIR} AND t.resolved_at >= t.created_at GROUP BY ALL""",
    "mttr_median": f"""SELECT date_trunc('month', t.resolved_at) AS m, o.region, median({MTTR}) AS value
                       FROM tickets t {REGION} WHERE {REPAIR} AND t.resolved_at >= t.created_at GROUP BY ALL""",
    "mttr_p90": f"""SELECT date_trunc('month', t.resolved_at) AS m, o.region, quantile_cont({MTTR}, 0.9) AS value
                    FROM tickets t {REGION} WHERE {REPAIR} AND t.resolved_at >= t.created_at GROUP BY ALL""",
    "refund_cycle_time": f"""
        SELECT date_trunc('month', t.resolved_at) AS m, o.region, median({REFUND}) AS value
        FROM tickets t {REGION}
        WHERE t.service_type = 'refund' AND {RESOLVED} AND t.refunded_at >= coalesce(t.refund_requested_at, t.created_at)
        GROUP BY ALL""",
    "reopen_rate": f"""
        SELECT date_trunc('month', t.resolved_at) AS m, o.region,
               count(*) FILTER (WHERE t.reopened_at <= t.resolved_at + INTERVAL 30 DAY) AS num, count(*) AS den
        FROM tickets t {REGION} WHERE {RESOLVED} GROUP BY ALL""",
    "csat": """
        SELECT date_trunc('month', s.responded_at) AS m, o.region, count(*) FILTER (WHERE s.satisfaction >= 4) AS num,
               count(s.satisfaction) AS den
        FROM surveys s LEFT JOIN tickets t ON t.ticket_id = s.ticket_id LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
        GROUP BY ALL""",
    "csat_mean": """
        SELECT date_trunc('month', s.responded_at) AS m, o.region, sum(s.satisfaction) AS num, count(s.satisfaction) AS den
        FROM surveys s LEFT JOIN tickets t ON t.ticket_id = s.ticket_id LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
        GROUP BY ALL""",
    "nps": """
        SELECT date_trunc('month', s.responded_at) AS m, o.region,
               count(*) FILTER (WHERE s.nps >= 9) - count(*) FILTER (WHERE s.nps <= 6) AS num, count(s.nps) AS den
        FROM surveys s LEFT JOIN tickets t ON t.ticket_id = s.ticket_id LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
        GROUP BY ALL""",
    "survey_response_rate": f"""
        SELECT date_trunc('month', t.closed_at) AS m, o.region,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM surveys s WHERE s.ticket_id = t.ticket_id)) AS num,
               count(*) AS den
        FROM tickets t {REGION} WHERE t.closed_at IS NOT NULL GROUP BY ALL""",
    "sla_compliance": _sla("resolution", "t.resolved_at"),
    "sla_first_response": _sla("first_response", "t.first_response_at"),
    "sla_onsite": _sla("onsite", "v.started_at", "LEFT JOIN visits v ON v.ticket_id = t.ticket_id AND v.visit_no = 1",
                       "AND t.service_type IN ('repair', 'install', 'delivery')"),
    "backlog": f"SELECT m, region, count(*) AS num, NULL AS den FROM ({BACKLOG_ROWS}) GROUP BY ALL",
    "backlog_aged_7d": f"""SELECT m, region, count(*) FILTER (WHERE age > 7) AS num, count(*) AS den
                           FROM ({BACKLOG_ROWS}) GROUP BY ALL""",
    "parts_consumption": """
        SELECT date_trunc('month', v.started_at) AS m, o.region, sum(p.quantity) AS num, NULL AS den
        FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id LEFT JOIN tickets t ON t.ticket_id = v.ticket_id
        LEFT JOIN outlets o ON o.outlet_id = t.outlet_id GROUP BY ALL""",
    "parts_cost": """
        SELECT date_trunc('month', v.started_at) AS m, o.region, sum(p.quantity * p.unit_cost) AS num, NULL AS den
        FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id LEFT JOIN tickets t ON t.ticket_id = v.ticket_id
        LEFT JOIN outlets o ON o.outlet_id = t.outlet_id WHERE p.unit_cost IS NOT NULL GROUP BY ALL""",
    # complaint insight: hours from a complaint ticket's creation to its closing, by closing month
    "complaint_handling_hours": f"""
        SELECT date_trunc('month', t.closed_at) AS m, o.region, sum(epoch(t.closed_at - t.created_at) / 3600.0) AS num,
               count(*) AS den
        FROM tickets t {REGION}
        WHERE t.is_complaint AND t.status <> 'cancelled' AND t.closed_at >= t.created_at GROUP BY ALL""",
    "complaint_handling_median": f"""
        SELECT date_trunc('month', t.closed_at) AS m, o.region, median(epoch(t.closed_at - t.created_at) / 3600.0) AS value
        FROM tickets t {REGION}
        WHERE t.is_complaint AND t.status <> 'cancelled' AND t.closed_at >= t.created_at GROUP BY ALL""",
    "complaints_per_1k_orders": """
        SELECT coalesce(c.m, o.m) AS m, coalesce(c.channel, o.channel) AS region, coalesce(c.num, 0) AS num, o.den
        FROM (SELECT date_trunc('month', created_at) AS m, channel, count(*) FILTER (WHERE is_complaint) AS num
              FROM tickets GROUP BY ALL) c
        FULL JOIN (SELECT date_trunc('month', order_date) AS m, channel, sum(orders) AS den FROM orders_daily GROUP BY ALL) o
          ON c.m = o.m AND c.channel = o.channel""",
}


@pytest.fixture(scope="module")
def sample():
    con = duckdb.connect(str(shared_sample_db()[0]), read_only=True)
    lo, hi = con.execute("SELECT min(created_at)::DATE, max(created_at)::DATE FROM tickets").fetchall()[0]
    yield con, lo, hi
    con.close()


@pytest.fixture(scope="module")
def generated(sample):
    con, lo, hi = sample
    by_region = metrics.query(con, metrics=[k for k in R.KPIS if k != "complaints_per_1k_orders"], by=["region"],
                              grain="month", start=lo, end=hi, config=DEFAULTS, scope=DataScope())
    by_channel = metrics.query(con, metrics=["complaints_per_1k_orders"], by=["channel"], grain="month", start=lo,
                               end=hi, config=DEFAULTS, scope=DataScope()).rename({"channel": "region"})
    return pl.concat([by_region, by_channel])


def test_every_kpi_has_a_hand_written_query():
    assert set(HAND) == set(R.KPIS)


@pytest.mark.parametrize("kpi", list(R.KPIS))
def test_parity(kpi, sample, generated):
    con, lo, hi = sample
    hand = con.sql(f"SELECT CAST(m AS DATE) AS m, region, * EXCLUDE (m, region) FROM ({HAND[kpi]})"
                   " WHERE m >= $lo AND m <= $hi", params={"lo": lo.replace(day=1), "hi": hi}).pl()
    gen = generated.filter(pl.col("kpi") == kpi)
    k = R.KPIS[kpi]
    got = {(r["period_start"], r["region"]): r for r in gen.to_dicts()}
    want = {(r["m"], r["region"]): r for r in hand.to_dicts()}
    # the generated result also has rows for groups with no counted records (value empty)
    empty = {key for key, r in got.items() if (r["n_records"] or 0) == 0 and r["numerator"] in (None, 0)}
    assert set(want) == set(got) - empty or set(want) - set(got) == set(), (kpi, set(want) ^ set(got))
    assert want, f"no rows for {kpi}: the sample data should exercise every KPI"
    for key, w in want.items():
        g = got[key]
        if "value" in w:
            assert g["value"] == pytest.approx(w["value"], rel=1e-9, abs=1e-9), (kpi, key)
            continue
        assert g["numerator"] == pytest.approx(float(w["num"]), rel=1e-9), (kpi, key)
        if w["den"] is not None:
            assert g["denominator"] == pytest.approx(float(w["den"])), (kpi, key)
            expected = k.scale * float(w["num"]) / float(w["den"]) * (100 if k.kind == "nps" else 1) \
                if w["den"] else None
            if expected is None:
                assert g["value"] is None
            else:
                assert math.isclose(g["value"], expected, rel_tol=1e-9, abs_tol=1e-12), (kpi, key)


def test_sample_source_is_reported():
    # which data the parity ran on (the project's generator, or our own synth while it is missing)
    source = shared_sample_db()[1]
    assert source in ("pipelines.generate", "metrics synth")
    print(f"parity sample data from: {source}")


def test_drill_down_matches_breakdown(sample):
    """One outlet, one month: the narrow plan gives the same numbers as the broad one."""
    con, lo, hi = sample
    month = dt.date(hi.year, hi.month, 1) - dt.timedelta(days=1)
    month = month.replace(day=1)
    outlet = con.execute("SELECT outlet_id FROM tickets WHERE outlet_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
                         "LIMIT 1").fetchall()[0][0]
    kpis = [k for k in R.KPIS if k != "complaints_per_1k_orders"]
    narrow = metrics.query(con, metrics=kpis, grain="month", start=month, end=month, where={"outlet": outlet},
                           config=DEFAULTS, scope=DataScope())
    broad = metrics.query(con, metrics=kpis, by=["outlet"], grain="month", start=month, end=month, config=DEFAULTS,
                          scope=DataScope())
    broad = broad.filter(pl.col("outlet") == outlet).drop("outlet")
    cols = ["kpi", "value", "numerator", "denominator", "n_records", "prev_value", "yoy_value", "n_excluded"]
    a = narrow.select(cols).sort("kpi")
    b = broad.select(cols).sort("kpi")
    assert a["kpi"].to_list() == b["kpi"].to_list()
    for ra, rb in zip(a.to_dicts(), b.to_dicts(), strict=True):
        for c in cols[1:]:
            if ra[c] is None or rb[c] is None:
                assert ra[c] == rb[c], (ra["kpi"], c)
            else:
                assert ra[c] == pytest.approx(rb[c], rel=1e-9), (ra["kpi"], c)
