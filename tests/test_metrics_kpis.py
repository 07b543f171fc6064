"""Each KPI on a small hand-built fixture, with the arithmetic written beside it.

All fixtures live in June 2024 (grain month) unless a test says otherwise; timestamps are naive
business time. ``row()`` fills in the columns a test does not care about.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

import metrics
from aftersales.config import DEFAULTS
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import periods
from metrics import registry as R
from tests.metrics_fixtures import fixture_con

JUNE = dt.date(2024, 6, 1)
TESTED: set[str] = set()  # KPI ids covered here; test_every_kpi_has_a_fixture_test checks it


def ts(day: int, hour: float = 0.0, month: int = 6) -> dt.datetime:
    return dt.datetime(2024, month, day) + dt.timedelta(hours=hour)


def insert(con, table: str, rows: list[dict]) -> None:
    for r in rows:
        cols = ", ".join(r)
        con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in r)})", list(r.values()))


_n = 0


def ticket(**kw) -> dict:
    global _n
    _n += 1
    base = dict(ticket_id=f"T{_n:05d}", channel="jd", service_type="repair", priority="normal", status="closed",
                outlet_id="O1", technician_id="W1", product_model="M1", customer_id=f"C{_n}",
                customer_name="张三丰", customer_phone="13812341234", created_at=ts(10), is_complaint=False)
    base.update(kw)
    return base


@pytest.fixture
def con():
    c = fixture_con()
    insert(c, "outlets", [dict(outlet_id="O1", region="east", city="上海", outlet_type="own"),
                          dict(outlet_id="O2", region="north", city="北京", outlet_type="outsourced")])
    insert(c, "products", [dict(product_model="M1", product_category="washer"),
                           dict(product_model="M2", product_category="tv")])
    yield c
    c.close()


def one(con, kpi: str, **kw) -> dict:
    TESTED.add(kpi)
    kw.setdefault("grain", "month")
    kw.setdefault("start", JUNE)
    kw.setdefault("end", dt.date(2024, 6, 30))
    df = metrics.query(con, metrics=[kpi], **kw, scope=DataScope())
    rows = df.filter(df["period_start"] == kw["start"]).to_dicts() if kw["grain"] else df.to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_ticket_volume(con):
    insert(con, "tickets", [ticket(created_at=ts(1)), ticket(created_at=ts(30, 23.9)), ticket(created_at=ts(15)),
                            ticket(created_at=ts(1, month=7))])  # July: not June
    r = one(con, "ticket_volume")
    assert r["value"] == 3 and r["n_records"] == 3  # 3 created in June
    assert r["ci_low"] is None  # a count has no sampling interval


def test_complaint_rate(con):
    insert(con, "tickets", [ticket(is_complaint=True), ticket(is_complaint=True), ticket(), ticket(), ticket(),
                            ticket(is_complaint=None)])
    # as of July: June is over (with the data ending on June 10, June would be provisional and only
    # 10/30 observed: completeness 5/6 × 1/3, see test_metrics_provisional.py)
    r = one(con, "complaint_rate", as_of=dt.datetime(2024, 7, 1))
    # 2 complaints / 5 tickets with a known flag = 0.4; the unflagged one is excluded
    assert r["value"] == pytest.approx(0.4)
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (2, 5, 1)
    assert r["completeness"] == pytest.approx(5 / 6)
    assert r["excluded_reason"] == "is_complaint_missing: 1"
    assert r["ci_low"] < 0.4 < r["ci_high"]


def test_complaints_per_1k_orders(con):
    insert(con, "tickets", [ticket(is_complaint=True, channel="jd"), ticket(is_complaint=True, channel="jd"),
                            ticket(is_complaint=True, channel="tmall"), ticket(channel="jd")])
    insert(con, "orders_daily", [dict(order_date=dt.date(2024, 6, 3), channel="jd", product_category="washer", orders=1500),
                                 dict(order_date=dt.date(2024, 6, 4), channel="jd", product_category="tv", orders=500),
                                 dict(order_date=dt.date(2024, 6, 4), channel="tmall", product_category="tv", orders=1000)])
    r = one(con, "complaints_per_1k_orders")
    # 3 complaints / 3,000 orders × 1,000 = 1.0
    assert r["value"] == pytest.approx(1.0) and (r["numerator"], r["denominator"]) == (3, 3000)
    df = metrics.query(con, metrics=["complaints_per_1k_orders"], by=["channel"], grain="month", start=JUNE,
                       end=dt.date(2024, 6, 30), scope=DataScope())
    by = {d["channel"]: d["value"] for d in df.to_dicts()}
    assert by == pytest.approx({"jd": 2 / 2000 * 1000, "tmall": 1 / 1000 * 1000})  # 1.0 and 1.0
    with pytest.raises(metrics.compute.UserError, match="channel, product_category"):
        metrics.query(con, metrics=["complaints_per_1k_orders"], by=["region"], scope=DataScope())


def test_complaints_per_1k_orders_needs_orders(con):
    insert(con, "tickets", [ticket(is_complaint=True)])
    with pytest.raises(metrics.compute.UserError, match="orders_daily"):
        metrics.query(con, metrics=["complaints_per_1k_orders"], start=JUNE, end=JUNE, scope=DataScope())
    # asked for everything: left out, not an error
    assert "complaints_per_1k_orders" not in metrics.query(con, start=JUNE, end=JUNE,
                                                           scope=DataScope())["kpi"].to_list()


def test_first_response_time(con):
    insert(con, "tickets", [ticket(first_response_at=ts(10, 0.5)), ticket(first_response_at=ts(10, 1.0)),
                            ticket(first_response_at=ts(10, 3.0)),
                            ticket(status="open", first_response_at=None),  # not yet responded: excluded
                            ticket(status="cancelled", first_response_at=None)])  # out of scope
    r = one(con, "first_response_time")
    # hours 0.5, 1, 3 → median 1.0
    assert r["value"] == pytest.approx(1.0) and r["n_records"] == 3
    assert r["excluded_reason"] == "not_yet_responded: 1"
    assert r["ci_low"] <= 1.0 <= r["ci_high"]


def _repair_rows():
    # resolved in June: A fixed (no repeat), B fixed but the customer came back in 10 days,
    # C fixed with a repeat after 40 days (outside the window), D not fixed, E replaced
    return [
        ticket(ticket_id="A", customer_id="c1", created_at=ts(1), resolved_at=ts(2), resolution="fixed"),
        ticket(ticket_id="B", customer_id="c2", created_at=ts(1), resolved_at=ts(3), resolution="fixed"),
        ticket(ticket_id="B2", customer_id="c2", created_at=ts(13), resolved_at=ts(14), resolution="fixed"),
        ticket(ticket_id="C", customer_id="c3", created_at=ts(1), resolved_at=ts(4), resolution="fixed"),
        ticket(ticket_id="C2", customer_id="c3", created_at=ts(14, month=7), resolved_at=ts(15, month=7),
               resolution="fixed"),
        ticket(ticket_id="D", customer_id="c4", created_at=ts(1), resolved_at=ts(5), resolution="not_fixed"),
        ticket(ticket_id="E", customer_id="c5", created_at=ts(1), resolved_at=ts(6), resolution="replaced"),
        # the same customer, another model: not a repeat of A
        ticket(ticket_id="A3", customer_id="c1", product_model="M2", created_at=ts(5), status="open"),
    ]


def test_repair_success_rate(con):
    insert(con, "tickets", _repair_rows())
    r = one(con, "repair_success_rate")
    # resolved repairs in June: A, B, B2, C, D, E = 6; successes: A, B2, C = 3 (B came back) → 0.5
    assert (r["numerator"], r["denominator"]) == (3, 6)
    assert r["value"] == pytest.approx(0.5)


def test_repeat_repair_rate(con):
    insert(con, "tickets", _repair_rows() + [
        # D (not fixed) comes back after 3 days: a repeat whatever D's resolution; D2 is still open
        ticket(ticket_id="D2", customer_id="c4", created_at=ts(8), status="open"),
        ticket(ticket_id="N", customer_id=None, created_at=ts(1), resolved_at=ts(2), resolution="fixed"),
    ])
    r = one(con, "repeat_repair_rate")
    # resolved repairs in June: A, B, B2, C, D, E = 6 (N has no customer: excluded);
    # repeated within 30 days: B (by B2) and D (by D2) = 2 → 1/3; C's repeat came after 40 days
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (2, 6, 1)
    assert r["value"] == pytest.approx(1 / 3)
    assert r["excluded_reason"] == "customer_or_model_missing: 1"

def test_first_time_fix_rate(con):
    insert(con, "tickets", [
        ticket(ticket_id="F1", created_at=ts(1), resolved_at=ts(2), resolution="fixed"),
        ticket(ticket_id="F2", created_at=ts(1), resolved_at=ts(4), resolution="fixed"),
        ticket(ticket_id="F3", created_at=ts(1), resolved_at=ts(4), resolution="not_fixed"),
        ticket(ticket_id="F4", created_at=ts(1), resolved_at=ts(4), resolution="fixed"),  # no visit recorded
    ])
    insert(con, "visits", [
        dict(visit_id="V1", ticket_id="F1", visit_no=1, started_at=ts(1, 5), outcome="fixed"),
        dict(visit_id="V2", ticket_id="F2", visit_no=1, started_at=ts(1, 5), outcome="need_parts"),
        dict(visit_id="V3", ticket_id="F2", visit_no=2, started_at=ts(3, 5), outcome="fixed"),
        dict(visit_id="V4", ticket_id="F3", visit_no=1, started_at=ts(1, 5), outcome="not_fixed"),
    ])
    r = one(con, "first_time_fix_rate")
    # fixed on visit 1: F1 only; denominator F1, F2, F3 (F4 has no visit 1: excluded) → 1/3
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (1, 3, 1)
    assert r["excluded_reason"] == "no_first_visit: 1"


def _mttr_rows():
    # repair tickets resolved in June after 10, 20, 30, 40 and 100 hours; one resolved "before"
    # it was created (broken, excluded); a non-repair ticket (out of scope)
    hours = [10, 20, 30, 40, 100]
    rows = [ticket(created_at=ts(1), resolved_at=ts(1, h), resolution="fixed") for h in hours]
    rows.append(ticket(created_at=ts(5), resolved_at=ts(4), resolution="fixed"))
    rows.append(ticket(service_type="install", created_at=ts(1), resolved_at=ts(1, 500), resolution="installed"))
    return rows


def test_mttr_mean(con):
    insert(con, "tickets", _mttr_rows())
    r = one(con, "mttr")
    # (10 + 20 + 30 + 40 + 100) / 5 = 40 hours
    assert r["value"] == pytest.approx(40.0) and (r["numerator"], r["denominator"]) == (200, 5)
    assert r["excluded_reason"] == "resolved_before_created: 1"
    assert r["ci_low"] < 40 < r["ci_high"]


def test_mttr_median(con):
    insert(con, "tickets", _mttr_rows())
    assert one(con, "mttr_median")["value"] == pytest.approx(30.0)  # 10 20 [30] 40 100


def test_mttr_p90(con):
    insert(con, "tickets", _mttr_rows())
    # linear interpolation at 0.9 × (5 − 1) = 3.6: 40 + 0.6 × (100 − 40) = 76
    assert one(con, "mttr_p90")["value"] == pytest.approx(76.0)


def test_refund_cycle_time(con):
    insert(con, "tickets", [
        ticket(service_type="refund", created_at=ts(1), refund_requested_at=ts(1, 2), refunded_at=ts(1, 14),
               resolved_at=ts(1, 14), resolution="refunded"),  # 12 h from request
        ticket(service_type="refund", created_at=ts(1), refund_requested_at=None, refunded_at=ts(2, 0),
               resolved_at=ts(2), resolution="refunded"),  # no request time: 24 h from creation
        ticket(service_type="refund", created_at=ts(1), refund_requested_at=ts(1), refunded_at=ts(3),
               resolved_at=ts(3), resolution="refunded"),  # 48 h
        ticket(service_type="refund", created_at=ts(1), resolved_at=ts(3), resolution="refunded"),  # no refunded_at
    ])
    r = one(con, "refund_cycle_time")
    assert r["value"] == pytest.approx(24.0) and r["n_records"] == 3  # 12 [24] 48
    assert r["excluded_reason"] == "refunded_at_missing: 1"


def test_reopen_rate(con):
    insert(con, "tickets", [
        ticket(created_at=ts(1), resolved_at=ts(2), reopened_at=ts(12)),  # reopened after 10 days: counts
        ticket(created_at=ts(1), resolved_at=ts(2), reopened_at=ts(20, month=7)),  # after 48 days: no
        ticket(created_at=ts(1), resolved_at=ts(3)), ticket(created_at=ts(1), resolved_at=ts(4)),
        ticket(created_at=ts(1), status="resolved", resolved_at=None),  # no time: excluded, placed by created
        ticket(created_at=ts(1), status="open"),  # not resolved: out of scope
    ])
    r = one(con, "reopen_rate")
    # 1 reopened within 30 days / 4 resolved = 0.25
    assert (r["numerator"], r["denominator"]) == (1, 4) and r["excluded_reason"] == "resolved_at_missing: 1"


def _surveys(con):
    tickets = [ticket(ticket_id=f"S{i}") for i in range(6)]
    insert(con, "tickets", tickets)
    # satisfaction 5, 5, 4, 3, 1, (none); nps 10, 9, 8, 6, 0, 10
    sat = [5, 5, 4, 3, 1, None]
    nps = [10, 9, 8, 6, 0, 10]
    insert(con, "surveys", [dict(survey_id=f"R{i}", ticket_id=f"S{i}", responded_at=ts(20), satisfaction=sat[i],
                                 nps=nps[i]) for i in range(6)])


def test_csat_top2(con):
    _surveys(con)
    r = one(con, "csat")
    # scores 5 5 4 3 1 → top-2-box 3 / 5 = 0.6 (one response without a score excluded)
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (3, 5, 1)


def test_csat_mean(con):
    _surveys(con)
    r = one(con, "csat_mean")
    assert r["value"] == pytest.approx((5 + 5 + 4 + 3 + 1) / 5)  # 18 / 5 = 3.6


def test_nps(con):
    _surveys(con)
    r = one(con, "nps")
    # promoters 10, 9, 10 = 3; detractors 6, 0 = 2; 6 answers → (3 − 2) / 6 × 100 = 16.7
    assert r["value"] == pytest.approx(100 / 6) and (r["numerator"], r["denominator"]) == (1, 6)
    assert -100 <= r["ci_low"] < r["value"] < r["ci_high"] <= 100


def test_survey_response_rate(con):
    insert(con, "tickets", [ticket(ticket_id=f"K{i}", created_at=ts(1), resolved_at=ts(2), closed_at=ts(3))
                            for i in range(4)])
    insert(con, "tickets", [ticket(ticket_id="K9", created_at=ts(1), status="resolved", resolved_at=ts(2))])
    insert(con, "surveys", [dict(survey_id="R1", ticket_id="K0", responded_at=ts(4), satisfaction=5),
                            dict(survey_id="R2", ticket_id="K0", responded_at=ts(5), satisfaction=4),  # 2nd answer
                            dict(survey_id="R3", ticket_id="K1", responded_at=ts(4), satisfaction=3)])
    r = one(con, "survey_response_rate")
    # closed in June: K0..K3 = 4; with a response: K0, K1 = 2 → 0.5 (K0's two answers count once)
    assert (r["numerator"], r["denominator"]) == (2, 4)


def test_sla_compliance(con):
    insert(con, "tickets", [
        ticket(created_at=ts(1), resolved_at=ts(1, 70)),  # repair limit 72 h: met
        ticket(created_at=ts(1), resolved_at=ts(1, 80)),  # late
        ticket(service_type="consult", created_at=ts(1), resolved_at=ts(1, 30)),  # consult limit 24 h: late
        ticket(created_at=ts(1), status="open"),  # open, due 4 June, as_of 20 June: breached
        ticket(created_at=ts(19), status="open"),  # due 22 June, after as_of: not yet due
    ])
    r = one(con, "sla_compliance", as_of=ts(20))
    # due: 4 tickets; met 1 → 0.25
    assert (r["numerator"], r["denominator"]) == (1, 4)
    # a config override of the consult limit makes the consult ticket on time
    cfg = {"sla_hours": {"resolution": {"default": 72.0, "consult": 48.0}}}
    r2 = one(con, "sla_compliance", as_of=ts(20), config=cfg)
    assert (r2["numerator"], r2["denominator"]) == (2, 4)


def test_sla_periods_follow_the_due_time_at_the_window_edges(con):
    insert(con, "tickets", [
        ticket(created_at=ts(10), resolved_at=ts(11)),  # due 13 June: in June
        ticket(created_at=ts(29), resolved_at=ts(30)),  # repair limit 72 h: due 2 July, not in June
        ticket(created_at=ts(30, month=5), resolved_at=ts(31, month=5)),  # created in May, due 2 June: in June
        ticket(created_at=ts(20, month=5), resolved_at=ts(21, month=5)),  # due 23 May: not in June
    ])
    r = one(con, "sla_compliance", grain=None, as_of=ts(5, month=7))
    assert (r["numerator"], r["denominator"]) == (2, 2)


def test_sla_first_response(con):
    insert(con, "tickets", [ticket(created_at=ts(1), first_response_at=ts(1, 0.5)),  # 1 h limit: met
                            ticket(created_at=ts(1), first_response_at=ts(1, 2)),  # late
                            ticket(created_at=ts(1), resolved_at=ts(2))])  # done without a response time
    r = one(con, "sla_first_response", as_of=ts(20))
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (1, 2, 1)  # 1 / 2


def test_sla_onsite(con):
    insert(con, "tickets", [ticket(ticket_id="N1", created_at=ts(1), resolved_at=ts(3)),
                            ticket(ticket_id="N2", created_at=ts(1), resolved_at=ts(4)),
                            ticket(ticket_id="N3", service_type="consult", created_at=ts(1))])  # no on-site stage
    insert(con, "visits", [dict(visit_id="V1", ticket_id="N1", visit_no=1, started_at=ts(1, 20), outcome="fixed"),
                           dict(visit_id="V2", ticket_id="N2", visit_no=1, started_at=ts(2, 6), outcome="fixed")])
    r = one(con, "sla_onsite", as_of=ts(20))
    # repair on-site limit 24 h: N1 at 20 h met, N2 at 30 h late → 1 / 2
    assert (r["numerator"], r["denominator"]) == (1, 2)


def test_backlog_and_ageing(con):
    insert(con, "tickets", [
        ticket(created_at=ts(1), status="open"),  # open at end of June, 29+ days old
        ticket(created_at=ts(28, 12), status="in_progress"),  # open, 2.5 days old at 1 July
        ticket(created_at=ts(20), resolved_at=ts(3, month=7)),  # open on 30 June, resolved in July
        ticket(created_at=ts(20), resolved_at=ts(25)),  # resolved in June: not backlog
        ticket(created_at=ts(20), status="cancelled"),  # cancelled: not backlog
        ticket(created_at=ts(1, month=5), status="open"),  # May, still open: 61 days at end of June
    ])
    r = one(con, "backlog", as_of=ts(10, month=7))
    assert r["value"] == 4  # open at 1 July 00:00
    r = one(con, "backlog_aged_7d", as_of=ts(10, month=7))
    assert (r["numerator"], r["denominator"]) == (3, 4)  # ages 30, 2.5, 11, 61 days: 3 over 7
    dist = metrics.distribution(con, "backlog_ageing", grain="month", start=JUNE, end=dt.date(2024, 6, 30),
                                as_of=ts(10, month=7), scope=DataScope())
    assert dict(zip(dist["bucket"], dist["count"], strict=True)) == {"1–3d": 1, "7–30d": 1, ">30d": 2}
    may = one(con, "backlog", as_of=ts(10, month=7), start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 31))
    assert may["value"] == 1  # only the May ticket was open on 1 June


@pytest.mark.parametrize("grain", ["month", "week", "day"])
def test_backlog_at_the_period_edges(con, grain):
    """Open at a period end E = created before E and resolved at or after it, to the microsecond,
    whichever period the ticket was created or resolved in."""
    e = dt.datetime(2024, 7, 1)  # a period start for every grain (a Monday)
    us = dt.timedelta(microseconds=1)
    insert(con, "tickets", [
        ticket(created_at=e - us, resolved_at=e),  # open at E: counted
        ticket(created_at=e - us, resolved_at=e - us),  # resolved just before: not
        ticket(created_at=e, resolved_at=e + dt.timedelta(hours=5)),  # created at E: not
        ticket(created_at=e - dt.timedelta(days=40), resolved_at=e),  # long open, resolved at E: counted
        ticket(created_at=e - dt.timedelta(days=40), resolved_at=e - dt.timedelta(days=39)),  # an earlier period
    ])
    last = periods.shift(e.date(), grain, -1)
    r = one(con, "backlog", grain=grain, start=last, end=e.date() - dt.timedelta(days=1), as_of=ts(10, month=7))
    assert r["value"] == 2


def _parts(con):
    insert(con, "tickets", [ticket(ticket_id="P1", technician_id="W1"), ticket(ticket_id="P2", outlet_id="O2")])
    insert(con, "visits", [dict(visit_id="V1", ticket_id="P1", visit_no=1, started_at=ts(2), technician_id="W9"),
                           dict(visit_id="V2", ticket_id="P2", visit_no=1, started_at=ts(3)),
                           dict(visit_id="V3", ticket_id="P2", visit_no=2, started_at=ts(2, month=7))])
    insert(con, "parts_used", [dict(visit_id="V1", part_no="A", quantity=2, unit_cost=10),
                               dict(visit_id="V1", part_no="B", quantity=1, unit_cost=None),
                               dict(visit_id="V2", part_no="A", quantity=3, unit_cost=10),
                               dict(visit_id="V3", part_no="A", quantity=5, unit_cost=10)])  # July


def test_parts_consumption(con):
    _parts(con)
    r = one(con, "parts_consumption")
    assert r["value"] == 6  # 2 + 1 + 3 in June
    df = metrics.query(con, metrics=["parts_consumption"], by=["part_no", "technician"], grain="month", start=JUNE,
                       end=dt.date(2024, 6, 30), scope=DataScope())
    got = {(d["part_no"], d["technician"]): d["value"] for d in df.to_dicts()}
    assert got == {("A", "W9"): 2, ("B", "W9"): 1, ("A", "W1"): 3}  # the visit's technician first


def test_parts_cost(con):
    _parts(con)
    r = one(con, "parts_cost")
    assert r["value"] == pytest.approx(2 * 10 + 3 * 10) and r["excluded_reason"] == "unit_cost_missing: 1"


def test_complaint_handling_time(con):
    # complaint tickets closed in June: 24 h, 72 h and 6 h from creation to closing; out of scope:
    # a cancelled complaint and a ticket that is no complaint; excluded: a complaint marked closed
    # without its closing time; a complaint closed in July counts in July.
    insert(con, "tickets", [
        ticket(is_complaint=True, closed_at=ts(11)), ticket(is_complaint=True, closed_at=ts(13)),
        ticket(is_complaint=True, closed_at=ts(10, 6)),
        ticket(is_complaint=True, status="cancelled", closed_at=ts(10, 1)), ticket(closed_at=ts(20)),
        ticket(is_complaint=True, closed_at=None), ticket(is_complaint=True, closed_at=ts(2, month=7))])
    mean = one(con, "complaint_handling_hours")
    assert mean["value"] == pytest.approx((24 + 72 + 6) / 3) and mean["n_records"] == 3  # = 34 h
    assert mean["excluded_reason"] == "closed_at_missing: 1"
    median = one(con, "complaint_handling_median")
    assert median["value"] == pytest.approx(24) and median["n_records"] == 3


def _costs(con) -> None:
    """June: A repair (2 h on site + 1.5 h in the workshop, 2 parts × 50), B install (1 h on site),
    C refund of 200, D repair whose visit has no end (not counted); July's E and cancelled F are out."""
    insert(con, "tickets", [
        ticket(ticket_id="A", created_at=ts(9), resolved_at=ts(10), in_warranty=True, customer_charge=0),
        ticket(ticket_id="B", service_type="install", created_at=ts(11), resolved_at=ts(12), in_warranty=False,
               customer_charge=50),
        ticket(ticket_id="C", service_type="refund", created_at=ts(14), resolved_at=ts(15), refund_amount=200),
        ticket(ticket_id="D", created_at=ts(18), resolved_at=ts(20), in_warranty=False, customer_charge=300),
        ticket(ticket_id="E", created_at=ts(29), resolved_at=ts(2, month=7)),
        ticket(ticket_id="F", status="cancelled", resolution="cancelled", created_at=ts(3), closed_at=ts(4))])
    insert(con, "visits", [
        dict(visit_id="VA1", ticket_id="A", visit_no=1, visit_type="onsite", started_at=ts(9, 10), ended_at=ts(9, 12),
             travel_minutes=30),
        dict(visit_id="VA2", ticket_id="A", visit_no=2, visit_type="workshop", started_at=ts(10, 8),
             ended_at=ts(10, 9.5), travel_minutes=0),
        dict(visit_id="VB1", ticket_id="B", visit_no=1, visit_type="onsite", started_at=ts(12, 8), ended_at=ts(12, 9),
             travel_minutes=45),
        dict(visit_id="VD1", ticket_id="D", visit_no=1, visit_type="onsite", started_at=ts(19, 8), travel_minutes=20),
        dict(visit_id="VE1", ticket_id="E", visit_no=1, visit_type="onsite", started_at=ts(1, 8, month=7),
             ended_at=ts(1, 9, month=7), travel_minutes=20),
        dict(visit_id="VF1", ticket_id="F", visit_no=1, visit_type="onsite", started_at=ts(3, 8), ended_at=ts(3, 9))])
    insert(con, "parts_used", [dict(visit_id="VA2", part_no="P1", ticket_id="A", quantity=2, unit_cost=50)])


def test_cost_of_service(con):
    _costs(con)
    # default rates: repair 80/h, install 60/h, 30 per on-site visit, travel minutes free
    expect = {"cost_parts": 100.0,                     # A: 2 × 50
              "cost_labour": 3.5 * 80 + 1 * 60,        # A: 2 h + 1.5 h at 80; B: 1 h at 60 = 340
              "cost_travel": 30.0 + 30.0,              # A's on-site visit, B's (A's workshop visit: none)
              "cost_refunds": 200.0,                   # C
              "cost_total": 100 + 340 + 60 + 200.0,    # 700
              "customer_charges": 50.0,                # B (D is not counted)
              "cost_per_ticket": 700 / 3,              # A, B, C
              "cost_per_repair": 410.0}                # A: 100 + 280 + 30
    for kpi, value in expect.items():
        r = one(con, kpi)
        assert r["value"] == pytest.approx(value), kpi
        assert r["excluded_reason"] == "visit_end_missing: 1", kpi  # D: its labour is unknown
    r = one(con, "warranty_share")
    assert r["value"] == 0.5 and r["n_records"] == 2  # A in, D out (its flag is known)
    df = metrics.query(con, metrics=["cost_total"], by=["warranty"], grain="month", start=JUNE, end=dt.date(2024, 6, 30), scope=DataScope())
    got = {d["warranty"]: d["value"] for d in df.filter(pl.col("period_start") == JUNE).to_dicts()}
    assert got == {"in": 410.0, "out": 90.0, None: 200.0}  # A; B; C carries no flag


def test_cost_rates_come_from_the_config(con):
    _costs(con)
    conf = {**DEFAULTS, "cost": {"labour_rate_per_hour": {"repair": 160, "default": 10}, "travel_fee_per_visit": 0,
                                 "travel_rate_per_minute": 2}}
    assert one(con, "cost_labour", config=conf)["value"] == pytest.approx(3.5 * 160 + 1 * 10)  # install: default
    assert one(con, "cost_travel", config=conf)["value"] == pytest.approx(2 * (30 + 0 + 45))  # minutes only


@pytest.mark.parametrize("bad, says", [
    ({"travel_fee_per_visit": -5}, "cost.travel_fee_per_visit"),
    ({"labour_rate_per_hour": {"repiar": 80}}, "cost.labour_rate_per_hour.repiar: not a service type"),
    ({"labour_rate_per_hour": {"repair": "80元"}}, "cost.labour_rate_per_hour.repair"),
])
def test_bad_cost_rates_are_named(con, bad, says):
    _costs(con)
    with pytest.raises(UserError, match=re.escape(says)):
        one(con, "cost_total", config={**DEFAULTS, "cost": bad})


def test_every_kpi_has_a_fixture_test():
    # runs last in this module (pytest keeps file order)
    assert set(R.KPIS) - TESTED == set()
