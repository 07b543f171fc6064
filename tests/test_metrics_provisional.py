"""Provisional numbers (issue 15, item 1): a KPI × period not yet fully observed says so.

The October case is pinned on the sample generated deterministically (seed 7, data ending
2026-10-31, as the issue saw it): October's repair success cannot be final before the 30-day
recheck of its last repair has passed. Expectations are computed from the generated files with
pandas and from the registry's maturity rules, not pinned to generator-specific numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import metrics
from aftersales.principal import DataScope
from metrics import maturity
from metrics import registry as R
from tests.metrics_fixtures import _load_generated, create_schema, derive

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
END = "2026-10-31"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, Path]:
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("prov")
    generate(root / "gen", tickets=8_000, seed=7, end=END, progress=False)
    db = root / "s.duckdb"
    con = duckdb.connect(str(db))
    create_schema(con)
    _load_generated(con, root / "gen")
    derive.refresh(con)
    con.close()
    return db, root / "gen"


def _raw(gen: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(gen / f"{table}.parquet")


def _horizon(gen: Path) -> dt.datetime:
    """Midnight after the latest timestamp in the files (the day of the last record counts whole)."""
    t, s, v = _raw(gen, "tickets"), _raw(gen, "surveys"), _raw(gen, "visits")
    latest = max(t["created_at"].max(), t["resolved_at"].max(), t["closed_at"].max(), s["responded_at"].max(),
                 v["started_at"].max())
    return dt.datetime.combine(latest.date() + dt.timedelta(days=1), dt.time())


def _row(df, kpi: str, start: dt.date) -> dict:
    rows = [r for r in df.iter_rows(named=True) if r["kpi"] == kpi and r["period_start"] == start]
    assert len(rows) == 1, rows
    return rows[0]


def test_horizon_is_the_end_of_the_last_day_loaded(sample):
    db, gen = sample
    with duckdb.connect(str(db), read_only=True) as con:
        assert maturity.data_horizon(con) == _horizon(gen) == dt.datetime(2026, 11, 1)


def test_october_repair_success_is_provisional_until_its_recheck_closes(sample):
    db, gen = sample
    df = metrics.query(db, metrics=["repair_success_rate"], grain="month", start=dt.date(2026, 9, 1), end=OCT,
                       scope=DataScope())
    october = _row(df, "repair_success_rate", OCT)
    recheck = R.KPIS["repair_success_rate"].maturity.days
    assert recheck == R.REPEAT_REPAIR_DAYS == 30
    # the last October repair (resolved on the 31st) can be followed by a repeat until 30 days later
    assert october["status"] == "provisional"
    assert october["final_on"] == NOV + dt.timedelta(days=recheck) == dt.date(2026, 12, 1)
    assert october["value"] is not None
    # completeness: the share of October's repairs whose own 30 days have passed by the horizon
    t = _raw(gen, "tickets")
    rep = t[(t["service_type"] == "repair") & (t["status"] != "cancelled") & (t["resolution"] != "cancelled")
            & (t["resolved_at"] >= pd.Timestamp(OCT)) & (t["resolved_at"] < pd.Timestamp(NOV))]
    settled = (rep["resolved_at"] < pd.Timestamp(_horizon(gen) - dt.timedelta(days=recheck))).sum()
    assert october["n_excluded"] == 0 and october["n_records"] == len(rep)
    assert october["completeness"] == pytest.approx(settled / len(rep))
    assert october["completeness"] < 0.2
    # September's recheck closed on 2026-10-31, inside the data: final, judged against the target
    september = _row(df, "repair_success_rate", dt.date(2026, 9, 1))
    assert september["status"] in ("met", "missed") and september["final_on"] is None
    assert september["completeness"] == 1.0


def test_provisional_is_never_met_or_missed(sample):
    db, _ = sample
    df = metrics.query(db, grain="month", start=dt.date(2026, 7, 1), end=OCT, scope=DataScope())
    pending = df.filter(df["final_on"].is_not_null())
    assert pending.height >= 8  # recheck and survey KPIs in October at least
    for r in df.iter_rows(named=True):
        if r["final_on"] is not None:
            assert r["status"] in ("provisional", "no_data"), r
            assert r["final_on"] > r["period_end"] or r["final_on"] == r["period_end"]
        else:
            assert r["status"] != "provisional", r
    # ticket volume of October is final: the data cover October to its last day
    assert _row(df, "ticket_volume", OCT)["final_on"] is None


def test_surveys_wait_for_the_survey_lag_measured_from_the_data(sample):
    db, gen = sample
    horizon = _horizon(gen)
    t, s = _raw(gen, "tickets"), _raw(gen, "surveys")
    j = s.merge(t[["ticket_id", "created_at", "resolved_at"]], on="ticket_id")
    since = horizon - dt.timedelta(days=R.LAG_SPAN_DAYS)  # the data's last 90 days
    j = j[(j["responded_at"] >= pd.Timestamp(since)) & (j["responded_at"] >= j["resolved_at"])
          & (j["created_at"] >= pd.Timestamp(since - dt.timedelta(days=R.LAG_CAP_DAYS)))]
    lag = math.ceil(((j["responded_at"] - j["resolved_at"]).dt.total_seconds() / 86400).quantile(0.95))
    assert 0 < lag < R.LAG_CAP_DAYS
    df = metrics.query(db, metrics=["csat", "nps", "survey_response_rate"], grain="month", start=OCT, end=OCT,
                       scope=DataScope())
    for kpi in ("csat", "nps", "survey_response_rate"):
        r = _row(df, kpi, OCT)
        assert r["status"] == "provisional" and r["final_on"] == NOV + dt.timedelta(days=lag), (kpi, r)


def test_an_explicit_as_of_moves_the_horizon(sample):
    db, _ = sample
    late = metrics.query(db, metrics=["repair_success_rate"], grain="month", start=OCT, end=OCT,
                         as_of=dt.datetime(2026, 12, 1), scope=DataScope())
    assert _row(late, "repair_success_rate", OCT)["status"] in ("met", "missed")
    almost = metrics.query(db, metrics=["repair_success_rate"], grain="month", start=OCT, end=OCT,
                           as_of=dt.datetime(2026, 11, 30, 23), scope=DataScope())
    assert _row(almost, "repair_success_rate", OCT)["status"] == "provisional"
    # a date means the data through that day
    assert maturity.as_horizon(dt.date(2026, 11, 30)) == dt.datetime(2026, 12, 1)


def test_the_current_period_is_provisional_and_as_complete_as_it_is_old(sample):
    db, _ = sample
    as_of = dt.datetime(2026, 10, 16)  # 15 of October's 31 days observed
    df = metrics.query(db, metrics=["ticket_volume", "mttr"], grain="month", start=OCT, end=OCT, as_of=as_of,
                       scope=DataScope())
    for kpi in ("ticket_volume", "mttr"):
        r = _row(df, kpi, OCT)
        assert r["status"] == "provisional" and r["final_on"] == NOV
        assert r["completeness"] == pytest.approx(15 / 31)


# -- hand-built: the arithmetic of completeness ------------------------------------------------------

def test_completeness_counts_the_records_whose_window_has_closed():
    from tests.metrics_fixtures import fixture_con

    con = fixture_con()
    # four repairs resolved in October 2024 on the 1st, 5th, 20th and 31st; as of 2024-11-10 the
    # 30-day recheck has closed for those resolved before 2024-10-11: 2 of 4 settled = 0.5
    for i, day in enumerate((1, 5, 20, 31)):
        con.execute("INSERT INTO tickets (ticket_id, channel, service_type, priority, status, customer_id, product_model,"
                    " created_at, resolved_at, closed_at, resolution, is_complaint) VALUES (?, 'jd', 'repair', 'normal',"
                    " 'closed', ?, 'M1', ?, ?, ?, 'fixed', FALSE)",
                    [f"T{i}", f"C{i}", dt.datetime(2024, 10, day), dt.datetime(2024, 10, day, 12),
                     dt.datetime(2024, 10, day, 13)])
    r = _row(metrics.query(con, metrics=["repair_success_rate"], grain="month", start=dt.date(2024, 10, 1),
                           end=dt.date(2024, 10, 31), as_of=dt.datetime(2024, 11, 10), scope=DataScope()),
             "repair_success_rate", dt.date(2024, 10, 1))
    assert r["status"] == "provisional" and r["final_on"] == dt.date(2024, 12, 1)
    assert r["value"] == 1.0 and r["completeness"] == 0.5
    con.close()


# -- where it shows: the report (HTML, CSV, XLSX), the dashboard's cards, tables, downloads, charts ----

@pytest.fixture(scope="module")
def october_report(sample, tmp_path_factory):
    from aftersales.config import load_config
    from aftersales.db import connect_readonly
    from reports import content, period, writer

    db, _ = sample
    con = connect_readonly(db)
    try:
        report = content.build(con, period.parse("2026-10", dt.date(2026, 11, 5)), lang="zh",
                               config=load_config(None, db), scope=DataScope())
    finally:
        con.close()
    paths = writer.write(report, ["html", "csv", "xlsx"], tmp_path_factory.mktemp("report"))
    return report, {p.suffix[1:]: p for p in paths}


def test_the_report_says_provisional_with_the_date(october_report):
    import csv
    import io
    import re
    import zipfile

    report, paths = october_report
    html = paths["html"].read_text(encoding="utf-8")
    card = re.search(r'<div class="card st-(\w+)" data-kpi="repair_success_rate">(.*?)</div></div>', html, re.S)
    assert card and card[1] == "provisional"
    assert '<span class="badge st-provisional">暂定,2026-12-01定稿</span>' in card[2]
    assert "维修成功率(2026-12-01定稿)" in " ".join(report.warnings)
    rows = {r["kpi"]: r for r in csv.DictReader(io.StringIO(paths["csv"].read_bytes().decode("utf-8")[1:]))}
    assert (rows["repair_success_rate"]["status"], rows["repair_success_rate"]["final_on"]) == ("provisional", "2026-12-01")
    assert rows["ticket_volume"]["final_on"] == "" and rows["ticket_volume"]["status"] == "no_target"
    with zipfile.ZipFile(paths["xlsx"]) as z:
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert "暂定" in strings and "定稿日期" in strings


def test_the_dashboard_says_provisional_with_the_date(sample):
    from dashboard import charts, ui

    db, _ = sample
    df = metrics.query(db, metrics=["repair_success_rate"], grain="month", start=dt.date(2026, 8, 1), end=OCT,
                       scope=DataScope())
    assert ui.status_badge("provisional", "zh", dt.date(2026, 12, 1)) == ":orange-badge[暂定,2026年12月1日定稿]"
    shown = ui.format_values(df, "zh")
    assert shown["status"].to_list()[-1] == "暂定,2026年12月1日定稿"
    assert shown["status"].to_list()[0] in ("达标", "未达标")
    assert ui._status_words(df, "en")["status"].to_list()[-1] == "Provisional, final on 1 Dec 2026"  # downloads
    fig = charts.trend(df, "repair_success_rate", "zh", "month")
    solid = [t for t in fig.data if t.mode == "lines+markers" and not (t.line and t.line.dash)]
    dashed = [t for t in fig.data if t.line and t.line.dash == "dash"]
    assert solid[0].y[-1] is None  # October is not on the solid line ...
    assert len(dashed) == 1 and dashed[0].y[-1] == pytest.approx(df["value"][-1])  # ... but on the dashed one
    assert dashed[0].marker.symbol == "diamond-open" and "暂定" in dashed[0].text[-1]


def test_the_overview_card_says_provisional(sample, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db, _ = sample
    monkeypatch.setenv("AFTERSALES_DB", str(db))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.caption)
    # the latest month on the sample is October: repair success waits for its recheck, not judged
    # the badge short and the date as text beside it (a badge does not wrap: narrow cards cut it)
    assert ":orange-badge[暂定] · 2026年12月1日定稿" in captions
    at.selectbox(key="mover").set_value("repair_success_rate").run()  # biggest movers of a provisional month
    assert "最近一期为暂定值(2026年12月1日定稿)" in " ".join(c.value for c in at.caption)


def test_every_kpi_on_a_recheck_window_waits_for_it():
    # a KPI counting what happens within N days after resolution (a repeat repair, a reopening) is
    # not final until N days after its period: the scorecard's repeat repairs came without it
    for k in R.KPIS.values():
        num = k.num or ""
        if "next_repair_at" in num:
            assert k.maturity.days >= R.REPEAT_REPAIR_DAYS, k.id
        if "reopened_at" in num:
            assert k.maturity.days >= R.REOPEN_DAYS, k.id

