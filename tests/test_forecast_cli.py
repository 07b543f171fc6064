"""`aftersales forecast` and `aftersales backtest` on a small database and on planners' files."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from aftersales import model
from aftersales.cli import main
from aftersales.principal import DataScope
from forecasts import store, synthetic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """The generator's sample data at 4,000 tickets, read straight into the canonical tables."""
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("fc")
    generate(root / "pq", tickets=4000, seed=7, end="2026-10-31", progress=False)
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
    reorder = store.read_reorder(small_db, run["run_id"], scope=DataScope())
    assert reorder.height > 0 and set(reorder["lead_time_source"]) <= {"master", "default"}
    assert not store.read_forecast(small_db, run["run_id"], scope=DataScope()).is_empty()

    assert main(["--db", str(small_db), "backtest", "parts", "--workers", "1", "--origins", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulated fill rate" in out and "MASE of the forecasts used (outer windows)" in out
    bt = store.latest_run(small_db, "backtest_parts")
    scores = store.read_backtest(small_db, bt["run_id"], scope=DataScope())
    assert {"rmsse", "bias", "mase", "mase_rel_zero", "fill_rate", "mean_stock_units"} <= set(scores["metric"])
    assert set(store.read_inventory_sim(small_db, bt["run_id"], scope=DataScope())["policy"]) == {"count", "baseline"}


def test_workload_from_a_planners_file(tmp_path, small_db, capsys):
    long = synthetic.daily_workload(n_series=2, seed=9, start=dt.date(2024, 1, 1), end=dt.date(2025, 6, 30))
    # plus a series of 10 days (too short) and one missing a day (a gap): both listed, not forecast
    short = pl.DataFrame({"unique_id": "short", "ds": pl.date_range(dt.date(2025, 6, 21), dt.date(2025, 6, 30),
                                                                     eager=True), "y": 3.0})
    gappy = long.filter(pl.col("unique_id") == long["unique_id"][0]).with_columns(pl.lit("gappy").alias("unique_id")) \
        .filter(pl.col("ds") != dt.date(2025, 3, 3))
    path = tmp_path / "mine.csv"
    pl.concat([long, short.cast(long.schema), gappy]).write_csv(path)
    db_run = store.latest_run(small_db, "workload")
    args = ["--db", str(small_db), "forecast", "workload", "--input", str(path), "--workers", "1",
            "--origins", "1", "--horizon", "28"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 series not forecast: gappy: 1 missing date(s)" in out and "short: too short" in out
    assert store.latest_run(small_db, "workload") == db_run  # the dashboard's default stays the pipeline's
    run = store.latest_run(small_db, "workload", source=None)
    assert run["source"] == str(path.resolve()) and run["n_series"] == 2 and run["freq"] == "D"
    assert run["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {n["unique_id"] for n in run["params"]["not_forecast"]} == {"gappy", "short"}
    assert run["summary"]["not_forecast"] == 2 and run["params"]["source"]["rows"] > 0
    assert store.read_history(small_db, run["run_id"], scope=DataScope())["unique_id"].n_unique() == 2
    fc = store.read_forecast(small_db, run["run_id"], scope=DataScope())
    assert fc.height == 2 * 28 and fc["ds"].min() == dt.date(2025, 7, 1)
    assert (fc["yhat_lower_80"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["yhat_upper_95"]).all()
    assert store.read_staffing(small_db, run["run_id"],
                               scope=DataScope()).is_empty()  # no staffing for a planner's file


def test_bad_files_are_named_with_row_and_column(tmp_path, small_db, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\na,2025-01-01,3\na,2025-01-02,lots\n", encoding="utf-8")
    assert main(["--db", str(small_db), "forecast", "workload", "--input", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "column y: a value that is not a number" in err and "row 3" in err and "bad.csv" in err
    monthly = tmp_path / "monthly.csv"
    pl.DataFrame({"unique_id": "a", "ds": [dt.date(2024, m, 1) for m in range(1, 13)], "y": 1.0}).write_csv(monthly)
    assert main(["--db", str(small_db), "forecast", "workload", "--input", str(monthly)]) == 2
    assert "workload series must be daily or weekly" in capsys.readouterr().err
    assert main(["--db", str(small_db), "forecast", "all", "--input", str(monthly)]) == 2


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "aftersales.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


MONTH_ENDS = [dt.date(2022 + m // 12, m % 12 + 1, calendar.monthrange(2022 + m // 12, m % 12 + 1)[1]) for m in range(24)]
CASES = {  # file body -> (exit code, what stderr says)
    "negative": ("unique_id,ds,y\n" + "".join(f"p,{d},{-1 if i == 4 else 2}\n" for i, d in enumerate(MONTH_ENDS)),
                 "column y: a negative value"),
    "broken_dates": ("unique_id,ds,y\n" + "".join(f"p,{d if i != 7 else d - dt.timedelta(days=1)},2\n"
                                                  for i, d in enumerate(MONTH_ENDS)),
                     "dates should be monthly on month ends (most dates are) as detected, but 1 row(s) break it: "
                     "row 9 (2022-08-30)"),
    "every_series_has_gaps": ("unique_id,ds,y\n" + "".join(f"{p},{d},1\n" for p in "ab" for i, d in enumerate(MONTH_ENDS)
                                                           if i % 5),
                              "no series can be forecast — 2 series not forecast: a: 4 missing date(s)"),
    "all_too_short": ("unique_id,ds,y\n" + "".join(f"{p},{d},1\n" for p in "ab" for d in MONTH_ENDS[:4]),
                      "no series can be forecast — 2 series not forecast: a: too short: 4 months"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_files_exit_2_with_one_message(tmp_path, name):
    body, message = CASES[name]
    f = tmp_path / f"{name}.csv"
    f.write_text(body, encoding="utf-8")
    db = tmp_path / "x.duckdb"
    got = _cli("--db", str(db), "forecast", "parts", "--input", str(f))
    assert got.returncode == 2, got.stderr
    assert message in got.stderr and "Traceback" not in got.stderr
    assert got.stderr.strip().count("\n") <= 4  # a few lines of what was read, then the one error
    assert not db.exists()  # nothing stored


def test_freq_and_calendar_options_are_checked(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("unique_id,ds,y\n" + "".join(f"a,{dt.date(2024, 1, 1) + dt.timedelta(days=k)},3\n" for k in range(40)),
                 encoding="utf-8")
    got = _cli("--db", str(tmp_path / "x.duckdb"), "forecast", "workload", "--input", str(f), "--freq", "w")
    assert got.returncode == 2 and "with --freq W, but 34 row(s) break it: row 3 (2024-01-02)" in got.stderr
    got = _cli("--db", str(tmp_path / "x.duckdb"), "forecast", "workload", "--input", str(f), "--country", "XX")
    assert got.returncode == 2 and "--country XX: no holiday calendar" in got.stderr
    ev = tmp_path / "ev.csv"
    ev.write_text("date,name,lower_window\n2024-06-18,sale,3\n", encoding="utf-8")
    got = _cli("--db", str(tmp_path / "x.duckdb"), "forecast", "workload", "--input", str(f), "--events", str(ev))
    assert got.returncode == 2 and "row 2, column lower_window" in got.stderr and "Traceback" not in got.stderr
    got = _cli("--db", str(tmp_path / "x.duckdb"), "forecast", "workload", "--fill-gaps", "zero")
    assert got.returncode == 2 and "apply to an --input file" in got.stderr


@pytest.mark.slow
def test_forecast_all_and_workload_backtest_on_the_database(small_db, capsys):
    assert main(["--db", str(small_db), "forecast", "all", "--workers", "2", "--origins", "2"]) == 0
    run = store.latest_run(small_db, "workload")
    assert run["source"] == "database" and not store.read_forecast(small_db, run["run_id"],
                                                                   scope=DataScope()).is_empty()
    assert main(["--db", str(small_db), "backtest", "workload", "--workers", "2", "--origins", "2"]) == 0
    out = capsys.readouterr().out
    assert "80% interval coverage" in out
    bt = store.latest_run(small_db, "backtest_workload")
    assert not store.read_backtest_forecasts(small_db, bt["run_id"], scope=DataScope()).is_empty()
