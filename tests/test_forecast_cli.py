"""`aftersales forecast` and `aftersales backtest` on a small database and on planners' files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from aftersales import model
from aftersales.cli import main
from forecasts import store, synthetic


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """The generator's sample data at 4,000 tickets, read straight into the canonical tables."""
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("fc")
    generate(root / "pq", tickets=4000, seed=7, progress=False)
    db = root / "small.duckdb"
    con = duckdb.connect(str(db))
    con.execute(model.ddl())
    for t in model.TABLES.values():
        f = root / "pq" / f"{t.name}.parquet"
        if f.exists():
            cols = ", ".join(t.column_names)
            con.execute(f"INSERT INTO {t.name} ({cols}) SELECT {cols} FROM read_parquet('{f}')")
    con.close()
    return db


def test_parts_forecast_and_backtest_on_the_database(small_db, capsys):
    assert main(["--db", str(small_db), "forecast", "parts", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "parts run parts-" in out and "run out within their lead time" in out
    run = store.latest_run(small_db, "parts")
    reorder = store.read_reorder(small_db, run["run_id"])
    assert reorder.height > 0 and set(reorder["lead_time_source"]) <= {"master", "default"}
    assert not store.read_forecast(small_db, run["run_id"]).is_empty()

    assert main(["--db", str(small_db), "backtest", "parts", "--workers", "1", "--origins", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulated fill rate" in out and "bias" in out
    bt = store.latest_run(small_db, "backtest_parts")
    scores = store.read_backtest(small_db, bt["run_id"])
    assert {"rmsse", "bias", "fill_rate", "mean_stock_units"} <= set(scores["metric"])
    assert set(store.read_inventory_sim(small_db, bt["run_id"])["policy"]) == {"count", "baseline"}


def test_workload_from_a_planners_file(tmp_path, small_db, capsys):
    long = synthetic.daily_workload(n_series=2, seed=9, start=dt.date(2024, 1, 1), end=dt.date(2025, 6, 30))
    path = tmp_path / "mine.csv"
    long.write_csv(path)
    args = ["--db", str(small_db), "forecast", "workload", "--input", str(path), "--workers", "1",
            "--origins", "1", "--horizon", "28"]
    assert main(args) == 0
    run = store.latest_run(small_db, "workload")
    assert run["source"] == str(path.resolve()) and run["n_series"] == 2
    fc = store.read_forecast(small_db, run["run_id"])
    assert fc.height == 2 * 28 and fc["ds"].min() == dt.date(2025, 7, 1)
    assert (fc["yhat_lower_80"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["yhat_upper_95"]).all()
    assert store.read_staffing(small_db, run["run_id"]).is_empty()  # no staffing for a planner's file


def test_bad_files_are_named_with_row_and_column(tmp_path, small_db, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\na,2025-01-01,3\na,2025-01-02,lots\n", encoding="utf-8")
    assert main(["--db", str(small_db), "forecast", "workload", "--input", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3, column y" in err and "bad.csv" in err
    weekly = tmp_path / "weekly.csv"
    pl.DataFrame({"unique_id": "a", "ds": [dt.date(2025, 1, 6) + dt.timedelta(weeks=i) for i in range(20)],
                  "y": 1.0}).write_csv(weekly)
    assert main(["--db", str(small_db), "forecast", "workload", "--input", str(weekly)]) == 2
    assert "must be daily" in capsys.readouterr().err
    assert main(["--db", str(small_db), "forecast", "all", "--input", str(weekly)]) == 2


@pytest.mark.slow
def test_forecast_all_and_workload_backtest_on_the_database(small_db, capsys):
    assert main(["--db", str(small_db), "forecast", "all", "--workers", "2", "--origins", "2"]) == 0
    run = store.latest_run(small_db, "workload")
    assert run["source"] == "database" and not store.read_forecast(small_db, run["run_id"]).is_empty()
    assert main(["--db", str(small_db), "backtest", "workload", "--workers", "2", "--origins", "2"]) == 0
    out = capsys.readouterr().out
    assert "80% interval coverage" in out
    bt = store.latest_run(small_db, "backtest_workload")
    assert not store.read_backtest_forecasts(small_db, bt["run_id"]).is_empty()
