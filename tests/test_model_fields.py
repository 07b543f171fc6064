"""What real exports carry beyond events: a reopen count, the source's own SLA verdict, a
reassignment count; KPIs resting on them say which basis they used, and `no_data` where nothing
carries what they need. Plus: an older database gains the new columns; `summary` counts open
tickets the way the backlog KPI does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import metrics
from aftersales import model
from aftersales.cli import main
from aftersales.config import DEFAULTS
from aftersales.db import create_schema, writer
from aftersales.principal import DataScope
from metrics import registry as R
from pipelines import derive, status
from pipelines.cli import summary_lines
from pipelines.load import load_paths
from tests.conftest import write
from tests.metrics_fixtures import fixture_con

JUNE, JUNE_END = dt.date(2024, 6, 1), dt.date(2024, 6, 30)


def ts(day: int, hour: float = 0.0) -> dt.datetime:
    return dt.datetime(2024, 6, day) + dt.timedelta(hours=hour)


def insert(con, table: str, rows: list[dict]) -> None:
    for r in rows:
        con.execute(f"INSERT INTO {table} ({', '.join(r)}) VALUES ({', '.join('?' for _ in r)})", list(r.values()))


def ticket(i: int, **kw) -> dict:
    base = dict(ticket_id=f"T{i:04d}", channel="jd", service_type="repair", priority="normal", status="closed",
                outlet_id="O1", product_model="M1", customer_id=f"C{i}", created_at=ts(2),
                resolved_at=ts(3), resolution="fixed", is_complaint=False)
    base.update(kw)
    return base


@pytest.fixture
def con():
    c = fixture_con()
    insert(c, "outlets", [dict(outlet_id="O1", region="east", city="上海", outlet_type="own")])
    insert(c, "products", [dict(product_model="M1", product_category="washer")])
    yield c
    c.close()


def one(con, kpi: str) -> dict:
    df = metrics.query(con, metrics=[kpi], grain="month", start=JUNE, end=JUNE_END, config=DEFAULTS, scope=DataScope())
    rows = df.filter(df["period_start"] == JUNE).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_reopen_rate_without_any_reopen_information_is_no_data(con):
    # 4 resolved tickets, none carrying a reopening time or a reopen count: not "0%, met"
    insert(con, "tickets", [ticket(i) for i in range(4)])
    r = one(con, "reopen_rate")
    assert r["status"] == "no_data" and r["value"] is None
    assert r["denominator"] == 4  # the population is still reported


def test_reopen_rate_from_the_sources_reopen_count(con):
    # counts 0, 0, 2, 1 and one without a count: 2 reopened / 5 resolved = 0.4
    counts = [0, 0, 2, 1, None]
    insert(con, "tickets", [ticket(i, reopen_count=c) for i, c in enumerate(counts)])
    r = one(con, "reopen_rate")
    assert r["value"] == pytest.approx(2 / 5)
    assert r["status"] != "no_data"
    assert r["basis"] == "reopened_at: 1; reopen_count: 4"


def test_first_time_fix_from_reopen_count_where_visits_are_absent(con):
    # no visits at all: fixed & reopen_count 0 → first-time fix. Tickets: fixed/0 ✓, fixed/0 ✓,
    # fixed/3 ✗, not_fixed/0 ✗, fixed/None (excluded: neither a visit 1 nor a count) → 2 / 4
    insert(con, "tickets", [ticket(0, reopen_count=0), ticket(1, reopen_count=0), ticket(2, reopen_count=3),
                            ticket(3, reopen_count=0, resolution="not_fixed"), ticket(4)])
    r = one(con, "first_time_fix_rate")
    assert r["value"] == pytest.approx(2 / 4)
    assert r["basis"] == "reopen_count: 4"
    assert r["excluded_reason"] == "no_first_visit: 1"


def test_first_time_fix_states_both_bases_when_mixed(con):
    # T0 has visit 1 fixed (✓ by visit); T1 has no visits, reopen_count 0 (✓ by count): 2 / 2
    insert(con, "tickets", [ticket(0), ticket(1, reopen_count=0)])
    insert(con, "visits", [dict(visit_id="V0", ticket_id="T0000", visit_no=1, started_at=ts(2, 5), outcome="fixed")])
    r = one(con, "first_time_fix_rate")
    assert r["value"] == 1.0
    assert r["basis"] == "visit1: 1; reopen_count: 1"


def test_sla_compliance_uses_the_sources_verdict_where_present(con):
    # repair limit 72 h. T0: resolved in 24 h but the source says breached → not met;
    # T1: resolved in 100 h but the source says met → met; T2: no verdict, 24 h → met by the limit.
    # 2 met / 3 due; basis: 2 by the source's verdict, 1 by the configured limits.
    insert(con, "tickets", [
        ticket(0, created_at=ts(2), resolved_at=ts(3), sla_met_source=False),
        ticket(1, created_at=ts(2), resolved_at=ts(2, 100), sla_met_source=True),
        ticket(2, created_at=ts(2), resolved_at=ts(3)),
        ticket(3, created_at=ts(20), resolved_at=None, status="open")])  # as of: the latest ticket
    r = one(con, "sla_compliance")
    assert (r["numerator"], r["denominator"]) == (2, 3)
    assert r["basis"] == "source_verdict: 2; sla_hours: 1"


def test_sla_verdict_counts_a_ticket_closed_without_its_resolution_time(con):
    # closed with no resolved_at: without a verdict it is excluded; with one it counts
    insert(con, "tickets", [ticket(0, resolved_at=None, sla_met_source=True), ticket(1, resolved_at=None),
                            ticket(2, created_at=ts(20), resolved_at=None, status="open")])
    r = one(con, "sla_compliance")
    assert (r["numerator"], r["denominator"], r["n_excluded"]) == (1, 1, 1)


def test_reassign_count_is_loaded_and_checked(db_path, masters, tmp_path):
    header = "ticket_id,channel,service_type,status,created_at,reopen_count,reassign_count,sla_met_source\n"
    f = write(tmp_path / "in" / "tickets.csv", header
              + "A1,jd,repair,closed,2024-06-02 09:00:00,1,3,是\n"
              + "A2,jd,repair,closed,2024-06-02 09:00:00,0,0,否\n"
              + "A3,jd,repair,closed,2024-06-02 09:00:00,-1,0,\n")  # in_range: a count below 0
    res = load_paths(db_path, [*masters, f], show_progress=False)[-1]
    assert (res.inserted, res.quarantined) == (2, 1)
    with duckdb.connect(str(db_path), read_only=True) as c:
        assert c.execute("SELECT ticket_id, reopen_count, reassign_count, sla_met_source FROM tickets "
                         "ORDER BY 1").fetchall() == [("A1", 1, 3, True), ("A2", 0, 0, False)]
        assert c.execute("SELECT rule, column_name FROM quarantine").fetchall() == [("in_range", "reopen_count")]


def _old_database(path: Path) -> None:
    """A database as an earlier version made it: tables without the newer columns, and derived
    tables built from them."""
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute("INSERT INTO tickets (ticket_id, channel, service_type, status, created_at, resolved_at, resolution,"
                " reopened_at) VALUES ('OLD1', 'jd', 'repair', 'closed', '2024-06-02', '2024-06-03', 'fixed',"
                " '2024-06-05')")
    derive.refresh(con)
    for table in ("tickets", "ticket_facts"):
        for col in ("reopen_count", "reassign_count", "sla_met_source"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    for table in model.TABLES:
        con.execute(f"ALTER TABLE {table} DROP COLUMN _tie")
    con.close()


def test_an_older_database_keeps_working(tmp_path, masters):
    db = tmp_path / "old.duckdb"
    _old_database(db)
    # a reader, before any writer upgraded it: the new columns read as empty
    with duckdb.connect(str(db), read_only=True) as c:
        r = metrics.query(c, metrics=["reopen_rate"], grain="month", start=JUNE, end=JUNE_END, config=DEFAULTS,
                          scope=DataScope())
        assert r["value"].to_list() == [1.0]
    # a writer adds the columns, and the derived tables are rebuilt with them
    with writer(db) as c:
        cols = {r[0] for r in c.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'tickets'").fetchall()}
        assert {"reopen_count", "reassign_count", "sla_met_source", "_tie"} <= cols
        derive.refresh(c)
        assert derive.current(c) == set(derive.TABLES)
    f = write(tmp_path / "in" / "tickets.csv", "ticket_id,channel,service_type,status,created_at,reopen_count\n"
              "NEW1,jd,repair,open,2024-06-04 09:00:00,2\n")
    load_paths(db, [*masters, f], show_progress=False)
    with duckdb.connect(str(db), read_only=True) as c:
        assert c.execute("SELECT ticket_id, reopen_count FROM ticket_facts ORDER BY 1").fetchall() == [
            ("NEW1", 2), ("OLD1", None)]


def test_summary_counts_open_tickets_as_the_backlog_does(db_path, masters, tmp_path):
    # closed without a resolution time is not open (the backlog KPI does not count it); cancelled
    # is never open; open without resolved_at is. Open: A1, A2 → 2
    header = "ticket_id,channel,service_type,status,created_at,resolved_at\n"
    f = write(tmp_path / "in" / "tickets.csv", header
              + "A1,jd,repair,open,2024-06-02 09:00:00,\n"
              + "A2,jd,repair,in_progress,2024-06-02 09:00:00,\n"
              + "A3,jd,repair,closed,2024-06-02 09:00:00,\n"
              + "A4,jd,repair,cancelled,2024-06-02 09:00:00,\n"
              + "A5,jd,repair,resolved,2024-06-02 09:00:00,2024-06-03 09:00:00\n")
    load_paths(db_path, [*masters, f], show_progress=False)
    assert status.open_tickets(db_path) == 2
    assert any(line.endswith("; 2 open") for line in summary_lines(db_path))
    backlog = metrics.query(db_path, metrics=["backlog"], grain=None, start=JUNE, end=JUNE_END, config=DEFAULTS,
                            scope=DataScope())
    assert backlog["value"].to_list() == [2]


def test_the_basis_is_stated_beside_the_number_in_the_command(db_path, masters, tmp_path, capsys):
    # repair limit 72 h: A1 breached by the source's own verdict, A2 met by the configured limit
    header = "ticket_id,channel,service_type,status,created_at,resolved_at,resolution,sla_met_source\n"
    f = write(tmp_path / "in" / "tickets.csv", header
              + "A1,jd,repair,closed,2024-06-02 09:00:00,2024-06-02 10:00:00,fixed,否\n"
              + "A2,jd,repair,closed,2024-06-02 09:00:00,2024-06-02 10:00:00,fixed,\n"
              + "A3,jd,repair,open,2024-06-20 09:00:00,,,\n")
    load_paths(db_path, [*masters, f], show_progress=False)
    assert main(["--db", str(db_path), "kpi", "--metric", "sla_compliance", "--grain", "all",
                 "--from", "2024-06-01", "--to", "2024-06-30"]) == 0
    out = capsys.readouterr().out
    assert "依据" in out and "来源系统的SLA判定 1、按配置的时限判定 1" in out
    assert "50.0%" in out  # 1 met / 2 due


@pytest.mark.parametrize("kpi", ["survey_response_rate", "sla_onsite", "sla_first_response"])
def test_kpis_whose_data_was_never_loaded_are_no_data(con, kpi):
    # closed repair tickets, long past every limit, but no surveys, no visits, no first responses
    # loaded: 0% would read as "missed"; nothing says so
    insert(con, "tickets", [ticket(i, closed_at=ts(4)) for i in range(3)]
           + [ticket(9, created_at=ts(25), resolved_at=None, status="open")])
    r = one(con, kpi)
    assert r["status"] == "no_data" and r["value"] is None
    # one record carrying the data is enough for the number to stand
    if kpi == "survey_response_rate":
        insert(con, "surveys", [dict(survey_id="S1", ticket_id="T0000", responded_at=ts(5), satisfaction=5)])
    elif kpi == "sla_onsite":
        insert(con, "visits", [dict(visit_id="V1", ticket_id="T0000", visit_no=1, started_at=ts(2, 2))])
    else:
        con.execute("UPDATE tickets SET first_response_at = created_at + INTERVAL 30 MINUTE WHERE ticket_id = 'T0000'")
    assert one(con, kpi)["value"] is not None


def test_the_config_may_judge_every_ticket_by_the_limits(con):
    # the same tickets as above: by the limits alone, T0 (24 h) and T2 (24 h) meet 72 h, T1 (100 h) does not
    insert(con, "tickets", [
        ticket(0, created_at=ts(2), resolved_at=ts(3), sla_met_source=False),
        ticket(1, created_at=ts(2), resolved_at=ts(2, 100), sla_met_source=True),
        ticket(2, created_at=ts(2), resolved_at=ts(3)),
        ticket(3, created_at=ts(20), resolved_at=None, status="open")])
    conf = {**DEFAULTS, "sla_verdict": "limits"}
    df = metrics.query(con, metrics=["sla_compliance"], grain="month", start=JUNE, end=JUNE_END, config=conf,
                       scope=DataScope())
    r = df.filter(df["period_start"] == JUNE).to_dicts()[0]
    assert (r["numerator"], r["denominator"], r["basis"]) == (2, 3, "sla_hours: 3")
    with pytest.raises(Exception, match="sla_verdict"):
        metrics.query(con, metrics=["sla_compliance"], config={**DEFAULTS, "sla_verdict": "maybe"}, scope=DataScope())


def test_the_basis_in_words_for_cards_and_tables():
    k = R.KPIS["sla_compliance"]
    assert R.describe_basis(k, "source_verdict: 120; sla_hours: 8", "zh") == "来源系统的SLA判定 120、按配置的时限判定 8"
    assert R.describe_basis(k, "sla_hours: 8", "en") == "the configured limits (sla_hours) 8"
    assert R.describe_basis(k, None, "zh") is None
