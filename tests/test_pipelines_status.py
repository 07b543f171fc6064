"""pipelines.status: the ledger, quarantine, freshness and data-range reads, on a real database
loaded from small hand-built exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from aftersales.db import DatabaseMissing, writer
from aftersales.errors import UserError
from pipelines import status
from pipelines.load import load_paths
from tests.conftest import TICKET_HEADER, ticket_row, write


@pytest.fixture
def loaded(db_path: Path, masters: list[Path], tmp_path: Path):
    rows = [
        ticket_row("A1", created="2024-01-05 09:03:00"),
        ticket_row("A2", created="2024-03-07 18:30:00", outlet="O2", tech="T02"),
        ticket_row("A3", channel="myspace"),  # known_value
        ticket_row("A4", outlet="O99"),  # known_reference
        ticket_row("A5", channel="friendster"),  # known_value
    ]
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n")
    results = load_paths(db_path, [*masters, tickets], show_progress=False, max_quarantined_share=1.0)
    return db_path, results


def test_ledger_lists_every_file_newest_first(loaded):
    db, results = loaded
    got = status.ledger(db)
    assert got.columns == list(status.LEDGER_COLUMNS)
    newest_first = sorted(results, key=lambda r: r.load_id, reverse=True)
    assert got["load_id"].to_list() == [r.load_id for r in newest_first]
    assert got["file_name"].to_list() == [Path(r.path).name for r in newest_first]
    tickets = got.filter(got["table_name"] == "tickets").row(0, named=True)
    assert (tickets["rows_read"], tickets["inserted"], tickets["quarantined"]) == (5, 2, 3)
    assert status.ledger(db, limit=1)["load_id"].to_list() == [got["load_id"].max()]
    assert status.ledger(db, limit=None).height == len(results)


def test_quarantine_rows_and_counts_by_rule(loaded):
    db, _ = loaded
    rows = status.quarantine(db)
    assert sorted(zip(rows["row_number"].to_list(), rows["rule"].to_list(), strict=True)) == [
        (3, "known_value"), (4, "known_reference"), (5, "known_value")]
    assert '"channel":"myspace"' in rows.filter(rows["row_number"] == 3)["raw"][0].replace(" ", "")
    assert "raw" not in status.quarantine(db, raw=False).columns
    counts = status.quarantine_counts(db)
    assert counts.rows() == [("known_value", 2), ("known_reference", 1)]
    # filters are exact values, bound as parameters (a quote is just a character)
    assert status.quarantine(db, rule="known_reference")["row_number"].to_list() == [4]
    assert status.quarantine_counts(db, rule="known_value").rows() == [("known_value", 2)]
    assert status.quarantine(db, file_name="tickets.csv' OR '1'='1").is_empty()
    assert status.quarantine(db, limit=1).height == 1


def test_bad_arguments_say_what_is_valid(loaded):
    db, _ = loaded
    with pytest.raises(UserError, match="valid: load_id, file_name, rule"):
        status.quarantine(db, message="x")
    with pytest.raises(UserError, match="limit"):
        status.ledger(db, limit=-1)
    with pytest.raises(UserError, match="unknown table 'loads'"):
        status.has_rows(db, "loads")
    with pytest.raises(UserError, match="not read through master data"):
        status.master_attribute(db, "channel")
    with pytest.raises(DatabaseMissing, match="nowhere.duckdb"):
        status.ledger(db.with_name("nowhere.duckdb"))


def test_freshness_per_table(loaded):
    db, _ = loaded
    fr = {r["table"]: r for r in status.freshness(db).to_dicts()}
    assert set(fr) == set(status.FRESHNESS_COLUMNS)
    assert fr["tickets"]["rows"] == 2
    assert fr["tickets"]["latest"] == dt.datetime(2024, 3, 7, 18, 30)
    assert fr["outlets"]["rows"] == 2 and fr["outlets"]["latest"] is None
    ledger = {r["table_name"]: r["finished_at"] for r in status.ledger(db).to_dicts()}
    assert fr["tickets"]["last_load"] == ledger["tickets"]
    assert fr["surveys"]["rows"] == 0 and fr["surveys"]["last_load"] is None


def test_data_range_and_optional_tables(loaded, tmp_path):
    db, _ = loaded
    assert status.data_range(db) == (dt.date(2024, 1, 5), dt.date(2024, 3, 7), dt.datetime(2024, 3, 7, 18, 30))
    assert status.has_rows(db, "tickets") and not status.has_rows(db, "orders_daily")
    empty = tmp_path / "empty" / "aftersales.duckdb"
    with writer(empty):
        pass
    assert status.data_range(empty) is None
    assert status.ledger(empty).is_empty() and status.quarantine_counts(empty).is_empty()


def test_master_attributes_as_metrics_joins_them(loaded):
    db, _ = loaded
    assert status.master_attribute(db, "region").rows() == [("O1", "east"), ("O2", "central")]
    assert status.master_attribute(db, "outlet_type").rows() == [("O1", "own"), ("O2", "outsourced")]


def test_a_given_connection_is_used_and_left_open(loaded):
    db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert status.data_range(con)[1] == dt.date(2024, 3, 7)
        assert status.ledger(con).height == 3
        assert con.execute("SELECT 1").fetchall() == [(1,)]
    finally:
        con.close()
