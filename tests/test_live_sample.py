"""The sample is live: `aftersales generate` ends its data yesterday (business time zone) unless
``--end`` pins it, so every relative period (last-month, last-week, the dashboard's default range)
falls on data. Tests pin ``end`` to stay deterministic; the report's refusal of an empty period
is in tests/test_report_cli.py."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from pipelines.generate import default_end, generate


def test_default_end_is_yesterday_in_shanghai():
    assert default_end(dt.date(2026, 12, 3)) == "2026-12-02"
    assert default_end(dt.date(2027, 1, 1)) == "2026-12-31"
    yesterday = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)
    assert default_end() == yesterday.isoformat()


def test_generate_without_end_runs_to_yesterday(tmp_path):
    summary = generate(tmp_path, tickets=2500, seed=3, start="2026-01-01", progress=False)
    yesterday = dt.date.fromisoformat(default_end())
    assert summary["end"] == yesterday.isoformat()
    last = pl.read_parquet(tmp_path / "tickets.parquet")["created_at"].max().date()
    # ~7 tickets a day: the last one falls within days of yesterday, never after it
    assert yesterday - dt.timedelta(days=7) <= last <= yesterday


def test_cli_end_pins_the_data(tmp_path, capsys):
    from aftersales.cli import main

    assert main(["generate", "--tickets", "800", "--seed", "3", "--start", "2026-01-01", "--end", "2026-03-31",
                 "--out", str(tmp_path)]) == 0
    with duckdb.connect() as con:
        last = con.execute("SELECT max(created_at)::DATE FROM read_parquet($p)",
                           {"p": str(tmp_path / "tickets.parquet")}).fetchall()[0][0]
    assert dt.date(2026, 3, 20) <= last <= dt.date(2026, 3, 31)
