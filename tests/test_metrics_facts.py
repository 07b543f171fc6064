"""The derived tables the metrics read (``pipelines.derive``): they equal the joins they replace,
follow every later load, and a failed load leaves them as they were. Plus the SLA breaching list
and newest-first records built on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import metrics
from aftersales import model
from aftersales.config import DEFAULTS
from aftersales.errors import UserError
from aftersales.principal import DataScope
from pipelines import derive
from pipelines.load import load_paths
from tests.conftest import TICKET_HEADER, file_digest, table_rows, ticket_row, write
from tests.metrics_fixtures import shared_sample_db

VISIT_HEADER = "visit_id,ticket_id,visit_no,technician_id,visit_type,started_at,ended_at,travel_minutes,outcome"
SURVEY_HEADER = "survey_id,ticket_id,responded_at,satisfaction,nps,comment,survey_channel"


def _load(db: Path, *paths: Path):
    return load_paths(db, list(paths), show_progress=False)


def _differences(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Rows in the stored table and in its defining SELECT that the other lacks."""
    inline = derive.TABLES[name]()
    return con.execute(f"SELECT (SELECT count(*) FROM (FROM {name} EXCEPT ALL FROM ({inline})))"
                       f" + (SELECT count(*) FROM (FROM ({inline}) EXCEPT ALL FROM {name}))").fetchall()[0][0]


def _repair(tid: str, customer: str, created: str, resolved: str = "", outlet: str = "O1", updated: str = "") -> str:
    status = "resolved" if resolved else "open"
    row = ticket_row(tid, status=status, outlet=outlet, created=created, resolved=resolved,
                     resolution="fixed" if resolved else "", updated=updated)
    return row.replace(f",C{tid},", f",{customer},")


# -- equal to the joins ----------------------------------------------------------------------------


def test_ticket_facts_equal_the_joins_they_replace():
    path, _ = shared_sample_db()
    with duckdb.connect(str(path), read_only=True) as con:
        assert derive.existing(con) == set(derive.TABLES)
        for name in derive.TABLES:
            assert _differences(con, name) == 0, name
        # each derived column against an independent formulation of the join it replaces
        bad = con.execute("""
            SELECT count(*) FROM ticket_facts f
            JOIN tickets t USING (ticket_id)
            LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
            LEFT JOIN products p ON p.product_model = t.product_model
            WHERE f.region IS DISTINCT FROM o.region OR f.outlet_type IS DISTINCT FROM o.outlet_type
               OR f.product_category IS DISTINCT FROM p.product_category
               OR f.has_survey <> EXISTS (SELECT 1 FROM surveys s WHERE s.ticket_id = t.ticket_id)
               OR f.has_visit1 <> EXISTS (SELECT 1 FROM visits v WHERE v.ticket_id = t.ticket_id AND v.visit_no = 1)
               OR f.visit1_started_at IS DISTINCT FROM
                  (SELECT min(v.started_at) FROM visits v WHERE v.ticket_id = t.ticket_id AND v.visit_no = 1)
               OR f.next_repair_at IS DISTINCT FROM CASE WHEN t.service_type = 'repair' THEN
                  (SELECT min(n.created_at) FROM tickets n WHERE n.service_type = 'repair'
                     AND n.customer_id = t.customer_id AND n.product_model = t.product_model
                     AND n.created_at > t.resolved_at) END""").fetchall()[0][0]
        assert bad == 0
        assert con.execute("SELECT count(*) FROM ticket_facts").fetchall() == con.execute(
            "SELECT count(*) FROM tickets").fetchall()
        assert con.execute("SELECT count(*) FROM ticket_facts WHERE next_repair_at IS NOT NULL").fetchall()[0][0] > 0


def test_derived_columns_are_the_documented_ones():
    path, _ = shared_sample_db()
    source = {"ticket_facts": "tickets", "survey_facts": "surveys", "part_facts": "parts_used"}
    assert set(model.DERIVED) == set(derive.TABLES) == set(source)
    with duckdb.connect(str(path), read_only=True) as con:
        for name, (_, cols) in model.DERIVED.items():
            actual = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
            documented = {c for names, _, _ in cols for c in names.split(", ")}
            assert actual == set(model.TABLES[source[name]].column_names) | documented, name


def test_kpis_are_the_same_from_the_tables_and_from_the_joins(tmp_path):
    """The same query on the derived tables and, with them dropped, on the inline joins."""
    path, _ = shared_sample_db()
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    kw = dict(by=["region"], grain="month", config=DEFAULTS)
    with duckdb.connect(str(copy)) as con:
        stored = metrics.query(con, **kw, scope=DataScope()).sort("kpi", "period_start", "region")
        for name in derive.TABLES:
            con.execute(f"DROP TABLE {name}")
        assert metrics.compute.facts_source(con)["ticket_facts"].startswith("(")
        joined = metrics.query(con, **kw, scope=DataScope()).sort("kpi", "period_start", "region")
    assert len(stored) > 100
    # The stored path sums whole months from the rollup tables (metrics.rollup): sums of doubles
    # (hours, scores) added in another order may differ in the last bits, nothing more.
    assert_frame_equal(stored, joined, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


# -- refreshed by every load -----------------------------------------------------------------------


@pytest.fixture
def loaded(db_path, masters, tmp_path):
    tickets = write(tmp_path / "a" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        _repair("A1", "C1", "2024-01-05 09:00:00", "2024-01-06 10:00:00", updated="2024-01-06 10:00:00"),
        _repair("A2", "C2", "2024-01-07 09:00:00"),
        _repair("B1", "C9", "2024-01-03 09:00:00")]) + "\n")  # untouched by the later loads
    visits = write(tmp_path / "a" / "visits.csv", VISIT_HEADER + "\n"
                   + "V1,A1,1,T01,onsite,2024-01-05 15:00:00,2024-01-05 16:00:00,30,fixed\n")
    _load(db_path, *masters, tickets, visits)
    return db_path


def _facts(db: Path) -> dict[str, tuple]:
    rows = table_rows(db, "SELECT ticket_id, region, visit1_outcome, next_repair_at, has_survey, status FROM ticket_facts")
    return {r[0]: r[1:] for r in rows}


def _fresh(db: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        for name in derive.TABLES:
            assert _differences(con, name) == 0, name


def test_a_load_builds_the_facts(loaded):
    assert _facts(loaded) == {"A1": ("east", "fixed", None, False, "resolved"), "A2": ("east", None, None, False, "open"),
                              "B1": ("east", None, None, False, "open")}
    _fresh(loaded)


@pytest.mark.parametrize("patch", [True, False], ids=["patched", "rebuilt"])
def test_a_later_load_and_a_reexport_refresh_the_facts(loaded, tmp_path, monkeypatch, patch):
    # small data: every load touches a large share, so force each way of refreshing
    monkeypatch.setattr(derive, "FULL_REBUILD_SHARE", 1e9 if patch else 0.0)
    # a repeat repair of A1's customer and model, a survey on A1, and A2 re-exported as resolved
    later = write(tmp_path / "b" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        _repair("A3", "C1", "2024-01-20 09:00:00"),
        _repair("A2", "C2", "2024-01-07 09:00:00", "2024-01-08 09:00:00", updated="2024-01-08 09:00:00")]) + "\n")
    survey = write(tmp_path / "b" / "surveys.csv", SURVEY_HEADER + "\nS1,A1,2024-01-07 10:00:00,5,10,,sms\n")
    _load(loaded, later, survey)
    facts = _facts(loaded)
    assert facts["A1"] == ("east", "fixed", dt.datetime(2024, 1, 20, 9), True, "resolved")
    assert facts["A2"][-1] == "resolved" and facts["A3"][-1] == "open"
    assert table_rows(loaded, "SELECT count(*) FROM ticket_facts") == [(4,)]
    _fresh(loaded)
    # master data change: the outlet moves region, every one of its tickets follows
    outlets = write(tmp_path / "c" / "outlets.csv",
                    "outlet_id,outlet_name,region,city,city_tier,outlet_type,opened_on\n"
                    "O1,上海徐汇店,north,上海,1,own,2020-01-01\n")
    _load(loaded, outlets)
    assert {v[0] for v in _facts(loaded).values()} == {"north"}
    _fresh(loaded)
    # the same files again: nothing to do, nothing changes
    before = table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id")
    _load(loaded, later, survey)
    assert table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id") == before


def test_a_failed_load_leaves_the_facts_unchanged(loaded, tmp_path, monkeypatch):
    before = table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id")
    bad = write(tmp_path / "b" / "tickets.csv", "ticket_id,channel\nA9,tmall\n")  # required columns missing
    with pytest.raises(UserError):
        _load(loaded, bad)
    assert table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id") == before
    # the refresh itself failing: nothing of the load is published
    digest = file_digest(loaded)
    good = write(tmp_path / "c" / "tickets.csv", TICKET_HEADER + "\n" + _repair("A4", "C1", "2024-01-21 09:00:00") + "\n")

    def boom(con, full=False, **kw):
        con.execute("DELETE FROM ticket_facts")
        raise RuntimeError("refresh failed")

    monkeypatch.setattr(derive, "refresh", boom)
    with pytest.raises(RuntimeError, match="refresh failed"):
        _load(loaded, good)
    assert file_digest(loaded) == digest
    assert table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id") == before


def test_a_failed_rebuild_after_a_load_keeps_the_data_and_exact_metrics(loaded, tmp_path, monkeypatch, capsys):
    """A rebuild runs after its load has published the data. If it fails, the data stay loaded, the
    tables lag the ledger, the metrics compute the same rows inline, and the next load rebuilds."""
    monkeypatch.setattr(derive, "FULL_REBUILD_SHARE", 0.0)  # any touched ticket asks for a rebuild
    before = table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id")
    real_rebuild = derive._rebuild

    def boom(con, show_progress=False, piece_rows=None):
        con.execute("DELETE FROM ticket_facts")
        raise duckdb.OutOfMemoryException("rebuild failed")

    monkeypatch.setattr(derive, "_rebuild", boom)
    good = write(tmp_path / "c" / "tickets.csv", TICKET_HEADER + "\n" + _repair("A4", "C1", "2024-01-21 09:00:00") + "\n")
    messages = []
    res = load_paths(loaded, [good], show_progress=False, echo=messages.append)
    assert res[0].inserted == 1 and table_rows(loaded, "SELECT count(*) FROM tickets") == [(4,)]
    assert any("derived tables not rebuilt (" in m and "rebuild failed" in m for m in messages)
    assert table_rows(loaded, "SELECT * FROM ticket_facts ORDER BY ticket_id") == before  # stale, not emptied
    with duckdb.connect(str(loaded), read_only=True) as con:
        assert derive.current(con) == set()
        inline = metrics.query(con, ["ticket_volume"], grain=None, start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31), scope=DataScope())
    assert inline["value"].to_list() == [4]  # A4 counted, from the inline rows
    monkeypatch.setattr(derive, "_rebuild", real_rebuild)
    survey = write(tmp_path / "d" / "surveys.csv", SURVEY_HEADER + "\nS2,A4,2024-01-22 10:00:00,4,8,,sms\n")
    load_paths(loaded, [survey], show_progress=False)
    with duckdb.connect(str(loaded), read_only=True) as con:
        assert derive.current(con) == set(derive.TABLES)
    _fresh(loaded)
    assert table_rows(loaded, "SELECT count(*) FROM ticket_facts") == [(4,)]


# -- breaching and newest-first records -------------------------------------------------------------


def _breaching_by_hand(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> pl.DataFrame:
    """The dashboard's former Polars rule, on the open tickets: due = created_at + limit."""
    open_ = pl.from_arrow(con.sql(
        "SELECT t.ticket_id, t.service_type, t.created_at, t.first_response_at, "
        " (SELECT min(started_at) FROM visits v WHERE v.ticket_id = t.ticket_id AND v.visit_no = 1) AS v1 "
        "FROM tickets t WHERE t.status IN ('open', 'dispatched', 'in_progress') AND t.resolved_at IS NULL "
        "AND t.created_at <= $now", params={"now": now}).to_arrow_table())
    frames = []
    pending = {"first_response": pl.col("first_response_at").is_null(), "resolution": pl.lit(True),
               "onsite": pl.col("v1").is_null() & pl.col("service_type").is_in(["repair", "install", "delivery"])}
    for stage, cond in pending.items():
        hours = DEFAULTS["sla_hours"][stage]
        limit = pl.col("service_type").replace_strict({k: float(v) for k, v in hours.items() if k != "default"},
                                                      default=float(hours["default"]), return_dtype=pl.Float64)
        due = pl.col("created_at") + pl.duration(microseconds=(limit * 3_600_000_000).cast(pl.Int64))
        frames.append(open_.with_columns(stage=pl.lit(stage), due_at=due).filter(cond & (pl.col("due_at") <= now)))
    return pl.concat(frames).select("ticket_id", "stage", "due_at")


def test_breaching_lists_open_tickets_past_each_sla_stage():
    path, _ = shared_sample_db()
    with duckdb.connect(str(path), read_only=True) as con:
        now = con.execute("SELECT max(created_at) FROM tickets").fetchall()[0][0]
        got = metrics.breaching(con, config=DEFAULTS, limit=None, scope=DataScope())
        expected = _breaching_by_hand(con, now)
        assert len(got) == len(expected) > 0
        assert {"onsite", "resolution"} <= set(got["stage"])  # the sample answers every ticket in time
        assert (got.select("ticket_id", "stage", "due_at").sort("ticket_id", "stage").equals(
            expected.sort("ticket_id", "stage")))
        hours = got["overdue_hours"].to_list()
        assert hours == sorted(hours, reverse=True) and min(hours) >= 0
        assert got.columns[:4] == ["ticket_id", "stage", "due_at", "overdue_hours"]
        assert all(n is None or n.endswith("**") for n in got["customer_name"].to_list())
        # an earlier as-of: fewer tickets were due, and the limit keeps the most overdue
        earlier = metrics.breaching(con, config=DEFAULTS, as_of=now - dt.timedelta(days=20), limit=None,
                                    scope=DataScope())
        assert len(earlier) > 0 and earlier["due_at"].max() <= now - dt.timedelta(days=20)
        top = metrics.breaching(con, config=DEFAULTS, limit=5, scope=DataScope())
        assert top["overdue_hours"].to_list() == hours[:5]
        east = metrics.breaching(con, where={"region": "east"}, config=DEFAULTS, limit=None, scope=DataScope())
        ids = {r[0] for r in con.execute("SELECT ticket_id FROM ticket_facts WHERE region = 'east'").fetchall()}
        assert 0 < len(east) < len(got) and set(east["ticket_id"]) <= ids
        with pytest.raises(UserError, match="part_no"):
            metrics.breaching(con, where={"part_no": "P001"}, config=DEFAULTS, scope=DataScope())
        # some ticket columns only: the same rows, those columns (masked as before)
        few = metrics.breaching(con, config=DEFAULTS, limit=None, columns=["customer_name", "channel"],
                                scope=DataScope())
        assert few.columns == ["ticket_id", "stage", "due_at", "overdue_hours", "channel", "customer_name"]
        assert few.equals(got.select(few.columns))
        with pytest.raises(UserError, match="customer_secret"):
            metrics.breaching(con, config=DEFAULTS, columns=["channel", "customer_secret"], scope=DataScope())


def test_records_newest_first():
    path, _ = shared_sample_db()
    with duckdb.connect(str(path), read_only=True) as con:
        end = con.execute("SELECT max(created_at)::DATE FROM tickets").fetchall()[0][0]
        kw = dict(grain=None, start=end - dt.timedelta(days=60), end=end, config=DEFAULTS)
        oldest = metrics.records(con, "complaint_rate", limit=None, **kw, scope=DataScope())
        newest = metrics.records(con, "complaint_rate", limit=None, order="newest", **kw, scope=DataScope())
        assert len(oldest) > 20
        assert newest["ticket_id"].to_list() == oldest["ticket_id"].to_list()[::-1]
        page = metrics.records(con, "complaint_rate", limit=10, order="newest", **kw, scope=DataScope())
        assert page["ticket_id"].to_list() == newest["ticket_id"].to_list()[:10]
        assert page["customer_name"].to_list() == newest["customer_name"].to_list()[:10]
        with pytest.raises(UserError, match="order"):
            metrics.records(con, "complaint_rate", order="latest", **kw, scope=DataScope())


def test_whole_lists_read_the_ticket_columns_of_their_own_rows():
    """Whole lists fetch the ticket columns by row id (records with limit=None, breaching): the
    same frame as the join on ticket_id a page of records uses, each row its own ticket's."""
    path, _ = shared_sample_db()
    with duckdb.connect(str(path), read_only=True) as con:
        end = con.execute("SELECT max(created_at)::DATE FROM tickets").fetchall()[0][0]
        for kpi, start in (("complaint_rate", end - dt.timedelta(days=60)), ("backlog", end)):
            kw = dict(grain=None, start=start, end=end, config=DEFAULTS)
            whole = metrics.records(con, kpi, limit=None, **kw, scope=DataScope())
            assert len(whole) > 20, kpi
            assert whole.equals(metrics.records(con, kpi, limit=10**9, **kw, scope=DataScope())), kpi
        cols = ["channel", "outlet_id", "created_at", "resolution", "status"]
        facts = con.sql(f"SELECT ticket_id, {', '.join(cols)} FROM ticket_facts").pl()
        listed = metrics.breaching(con, config=DEFAULTS, limit=None, scope=DataScope())
        check = listed.select("ticket_id", *cols).join(facts, on="ticket_id", suffix="_facts")
        assert check.height == listed.height > 0
        for c in cols:
            assert check[c].equals(check[f"{c}_facts"]), c
