"""Report exports: every number in every format equals what the metrics API gives for the same
period and filters, on the generated sample data; no personal data leaks; re-runs are identical."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

import metrics
from aftersales import model
from aftersales.principal import DataScope
from metrics import registry as R
from reports import i18n, problems
from reports.table import change_fmt, display
from tests.test_report_data import (
    PERIOD,
    HtmlDoc,
    close,
    leaked,
    made,
    month_of,
    needs_chromium,
    needs_pdftotext,
    num,
    pdf_text,
    personal_values,
    read_csv,
    sample_db,
    xlsx_text,
)

FIELDS = ["value", "numerator", "denominator", "n_records", "ci_low", "ci_high", "prev_value", "prev_change",
          "prev_change_pct", "yoy_value", "yoy_change", "yoy_change_pct", "target", "completeness"]


def expected(period_text: str = PERIOD, where: dict | None = None, by: list[str] | None = None) -> pl.DataFrame:
    """What the dashboard shows for the period: a metrics.query at the period's grain, its row."""
    p = month_of(period_text)
    df = metrics.query(sample_db(), grain=p.grain, start=p.start, end=p.end, where=where, by=by, scope=DataScope())
    return df.filter(pl.col("period_start") == p.start)


def by_kpi(df: pl.DataFrame) -> dict[str, dict]:
    return {r["kpi"]: r for r in df.iter_rows(named=True)}


# ---- CSV ----------------------------------------------------------------------------------------

def test_csv_is_the_kpi_table_of_metrics_query() -> None:
    _, paths = made()
    rows = read_csv(paths["csv"])
    exp = by_kpi(expected())
    assert [r["kpi"] for r in rows] == list(exp), "every KPI, in the registry's order"
    for r in rows:
        e = exp[r["kpi"]]
        assert r["label"] == R.KPIS[r["kpi"]].zh
        assert r["status"] == e["status"] and r["period_start"] == e["period_start"].isoformat()
        for f in FIELDS:
            assert close(num(r[f]), e[f]), (r["kpi"], f, r[f], e[f])


def test_csv_with_a_filter_and_a_week() -> None:
    _, paths = made("2026-W40", where=(("region", ("east",)),))
    rows = read_csv(paths["csv"])
    exp = by_kpi(expected("2026-W40", where={"region": ["east"]}))
    assert paths["csv"].name == "aftersales_kpi_2026-W40_region-east.csv"
    assert {r["kpi"] for r in rows} == set(exp) and "complaints_per_1k_orders" not in exp  # not by region
    for r in rows:
        assert r["filter_region"] == "east" and r["period_start"] == "2026-09-28"
        for f in FIELDS:
            assert close(num(r[f]), exp[r["kpi"]][f]), (r["kpi"], f)


def test_a_date_range_compares_with_the_ranges_before_and_a_year_earlier() -> None:
    _, paths = made("2026-09-01:2026-09-15", formats="csv")
    rows = {r["kpi"]: r for r in read_csv(paths["csv"])}
    db = sample_db()
    cur = by_kpi(metrics.query(db, grain=None, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 15), scope=DataScope()))
    prev = by_kpi(metrics.query(db, grain=None, start=dt.date(2026, 8, 17), end=dt.date(2026, 8, 31),
                                scope=DataScope()))
    yoy = by_kpi(metrics.query(db, grain=None, start=dt.date(2025, 9, 1), end=dt.date(2025, 9, 15), scope=DataScope()))
    assert set(rows) == set(cur)
    for k, r in rows.items():
        assert close(num(r["value"]), cur[k]["value"]) and close(num(r["prev_value"]), prev[k]["value"])
        assert close(num(r["yoy_value"]), yoy[k]["value"])
        if cur[k]["value"] is not None and prev[k]["value"] is not None:
            assert close(num(r["prev_change"]), cur[k]["value"] - prev[k]["value"])


# ---- XLSX ---------------------------------------------------------------------------------------

def _sheet(path, name: str) -> pl.DataFrame:
    return pl.read_excel(path, sheet_name=name, read_options={"header_row": 2}, infer_schema_length=10_000)


def test_xlsx_kpi_sheet_reads_back_as_metrics_query() -> None:
    _, paths = made()
    df = _sheet(paths["xlsx"], "关键指标")
    exp = by_kpi(expected())
    label = {f: i18n.t(f, "zh") for f in FIELDS if f not in ("ci_low", "ci_high")}
    label.update(ci_low=i18n.t("ci_low", "zh"), ci_high=i18n.t("ci_high", "zh"))
    assert df[i18n.t("kpi_id", "zh")].to_list() == list(exp)
    for row in df.iter_rows(named=True):
        e = exp[row[i18n.t("kpi_id", "zh")]]
        assert row[i18n.t("status", "zh")] == i18n.status_label(e["status"], "zh")
        for f, lb in label.items():
            assert close(row[lb], e[f]), (e["kpi"], f, row[lb], e[f])


def test_xlsx_breakdown_sheet_reads_back_as_metrics_query_by_region() -> None:
    _, paths = made()
    df = _sheet(paths["xlsx"], "按大区")
    exp = expected(by=["region"])
    # the zh workbook names regions (华东), without their codes (east): back to codes through the labels
    by_label = {i18n.value_label("region", c, "zh"): c for c in exp["region"].unique().to_list()}
    label = i18n.dim_label("region", "zh")
    assert i18n.dim_label("region", "zh") + " 代码" not in df.columns
    codes = [by_label[v] for v in df[label].to_list()]
    assert set(c for c in codes if c is not None) == set(exp["region"].drop_nulls())
    for kpi in ("ticket_volume", "complaint_rate", "repair_success_rate", "sla_compliance", "backlog"):
        want = {r["region"]: r["value"] for r in exp.filter(pl.col("kpi") == kpi).iter_rows(named=True)}
        got = dict(zip(codes, df[R.KPIS[kpi].zh].to_list(), strict=True))
        for region, v in want.items():
            assert close(got[region], v), (kpi, region)


def test_xlsx_is_formatted_for_reading() -> None:
    _, paths = made()
    xml = xlsx_text(paths["xlsx"])
    sheets = [n for n in ("关键指标", "趋势", "按大区", "最差网点", "SLA超时工单", "投诉原因", "积压账龄", "指标定义")]
    for s in sheets:
        assert f'name="{s}"' in xml, s
    assert xml.count('<pane ') >= len(sheets) and 'ySplit="3"' in xml  # frozen headers
    assert "<conditionalFormatting" in xml and "未达标" in xml  # status highlighted
    assert 'formatCode="0.0%"' in xml and 'formatCode="#,##0"' in xml  # number formats
    assert "<autoFilter" in xml


# ---- HTML ---------------------------------------------------------------------------------------

def test_html_cards_and_kpi_table_equal_metrics_query() -> None:
    report, paths = made()
    doc = HtmlDoc(paths["html"].read_text(encoding="utf-8"))
    exp = by_kpi(expected())
    assert doc.cards and set(doc.cards) <= set(exp)
    for kpi, fields in doc.cards.items():
        k = R.KPIS[kpi]
        raw, text = fields["value"]
        assert close(num(raw), exp[kpi]["value"]) and text == display(num(raw), k.fmt)
        for f in ("prev_change", "yoy_change", "n_records"):
            assert close(num(fields[f][0]), exp[kpi][f]), (kpi, f)
    rows = {r["_key"]: r for r in doc.tables["kpis"]}
    assert list(rows) == list(exp)
    for kpi, r in rows.items():
        for f in ("value", "prev_change", "yoy_change", "target", "n_records", "ci_low", "ci_high"):
            assert close(num(r[f][0]), exp[kpi][f]), (kpi, f)
        assert r["value"][1] == display(num(r["value"][0]), R.KPIS[kpi].fmt)
        assert r["status"][0] == exp[kpi]["status"]


def test_html_breakdowns_and_trend_equal_metrics_query() -> None:
    _, paths = made()
    doc = HtmlDoc(paths["html"].read_text(encoding="utf-8"))
    for dim in ("region", "outlet_type", "service_type", "channel"):
        exp = expected(by=[dim])
        rows = {r["_key"]: r for r in doc.tables[f"by_{dim}"]}
        for rec in exp.filter(pl.col("kpi").is_in(["ticket_volume", "csat", "mttr"])).iter_rows(named=True):
            cell = rows["" if rec[dim] is None else rec[dim]][rec["kpi"]]
            assert close(num(cell[0]), rec["value"]), (dim, rec[dim], rec["kpi"])
    p = month_of(PERIOD)
    trend = metrics.query(sample_db(), metrics=["ticket_volume", "nps"], grain="month",
                          start=dt.date(2025, 9, 1), end=p.end, scope=DataScope())
    rows = {r["_key"]: r for r in doc.tables["trends"]}
    assert len(rows) == 13
    for rec in trend.iter_rows(named=True):
        assert close(num(rows[rec["period_start"].isoformat()][rec["kpi"]][0]), rec["value"])


def test_html_problems_equal_the_metrics_behind_them() -> None:
    report, paths = made()
    doc = HtmlDoc(paths["html"].read_text(encoding="utf-8"))
    exp = by_kpi(expected())
    p = month_of(PERIOD)
    # the worst outlets are the tail of metrics.rank
    for kpi in ("repair_success_rate", "complaint_rate"):
        ranked = metrics.rank(sample_db(), kpi, level="outlet", start=p.start, end=p.end, scope=DataScope()).filter(
            pl.col("rank").is_not_null())
        want = ranked.tail(5).reverse()
        got = [r for r in doc.tables["worst"] if r["_key"].startswith(kpi + ":")]
        assert [r["_key"].split(":", 1)[1] for r in got] == want["outlet"].to_list()
        for r, w in zip(got, want.iter_rows(named=True), strict=True):
            assert int(r["rank"][0]) == w["rank"] and close(num(r["score"][0]), w["score"])
    # complaint reasons add up to the complaint rate's numerator
    reasons = doc.tables["complaint_reasons"]
    assert sum(int(r["count"][0]) for r in reasons) == exp["complaint_rate"]["numerator"]
    # breaches add up to what the SLA KPIs' numerators miss
    summary = {r["_key"]: r for r in doc.tables["sla_summary"]}
    for kpi in problems.SLA_KPIS:
        assert close(num(summary[kpi]["breaches"][0]), exp[kpi]["denominator"] - exp[kpi]["numerator"])
    by_type = doc.tables["sla_by_type"]
    assert sum(int(r["breaches"][0]) for r in by_type) == exp["sla_compliance"]["denominator"] - exp[
        "sla_compliance"]["numerator"]
    assert sum(int(r["due"][0]) for r in by_type) == exp["sla_compliance"]["denominator"]
    # the backlog by age adds up to the backlog
    assert sum(int(r["count"][0]) for r in doc.tables["backlog_ageing"]) == exp["backlog"]["value"]


def test_html_is_self_contained_and_says_what_it_covers() -> None:
    report, paths = made()
    text = paths["html"].read_text(encoding="utf-8")
    doc = HtmlDoc(text)
    assert not doc.scripts_src and not doc.links, "no external scripts or stylesheets"
    assert "cdn." not in text.split("<script>")[0] and 'src="http' not in text
    assert int(doc.meta["report-charts"]) >= 3 and text.count("Plotly.newPlot") == int(doc.meta["report-charts"])
    for needle in ("2026年9月", "数据截至", "2026-10-31", "指标定义", "待处理问题", "人力与配件展望"):
        assert needle in text
    assert "尚无预测运行记录" in text  # the sample database has no forecast run


def test_english_report() -> None:
    report, paths = made(formats="html,csv", lang="en")
    assert paths["html"].name == "aftersales_kpi_2026-09_en.html"
    text = paths["html"].read_text(encoding="utf-8")
    assert "After-sales KPI report" in text and "September 2026" in text and "Repair success rate" in text
    assert read_csv(paths["csv"])[0]["label"] == "Ticket volume"


# ---- PDF ----------------------------------------------------------------------------------------

@needs_chromium
@needs_pdftotext
def test_pdf_text_shows_the_kpi_table_numbers() -> None:
    report, paths = made()
    text = pdf_text(paths["pdf"])
    lines = text.splitlines()
    exp = by_kpi(expected())
    for kpi, e in exp.items():
        k = R.KPIS[kpi]
        cells = [k.zh, display(e["value"], k.fmt)]
        cells += [display(e[f], change_fmt(k.fmt, k.unit)) for f in ("prev_change", "yoy_change")]
        cells += [display(e["target"], k.fmt), i18n.status_label(e["status"], "zh"), display(e["n_records"], ",d")]
        assert any(_in_order(line, cells) for line in lines), (kpi, cells)
    # charts were drawn: their titles and axis labels are text in the PDF
    assert "2025-09" in text and "2026-09" in text and text.count("维修成功率") >= 3


@needs_chromium
def test_pdf_is_a4_and_paginated() -> None:
    import subprocess

    _, paths = made()
    info = subprocess.run(["pdfinfo", str(paths["pdf"])], capture_output=True, text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 5 and "595.92 x 842.88 pts (A4)" in info


def _in_order(line: str, cells: list[str]) -> bool:
    pos = 0
    for c in cells:
        i = line.find(c, pos)
        if i < 0:
            return False
        pos = i + len(c)
    return True


@needs_chromium
def test_html_opens_in_chromium_without_console_errors_or_requests() -> None:
    from playwright.sync_api import sync_playwright

    from reports.pdf import ARGS

    _, paths = made()
    errors, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(paths["html"].as_uri(), wait_until="load")
        n = int(page.get_attribute('meta[name="report-charts"]', "content"))
        page.wait_for_function(f"(window.__reportChartsDone || 0) >= {n}", timeout=30_000)
        drawn = page.locator(".js-plotly-plot .main-svg").count()
        browser.close()
    assert errors == [] and requests == []
    assert drawn >= n


# ---- personal data, determinism, atomic writes ----------------------------------------------------

def test_no_customer_name_or_phone_in_any_export() -> None:
    _, paths = made()
    names, phones = personal_values(sample_db())
    assert len(names) > 1000 and len(phones) > 1000
    texts = {"html": paths["html"].read_text(encoding="utf-8"), "csv": paths["csv"].read_text(encoding="utf-8-sig"),
             "xlsx": xlsx_text(paths["xlsx"])}
    if "pdf" in paths:
        texts["pdf"] = pdf_text(paths["pdf"], layout=False)
    for fmt, text in texts.items():
        assert leaked(text, names, phones) == set(), fmt
    assert leaked("客户 卢玉霞 15633932572", {"卢玉霞"}, {"15633932572"}) == {"卢玉霞", "15633932572"}


def test_rerun_gives_the_same_bytes(tmp_path) -> None:
    from aftersales.config import load_config
    from aftersales.db import connect_readonly
    from reports import content, writer

    first, paths = made()
    con = connect_readonly(sample_db())
    try:
        again = content.build(con, month_of(PERIOD), config=load_config(None, sample_db()), scope=DataScope())
    finally:
        con.close()
    second = writer.write(again, list(paths), tmp_path)
    for p in second:
        assert p.read_bytes() == paths[p.suffix[1:]].read_bytes(), p.name


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch) -> None:
    from reports import writer

    report, _ = made()
    target = tmp_path / "aftersales_kpi_2026-09.csv"
    target.write_bytes(b"old report")

    def fail(fd: int) -> None:  # the data is half on disk when the machine "dies"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.os, "fsync", fail)
    with pytest.raises(Exception, match="No space left"):
        writer.write(report, ["csv", "html"], tmp_path)
    assert target.read_bytes() == b"old report", "the previous report is intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name], "no partial or temporary file left"


def test_a_failure_while_rendering_writes_nothing(tmp_path, monkeypatch) -> None:
    from reports import writer, xlsx

    report, _ = made()

    def broken(_report):
        raise RuntimeError("boom")

    monkeypatch.setattr(xlsx, "render", broken)
    with pytest.raises(RuntimeError):
        writer.write(report, ["html", "csv", "xlsx"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_outlook_shows_the_latest_forecast_run(tmp_path) -> None:
    import shutil

    from forecasts import store

    db = tmp_path / "with_forecast.duckdb"
    shutil.copyfile(sample_db(), db)
    staffing = pl.DataFrame({
        "region": ["east", "east", "north"], "week_start": [dt.date(2026, 11, 2), dt.date(2026, 11, 9)] + [
            dt.date(2026, 11, 2)],
        "tickets_expected": [120.0, 150.0, 80.0], "hours_expected": [300.0, 380.0, 200.0],
        "hours_planned": [330.0, 420.0, 220.0], "plan_quantile": [0.8] * 3, "technicians_needed": [9.7, 12.4, 6.5],
        "technicians_available": [11, 11, 5], "gap": [1.3, -1.4, -1.5], "short": [False, True, True]})
    reorder = pl.DataFrame({
        "part_no": ["P001", "P002"], "part_name": ["压缩机", "滤网"], "series_class": ["smooth", "lumpy"],
        "model": ["ets", "croston"], "distribution": ["nb", "nb"], "lead_time_days": [14, 21],
        "lead_time_source": ["master", "default"], "mean_weekly_demand": [3.5, 0.4], "reorder_point": [9, 2],
        "order_up_to": [23, 4], "on_hand": [5, 8], "as_of": [dt.date(2026, 10, 31)] * 2, "stock_at_cutoff": [5.0, 8.0],
        "order_now": [True, False], "order_qty": [18, 0], "runout_date": [dt.date(2026, 11, 12), None],
        "runs_out_within_lead_time": [True, False], "stockout_prob_lead_time": [0.62, 0.01]})
    for kind, tables in (("workload", {"staffing_plan": staffing}), ("parts", {"parts_reorder": reorder})):
        store.save_run(db, store.Run(kind=kind, source="database", model="test", data_cutoff=dt.date(2026, 10, 31),
                                     params={}, n_series=1, workers=1, seconds=0.1, tables=tables))
    report, paths = made(formats="html,xlsx", db=db)
    doc = HtmlDoc(paths["html"].read_text(encoding="utf-8"))
    east = {r["_key"]: r for r in doc.tables["staffing"]}["east"]
    # people are whole: 12.4 technicians needed is 13 to staff, 11 available: 2 short
    assert close(num(east["needed_peak"][0]), 13) and int(east["available"][0]) == 11
    assert int(east["weeks_short"][0]) == 1 and close(num(east["worst_gap"][0]), -2)
    parts = [r["_key"] for r in doc.tables["parts_reorder"]]
    assert parts == ["P001", "P002"] and doc.tables["parts_reorder"][0]["runout_date"][0] == "2026-11-12"
    assert "尚无预测运行记录" not in paths["html"].read_text(encoding="utf-8")
    weeks = pl.read_excel(paths["xlsx"], sheet_name="人力按周", read_options={"header_row": 2})
    assert weeks.height == 3


def test_values_with_no_denominator_are_empty_never_zero() -> None:
    report, paths = made()
    for table in report.tables():
        for row in table.rows:
            for col in table.columns:
                v = row.get(col.key)
                if isinstance(v, float):
                    assert not math.isnan(v), (table.id, col.key)  # missing is None, shown as "–"
    assert display(None, ".1%") == "–"
    assert model.COMPLAINT_REASONS  # labels come from the canonical model


def test_text_from_the_data_is_escaped_and_never_a_formula() -> None:
    """Outlet names and the like come from loaded files: in HTML they are text, in Excel strings."""
    import io
    import zipfile

    from reports import html, xlsx
    from reports.content import Freshness, Report
    from reports.table import Col, Section, Table

    evil = ['<img src=x onerror="alert(1)">', "=HYPERLINK(\"http://x\",\"y\")"]
    table = Table("t", "T", "T", [Col("label", "name"), Col("n", "n", ",d")],
                  [{"label": v, "n": i, "_key": v} for i, v in enumerate(evil)])
    report = Report("zh", month_of(PERIOD), {}, [], Freshness(dt.datetime(2026, 10, 31), None, None),
                    pl.DataFrame(), [Section("s", "S", tables=[table])], about=[("k", "<b>v</b>")])
    page = html.render(report)
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page and "<b>v" not in page
    with zipfile.ZipFile(io.BytesIO(xlsx.render(report))) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheets and "HYPERLINK" in strings


def test_breakdown_by_part_number_uses_the_kpis_that_allow_it() -> None:
    _, paths = made(formats="html", by=("part_no",))
    assert paths["html"].name == "aftersales_kpi_2026-09_by-part_no.html"
    doc = HtmlDoc(paths["html"].read_text(encoding="utf-8"))
    rows = {r["_key"]: r for r in doc.tables["by_part_no"]}
    p = month_of(PERIOD)
    exp = metrics.query(sample_db(), metrics=["parts_consumption"], by=["part_no"], grain="month", start=p.start,
                        end=p.end, scope=DataScope())
    want = {r["part_no"]: r["value"] for r in exp.iter_rows(named=True)}
    assert len(rows) == min(40, len(want)) > 0  # the 40 most used in HTML, all in the workbook
    for part, row in rows.items():
        assert close(num(row["parts_consumption"][0]), want[part])
    assert min(want[p] for p in rows) >= max(v for p, v in want.items() if p not in rows) if len(want) > 40 else True
