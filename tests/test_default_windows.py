"""Without dates, a KPI covers every record by its own date (created, resolved, answered ...)
up to the latest of them: nothing is left out by the window."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import metrics
from aftersales.cli import main
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from pipelines.load import load_paths
from tests.conftest import write
from tests.metrics_fixtures import fixture_con


def insert(con, table: str, rows: list[dict]) -> None:
    for r in rows:
        con.execute(f"INSERT INTO {table} ({', '.join(r)}) VALUES ({', '.join('?' for _ in r)})", list(r.values()))


def repair(i: int, created: dt.datetime, resolved: dt.datetime | None) -> dict:
    return dict(ticket_id=f"T{i}", channel="jd", service_type="repair", status="closed" if resolved else "open",
                created_at=created, resolved_at=resolved, resolution="fixed" if resolved else None)


def test_mttr_without_dates_counts_tickets_resolved_after_the_last_creation():
    con = fixture_con()
    # created 2023-01-10 .. 2024-06-01; T3 is resolved 40 days after the last ticket was created
    # MTTR = (24 + 48 + 960) / 3 = 344 h; a window ending at the latest created day would give 36 h
    insert(con, "tickets", [
        repair(1, dt.datetime(2023, 1, 10), dt.datetime(2023, 1, 11)),          # 24 h
        repair(2, dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 3)),            # 48 h
        repair(3, dt.datetime(2024, 5, 2), dt.datetime(2024, 6, 11)),           # 960 h
        repair(4, dt.datetime(2024, 6, 1), None)])
    r = metrics.query(con, metrics=["mttr"], grain=None, config=DEFAULTS, compare=False, scope=DataScope()).to_dicts()
    assert len(r) == 1
    assert r[0]["n_records"] == 3 and r[0]["n_excluded"] == 0
    assert r[0]["value"] == pytest.approx((24 + 48 + 960) / 3)
    assert r[0]["period_start"] == dt.date(2023, 1, 10) and r[0]["period_end"] == dt.date(2024, 6, 12)
    # with a grain, the last period is the one holding the latest resolution
    months = metrics.query(con, metrics=["mttr"], grain="month", config=DEFAULTS, compare=False, scope=DataScope())
    assert months["period_start"].max() == dt.date(2024, 6, 1)
    assert months["n_records"].sum() == 3


def test_each_kpi_reaches_its_own_latest_date():
    con = fixture_con()
    insert(con, "tickets", [repair(1, dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2))])
    insert(con, "surveys", [dict(survey_id="S1", ticket_id="T1", responded_at=dt.datetime(2024, 8, 20),
                                 satisfaction=5)])
    both = metrics.query(con, metrics=["ticket_volume", "csat"], grain="month", config=DEFAULTS, compare=False,
                         scope=DataScope())
    assert both["period_start"].min() == dt.date(2024, 3, 1)
    assert both["period_start"].max() == dt.date(2024, 8, 1)  # the survey's month, after the last ticket
    csat = both.filter(both["kpi"] == "csat")
    assert csat["n_records"].sum() == 1


def test_csat_on_a_database_holding_only_surveys(db_path, tmp_path, capsys):
    surveys = write(tmp_path / "in" / "surveys.csv", "survey_id,ticket_id,responded_at,satisfaction,nps\n"
                    "S1,T1,2024-06-02 10:00:00,5,10\nS2,T2,2024-06-03 10:00:00,3,6\n")
    load_paths(db_path, [surveys], show_progress=False)
    assert main(["--db", str(db_path), "kpi", "--metric", "csat", "--grain", "all", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # 1 of 2 responses scored 4 or 5
    assert [(r["kpi"], r["value"], r["n_records"]) for r in rows] == [("csat", 0.5, 2)]


def test_a_database_with_nothing_the_kpi_counts_says_so(tmp_path):
    con = fixture_con()
    with pytest.raises(Exception, match="nothing loaded yet that csat"):
        metrics.query(con, metrics=["csat"], config=DEFAULTS, scope=DataScope())
