"""Stored runs: a round trip through DuckDB, the newest run, and reading before any run exists."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import polars as pl
import pytest

from aftersales import model
from aftersales.principal import DataScope
from forecasts import store


@pytest.fixture
def empty_db(tmp_path):
    path = tmp_path / "a.duckdb"
    con = duckdb.connect(str(path))
    con.execute(model.ddl())
    con.close()
    return path


def _run(kind="workload", **kw):
    values = pl.DataFrame({"unique_id": ["all/all"] * 2, "ds": [dt.date(2026, 11, 1), dt.date(2026, 11, 2)],
                           "model": "prophet", "chosen": True, "yhat": [10.0, float("nan")],
                           "yhat_lower_80": 8.0, "yhat_upper_80": 12.0, "yhat_lower_95": 7.0, "yhat_upper_95": 13.0})
    series = pl.DataFrame({"unique_id": ["all/all"], "model": ["prophet"], "reason": ["best"],
                           "score_metric": ["mase"], "score": [0.5], "baseline_score": [1.0], "scores": ['{"prophet":0.5}']})
    staffing = pl.DataFrame({"region": ["east"], "week_start": [dt.date(2026, 11, 2)], "tickets_expected": [70.0],
                             "hours_expected": [84.0], "hours_planned": [90.0], "plan_quantile": [0.8],
                             "technicians_needed": [2.6], "technicians_available": [2], "gap": [-0.6], "short": [True]})
    return store.Run(kind=kind, source="database", model="prophet|mstl", data_cutoff=dt.date(2026, 10, 31),
                     params={"horizon": 84, "nan": float("nan")}, n_series=1, workers=1, seconds=1.5,
                     summary={"mase": 0.5}, tables={"forecast_values": values, "forecast_series": series,
                                                    "staffing_plan": staffing}, **kw)


def test_round_trip(empty_db):
    assert store.latest_run(empty_db, "workload") is None
    assert store.read_forecast(empty_db, "nope", scope=DataScope()).is_empty()
    run_id = store.save_run(empty_db, _run())
    latest = store.latest_run(empty_db, "workload")
    assert latest["run_id"] == run_id and latest["params"] == {"horizon": 84, "nan": None}
    assert latest["data_cutoff"] == dt.date(2026, 10, 31) and latest["summary"] == {"mase": 0.5}
    fc = store.read_forecast(empty_db, run_id, scope=DataScope())
    assert fc.height == 2 and fc["yhat"].to_list() == [10.0, None]  # NaN stored as NULL
    assert store.read_series(empty_db, run_id, scope=DataScope())["reason"].to_list() == ["best"]
    assert store.read_staffing(empty_db, run_id, short_only=True, scope=DataScope())["gap"].to_list() == [-0.6]
    assert store.read_reorder(empty_db, run_id, scope=DataScope()).is_empty()


def test_latest_run_is_the_newest_of_its_kind(empty_db):
    first = store.save_run(empty_db, _run(run_id="workload-1"))
    store.save_run(empty_db, _run(kind="parts", run_id="parts-1"))
    second = store.save_run(empty_db, _run(run_id="workload-2"))
    assert store.latest_run(empty_db, "workload")["run_id"] in (second,)
    assert store.latest_run(empty_db, "parts")["run_id"] == "parts-1"
    assert set(store.list_runs(empty_db)["run_id"]) == {first, second, "parts-1"}
    assert json.loads(store.list_runs(empty_db, "parts")["params"][0])["horizon"] == 84


def test_failed_write_leaves_the_database_as_it_was(empty_db):
    store.save_run(empty_db, _run(run_id="workload-ok"))
    bad = _run(run_id="workload-bad")
    bad.tables["forecast_values"] = bad.tables["forecast_values"].drop("ds")  # NOT NULL column missing
    with pytest.raises(duckdb.Error):
        store.save_run(empty_db, bad)
    assert list(store.list_runs(empty_db)["run_id"]) == ["workload-ok"]


def test_a_table_stored_before_a_schema_change_is_migrated(empty_db):
    # A database whose staffing_plan predates plan_quantile and still has a required column the
    # schema has since dropped, with one old run in it.
    con = duckdb.connect(str(empty_db))
    con.execute(store.SCHEMA_SQL.read_text(encoding="utf-8"))
    con.execute("ALTER TABLE staffing_plan DROP COLUMN plan_quantile")
    con.execute("ALTER TABLE staffing_plan ADD COLUMN retired_col INTEGER NOT NULL DEFAULT 0")
    con.execute("ALTER TABLE staffing_plan ALTER COLUMN technicians_available SET DATA TYPE BIGINT")
    con.execute("INSERT INTO staffing_plan (run_id, region, week_start, tickets_expected, hours_expected, hours_planned, "
                "technicians_needed, technicians_available, gap, short, retired_col) "
                "VALUES ('old', 'east', DATE '2026-01-05', 1, 1, 1, 1, 1, 0, false, 7)")
    con.close()
    run_id = store.save_run(empty_db, _run())
    new = store.read_staffing(empty_db, run_id, scope=DataScope())
    assert new["plan_quantile"].to_list() == [0.8] and new["technicians_available"].dtype == pl.Int32
    old = store.read_staffing(empty_db, "old", scope=DataScope())
    assert old["plan_quantile"].to_list() == [None] and old["retired_col"].to_list() == [7]


def test_a_file_run_is_stored_with_its_source_and_kept_apart(empty_db):
    db_run = store.save_run(empty_db, _run(run_id="workload-db", freq="D"))
    history = pl.DataFrame({"unique_id": ["x", "x"], "ds": [dt.date(2026, 10, 4), dt.date(2026, 10, 11)], "y": [3.0, 4.0]})
    mine = _run(run_id="workload-file", freq="W", source_sha256="ab" * 32)
    mine.source = "/data/calls.csv"
    mine.tables["forecast_history"] = history
    store.save_run(empty_db, mine)
    # the dashboard's default stays the pipeline's run; the file run is one pick away
    assert store.latest_run(empty_db, "workload")["run_id"] == db_run
    newest = store.latest_run(empty_db, "workload", source=None)
    assert newest["run_id"] == "workload-file" and newest["freq"] == "W" and newest["source_sha256"] == "ab" * 32
    assert store.get_run(empty_db, "workload-file")["source"] == "/data/calls.csv"
    assert store.get_run(empty_db, "nope") is None
    assert store.read_history(empty_db, "workload-file", "x", scope=DataScope())["y"].to_list() == [3.0, 4.0]
    assert store.read_history(empty_db, db_run, scope=DataScope()).is_empty()


def test_runs_stored_before_source_columns_still_list(empty_db):
    con = duckdb.connect(str(empty_db))
    con.execute(store.SCHEMA_SQL.read_text(encoding="utf-8"))
    con.execute("ALTER TABLE forecast_runs DROP COLUMN source_sha256")
    con.execute("ALTER TABLE forecast_runs DROP COLUMN freq")
    con.execute("DROP TABLE forecast_history")
    con.execute("INSERT INTO forecast_runs VALUES ('workload-old', 'workload', TIMESTAMP '2026-01-01 08:00', "
                "DATE '2025-12-31', 'database', 'prophet', '{}', 1, 1, 1.0, '{}')")
    con.close()
    old = store.latest_run(empty_db, "workload")
    assert old["run_id"] == "workload-old" and old["freq"] is None
    assert store.read_history(empty_db, "workload-old", scope=DataScope()).is_empty()
    store.save_run(empty_db, _run(run_id="workload-new", freq="D"))  # migrates: the new columns are added
    assert store.list_runs(empty_db, "workload")["freq"].to_list() == ["D", None]
