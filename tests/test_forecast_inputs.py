"""A planner's series file (forecasts/inputs.py): what refuses the file, what leaves a series out,
and where a series starts. No model is fitted here."""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from aftersales.errors import UserError
from forecasts import inputs

D = dt.date


def write(path: Path, header: str, rows: list[tuple]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in rows), encoding="utf-8")
    return path


def daily(uid: str, start: dt.date, n: int, y: float = 5.0, skip: tuple[int, ...] = ()) -> list[tuple]:
    return [(uid, start + dt.timedelta(days=k), y) for k in range(n) if k not in skip]


def test_series_start_at_their_own_first_date_and_end_at_the_files_last(tmp_path):
    # a: 60 days from 1 Jan; b: starts 31 days later; the file ends on day 60 (29 Feb 2024)
    f = write(tmp_path / "w.csv", "unique_id,ds,y", daily("a", D(2024, 1, 1), 60) + daily("b", D(2024, 2, 1), 29))
    got = inputs.prepare(f, "workload")
    firsts = dict(got.long.group_by("unique_id").agg(pl.col("ds").min()).iter_rows())
    assert firsts == {"a": D(2024, 1, 1), "b": D(2024, 2, 1)}  # b is not padded back to 1 Jan
    assert got.long.group_by("unique_id").agg(pl.col("ds").max())["ds"].to_list() == [D(2024, 2, 29)] * 2
    assert got.freq.code == "D" and got.cutoff == D(2024, 2, 29) and got.not_forecast == []
    assert len(got.sha256) == 64 and got.source()["rows"] == 89


def test_gaps_leave_a_series_out_unless_filled_with_zero(tmp_path):
    # b misses days 10, 11 and 40: 3 gaps; a is complete
    f = write(tmp_path / "g.csv", "unique_id,ds,y",
              daily("a", D(2024, 1, 1), 60) + daily("b", D(2024, 1, 1), 60, skip=(10, 11, 40)))
    got = inputs.prepare(f, "workload")
    assert got.long["unique_id"].unique().to_list() == ["a"]
    assert got.gaps == {"a": 0, "b": 3}
    [out] = got.not_forecast
    assert out["unique_id"] == "b" and "3 missing date(s)" in out["reason"] and "2024-01-11" in out["reason"]
    assert "--fill-gaps zero" in out["reason"]
    assert "in 1 series (count per series): b 3 (2024-01-11, 2024-01-12, 2024-02-10)" in inputs.gap_summary(got)
    filled = inputs.prepare(f, "workload", fill_gaps="zero")
    b = filled.long.filter(pl.col("unique_id") == "b")
    assert b.height == 60 and b.filter(pl.col("ds") == D(2024, 1, 11))["y"].to_list() == [0.0]
    assert filled.not_forecast == [] and any("counted as 0" in n for n in filled.notes)


def test_blank_values_are_missing_observations(tmp_path):
    rows = daily("a", D(2024, 1, 1), 40)
    rows[5] = ("a", rows[5][1], "")
    got = inputs.prepare(write(tmp_path / "b.csv", "unique_id,ds,y", rows), "workload", fill_gaps="zero")
    assert got.gaps == {"a": 1} and got.long.height == 40


def test_too_short_and_too_sparse_series_are_listed_with_why(tmp_path):
    rows = daily("long", D(2024, 1, 1), 120) + daily("short", D(2024, 4, 10), 20) \
        + daily("sparse", D(2024, 1, 1), 120, y=0.0)
    got = inputs.prepare(write(tmp_path / "s.csv", "unique_id,ds,y", rows), "workload", {"min_weekly_tickets": 1.0})
    why = {n["unique_id"]: n["reason"] for n in got.not_forecast}
    assert set(why) == {"short", "sparse"}
    assert why["short"].startswith("too short: 20 days") and "28" in why["short"]
    assert why["sparse"].startswith("too sparse: 0.00 a week")
    assert "2 series not forecast" in inputs.not_forecast_text(got)


def test_no_surviving_series_is_one_message(tmp_path):
    f = write(tmp_path / "x.csv", "unique_id,ds,y", daily("a", D(2024, 1, 1), 10) + daily("b", D(2024, 1, 1), 5))
    with pytest.raises(UserError, match="no series can be forecast — 2 series not forecast: a: too short"):
        inputs.prepare(f, "workload")


def test_weekly_workload_and_month_end_parts_are_accepted(tmp_path):
    sundays = [("a", D(2023, 1, 1) + dt.timedelta(weeks=k), 30) for k in range(60)]
    assert inputs.prepare(write(tmp_path / "w.csv", "unique_id,ds,y", sundays), "workload").freq.code == "W"
    ends = [(f"P{p}", D(2021 + m // 12, m % 12 + 1, calendar.monthrange(2021 + m // 12, m % 12 + 1)[1]), m % 3)
            for p in range(3) for m in range(30)]
    got = inputs.prepare(write(tmp_path / "m.csv", "sku,date,qty", ends), "parts")
    assert got.freq.code == "M" and got.freq.anchor == 31 and got.long.height == 90
    assert any("'sku' read as unique_id" in n for n in got.notes)
    with pytest.raises(UserError, match="workload series must be daily or weekly"):
        inputs.prepare(tmp_path / "m.csv", "workload")


@pytest.mark.parametrize("body, message", [
    ("", "is empty"),
    ("unique_id,ds,y\n", "header but no rows"),
    ("id,when,y\na,2024-01-01,1\n", "no column for ds"),
    ("unique_id,ds,y\na,2024-01-01,1\na,2024-01-08,-2\na,2024-01-15,3\n", "negative value .* row 3"),
    ("unique_id,ds,y\na,2024-01-01,1\na,2024-01-08,many\n", "column y: a value that is not a number .* row 3"),
    ("unique_id,ds,y\na,2024-01-01,1\na,01/08/2024,1\n", "column ds: a date that is not YYYY-MM-DD .* row 3"),
    ("unique_id,ds,y\na,2024-01-01,1\na,2024-01-01,2\n", "more than once \\(rows 2, 3\\)"),
    ("unique_id,ds,y\n" + "".join(f"a,2024-01-{1 + 7 * k:02d},1\n" for k in range(4)) + "a,2024-01-30,1\n",
     "weekly on Mondays .* row 6 \\(2024-01-30\\)"),
    ("series,id,ds,y\na,b,2024-01-01,1\n", "could each be unique_id"),
])
def test_bad_files_are_refused_naming_rows(tmp_path, body, message):
    f = tmp_path / "bad.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        inputs.prepare(f, "parts", freq=None)


def test_a_file_without_an_id_column_is_one_series(tmp_path):
    got = inputs.prepare(write(tmp_path / "calls.csv", "date,value", [(d, y) for _, d, y in daily("", D(2024, 1, 1), 40)]),
                         "workload")
    assert got.long["unique_id"].unique().to_list() == ["calls"]


def test_gbk_csv_with_chinese_headers_and_parquet_datetimes(tmp_path):
    body = "配件编号,日期,数量\n" + "".join(f"零件A,2024-{m:02d}-01,{m % 3}\n" for m in range(1, 13))
    (tmp_path / "gbk.csv").write_bytes(body.encode("gb18030"))
    got = inputs.prepare(tmp_path / "gbk.csv", "parts")
    assert got.long["unique_id"].unique().to_list() == ["零件A"] and got.freq == inputs.fq.Frequency("M", 1)
    stamps = [dt.datetime(2024, 1, 1) + dt.timedelta(weeks=k) for k in range(12)]
    pl.DataFrame({"unique_id": "a", "ds": stamps, "y": list(range(12))}).write_parquet(tmp_path / "w.parquet")
    got = inputs.prepare(tmp_path / "w.parquet", "parts")
    assert got.freq.code == "W" and got.long["y"].sum() == 66


def test_database_series_start_at_their_own_first_ticket():
    import duckdb

    from forecasts import series

    con = duckdb.connect()
    con.execute("CREATE TABLE outlets (outlet_id VARCHAR, region VARCHAR)")
    con.execute("CREATE TABLE tickets (created_at TIMESTAMP, outlet_id VARCHAR, service_type VARCHAR)")
    con.execute("INSERT INTO outlets VALUES ('o1', 'east'), ('o2', 'west')")
    # east has tickets on 1 and 3 March; west opened on 10 March; the data ends on 12 March
    con.execute("INSERT INTO tickets VALUES ('2026-03-01 09:00', 'o1', 'repair'), ('2026-03-03 10:00', 'o1', 'repair'),"
                " ('2026-03-10 11:00', 'o2', 'repair'), ('2026-03-12 12:00', 'o1', 'repair')")
    long = series.workload_series(con, ["region", "total"])
    spans = {u: (g["ds"].min(), g.height, g["y"].sum()) for (u,), g in long.group_by("unique_id")}
    assert spans == {"east/all": (D(2026, 3, 1), 12, 3.0), "west/all": (D(2026, 3, 10), 3, 1.0),
                     "all/all": (D(2026, 3, 1), 12, 4.0)}


def test_date_spellings():
    from forecasts.inputs import _date

    got = pl.select(_date(pl.Series(["2024-01-05", "2024/1/5", "2024-1-5 10:00", "2024-01-05T00:00:00", "2024-03",
                                     "05.01.2024", "2024-13-01"]))).to_series().to_list()
    assert got == [D(2024, 1, 5)] * 4 + [D(2024, 3, 1), None, None]
