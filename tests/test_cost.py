"""Cost of service on generated data: the cost KPIs against pandas computed from the raw generated
files; the generator's warranty flag and customer charges are realistic; an older database
without the warranty columns keeps working and gains them.

The expectations are computed from the files (pandas), never pinned: the generator's numbers may
change, the rules below may not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import metrics
from aftersales.config import DEFAULTS
from aftersales.db import create_schema, writer
from aftersales.principal import DataScope
from pipelines import derive
from pipelines.generate import generate
from pipelines.load import load_paths

RATES = DEFAULTS["cost"]
START, END = dt.date(2024, 1, 1), dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("cost")
    generate(root / "gen", tickets=3000, seed=5, start=str(START), end=str(END), progress=False)
    db = root / "cost.duckdb"
    load_paths(db, sorted((root / "gen").glob("*.parquet")), show_progress=False)
    raw = {t: pd.read_parquet(root / "gen" / f"{t}.parquet") for t in ("tickets", "visits", "parts_used", "outlets")}
    return db, raw


def ticket_costs(raw: dict[str, pd.DataFrame], rates: dict = RATES) -> pd.DataFrame:
    """Per resolved ticket: its parts, labour, travel, refund and total, each to the fen, as the
    KPI definitions say (pandas on the raw files); tickets with a visit lacking its end dropped."""
    t = raw["tickets"]
    t = t[t["resolved_at"].notna() & (t["status"] != "cancelled") & (t["resolution"] != "cancelled")].copy()
    v = raw["visits"].copy()
    v["hours"] = (v["ended_at"] - v["started_at"]).dt.total_seconds() / 3600
    v["onsite"] = v["visit_type"] != "workshop"
    v["unended"] = v["ended_at"].isna() | (v["ended_at"] < v["started_at"])
    per_visit = v.groupby("ticket_id").agg(hours=("hours", "sum"), onsite=("onsite", "sum"),
                                           minutes=("travel_minutes", "sum"), unended=("unended", "sum"))
    p = raw["parts_used"].drop(columns="ticket_id").merge(v[["visit_id", "ticket_id"]], on="visit_id")
    p["cost"] = p["quantity"] * p["unit_cost"]
    per_part = p.groupby("ticket_id").agg(parts=("cost", "sum"))
    t = t.join(per_visit, on="ticket_id").join(per_part, on="ticket_id")
    t[["hours", "onsite", "minutes", "unended", "parts"]] = t[["hours", "onsite", "minutes", "unended",
                                                                  "parts"]].fillna(0)
    t = t[t["unended"] == 0]
    rate = t["service_type"].map(rates["labour_rate_per_hour"]).fillna(rates["labour_rate_per_hour"]["default"])
    t["cost_parts"] = t["parts"].round(2)
    t["cost_labour"] = (t["hours"] * rate).round(2)
    t["cost_travel"] = (t["onsite"] * rates["travel_fee_per_visit"]
                        + t["minutes"] * rates["travel_rate_per_minute"]).round(2)
    t["cost_refunds"] = t["refund_amount"].fillna(0).round(2)
    t["cost_total"] = t["cost_parts"] + t["cost_labour"] + t["cost_travel"] + t["cost_refunds"]
    t["customer_charges"] = t["customer_charge"].fillna(0)
    t["month"] = t["resolved_at"].dt.to_period("M").dt.start_time.dt.date
    t["warranty"] = t["in_warranty"].map({True: "in", False: "out"})
    return t


SUMS = ("cost_total", "cost_parts", "cost_labour", "cost_travel", "cost_refunds", "customer_charges")


def test_cost_kpis_equal_pandas_on_the_raw_files(sample):
    db, raw = sample
    t = ticket_costs(raw)
    got = metrics.query(str(db), metrics=[*SUMS, "cost_per_ticket", "cost_per_repair", "warranty_share"],
                        grain="month", start=START, end=END, config=DEFAULTS, scope=DataScope())
    by = {(r["kpi"], r["period_start"]): r for r in got.to_dicts()}
    months = sorted(t["month"].unique())
    assert len(months) >= 12
    for m in months:
        sub = t[t["month"] == m]
        for kpi in SUMS:
            assert by[(kpi, m)]["value"] == pytest.approx(sub[kpi].sum(), rel=1e-9, abs=0.005), (kpi, m)
            assert by[(kpi, m)]["n_records"] == len(sub)
        assert by[("cost_per_ticket", m)]["value"] == pytest.approx(sub["cost_total"].mean(), rel=1e-9)
        rep = sub[sub["service_type"] == "repair"]
        if len(rep):
            assert by[("cost_per_repair", m)]["value"] == pytest.approx(rep["cost_total"].mean(), rel=1e-9)
            known = rep[rep["in_warranty"].notna()]
            assert by[("warranty_share", m)]["value"] == pytest.approx(known["in_warranty"].astype(bool).mean())
    # the total is the sum of its parts, to the fen
    whole = metrics.query(str(db), metrics=["cost_total", "cost_parts", "cost_labour", "cost_travel", "cost_refunds"],
                          grain=None, start=START, end=END, config=DEFAULTS, scope=DataScope())
    v = dict(zip(whole["kpi"], whole["value"], strict=True))
    assert v["cost_total"] == pytest.approx(v["cost_parts"] + v["cost_labour"] + v["cost_travel"] + v["cost_refunds"])
    assert min(v.values()) > 0


def test_cost_by_warranty_and_region_equal_pandas(sample):
    db, raw = sample
    t = ticket_costs(raw).merge(raw["outlets"][["outlet_id", "region"]], on="outlet_id", how="left")
    for dim in ("warranty", "region"):
        got = metrics.query(str(db), metrics=["cost_total"], by=[dim], grain=None, start=START, end=END,
                            config=DEFAULTS, scope=DataScope())
        want = t.groupby(t[dim].fillna("(none)"))["cost_total"].sum().to_dict()
        have = {("(none)" if r[dim] is None else r[dim]): r["value"] for r in got.to_dicts()}
        assert have.keys() == want.keys(), dim
        for k, w in want.items():
            assert have[k] == pytest.approx(w, rel=1e-9), (dim, k)


def test_the_labour_rate_in_the_config_changes_the_labour_cost(sample):
    db, raw = sample
    conf = {**DEFAULTS, "cost": {**RATES, "labour_rate_per_hour": {**RATES["labour_rate_per_hour"], "repair": 200.0}}}
    base = metrics.query(str(db), metrics=["cost_labour"], by=["service_type"], grain=None, start=START, end=END,
                         config=DEFAULTS, scope=DataScope())
    dear = metrics.query(str(db), metrics=["cost_labour"], by=["service_type"], grain=None, start=START, end=END,
                         config=conf, scope=DataScope())
    a = dict(zip(base["service_type"], base["value"], strict=True))
    b = dict(zip(dear["service_type"], dear["value"], strict=True))
    assert b["repair"] == pytest.approx(a["repair"] * 200 / RATES["labour_rate_per_hour"]["repair"], rel=1e-4)
    assert b["install"] == a["install"]  # other service types keep their rate
    want = ticket_costs(raw, conf["cost"])
    assert b["repair"] == pytest.approx(want.loc[want["service_type"] == "repair", "cost_labour"].sum(), rel=1e-9)


# -- the generator --------------------------------------------------------------------------------

def test_the_generator_writes_a_realistic_warranty_flag(sample):
    _, raw = sample
    t = raw["tickets"]
    repairs = t[t["service_type"] == "repair"]
    share = repairs["in_warranty"].astype(bool).mean()
    assert 0.6 < share < 0.9, share  # most repairs are in warranty, not all
    for st in ("install", "delivery", "exchange", "return"):
        assert t.loc[t["service_type"] == st, "in_warranty"].eq(True).all(), st  # the seller's or maker's to bear
    assert t.loc[t["service_type"].isin(["refund", "consult"]), "in_warranty"].isna().all()
    # a repeat repair of the same product carries the first ticket's flag
    assert (repairs.groupby(["customer_id", "product_model"])["in_warranty"].nunique() == 1).all()


def test_out_of_warranty_customers_pay_parts_and_labour(sample):
    _, raw = sample
    t = ticket_costs(raw)
    paid = t[(t["service_type"] == "repair") & (t["in_warranty"] == False)]  # noqa: E712
    covered = t[t["in_warranty"] == True]  # noqa: E712
    assert len(paid) > 30 and (covered["customer_charge"] == 0).all()
    fixed = paid[paid["resolution"] != "not_fixed"]
    assert (fixed["customer_charge"] >= fixed["cost_parts"] * 1.3 - 0.5).all()  # parts at list price, at least
    assert (fixed["customer_charge"] > 0).all()
    # nothing is charged before the work is done
    assert raw["tickets"].loc[raw["tickets"]["resolved_at"].isna(), "customer_charge"].isna().all()


# -- an older database ----------------------------------------------------------------------------

def test_an_older_database_without_the_warranty_columns(tmp_path, masters):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    create_schema(con)
    con.execute("INSERT INTO tickets (ticket_id, channel, service_type, status, created_at, resolved_at, resolution,"
                " refund_amount) VALUES ('OLD1', 'jd', 'refund', 'closed', '2024-06-02', '2024-06-03', 'refunded', 99.5)")
    derive.refresh(con)
    for table in ("tickets", "ticket_facts"):
        for col in ("in_warranty", "customer_charge"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    con.close()
    june = dict(grain="month", start=dt.date(2024, 6, 1), end=dt.date(2024, 6, 30), config=DEFAULTS)
    with duckdb.connect(str(db), read_only=True) as c:  # a reader, before any writer upgraded it
        r = {x["kpi"]: x for x in metrics.query(c, metrics=["cost_total", "warranty_share"], **june,
                                                scope=DataScope()).to_dicts()}
    assert r["cost_total"]["value"] == 99.5
    assert r["warranty_share"]["status"] == "no_data"  # no warranty recorded is not 0% in warranty
    with writer(db) as c:
        cols = {x[0] for x in c.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'tickets'").fetchall()}
        assert {"in_warranty", "customer_charge"} <= cols


def test_the_tickets_behind_a_cost_are_listed_with_their_costs(sample):
    db, raw = sample
    t = ticket_costs(raw)
    month = sorted(t["month"].unique())[6]
    want = t[(t["month"] == month) & (t["in_warranty"] == False)].set_index("ticket_id")  # noqa: E712
    rec = metrics.records(str(db), "cost_total", period_start=month, grain="month", where={"warranty": "out"},
                          config=DEFAULTS, limit=None, scope=DataScope())
    assert sorted(rec["ticket_id"].to_list()) == sorted(want.index) and len(want) > 3
    for r in rec.to_dicts():
        w = want.loc[r["ticket_id"]]
        assert r["counted"] and r["in_warranty"] is False
        for col, kpi in (("parts_cost", "cost_parts"), ("labour_cost", "cost_labour"), ("travel_cost", "cost_travel"),
                         ("refund_cost", "cost_refunds"), ("total_cost", "cost_total")):
            assert float(r[col]) == pytest.approx(w[kpi], abs=0.005), col
        assert float(r["customer_charge"]) == pytest.approx(w["customer_charge"])
        assert r["customer_name"] is None or "*" in r["customer_name"]  # masked, as every list of tickets
