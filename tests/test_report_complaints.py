"""The report pack's complaint insight section: the same numbers as ``metrics.complaints`` and the
raw generated files for the report period, in 中文 and English, personal data masked."""

from __future__ import annotations

import pandas as pd
import pytest

import metrics
from aftersales.principal import DataScope
from metrics import complaints as C
from tests.test_report_data import _ROOT, PERIOD, made, month_of, sample_db, xlsx_text

FORMATS = "html,xlsx"


def section(report):
    return next(s for s in report.sections if s.id == "complaint_insight")


def table(report, table_id: str):
    return next(t for t in section(report).tables if t.id == table_id)


def period_complaints() -> pd.DataFrame:
    p = month_of(PERIOD)
    t = pd.read_parquet(_ROOT / "sample" / "tickets.parquet")
    t = t[t["is_complaint"].fillna(False)]
    return t[(t["created_at"] >= pd.Timestamp(p.start)) & (t["created_at"] < pd.Timestamp(p.end) + pd.Timedelta(days=1))]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_section_has_every_table(lang):
    report, paths = made(PERIOD, FORMATS, lang=lang)
    ids = [t.id for t in section(report).tables]
    assert ids == ["complaint_matrix", "complaint_handling", "complaint_themes", "complaint_themes_outlet",
                   "complaint_keywords", "repeat_complainants"]
    html = paths["html"].read_text(encoding="utf-8")
    assert ("投诉洞察" if lang == "zh" else "Complaint insight") in html
    assert "None" not in html.split("投诉洞察" if lang == "zh" else "Complaint insight", 1)[1].split("<footer", 1)[0]


def test_the_matrix_is_the_periods_complaints_by_outlet_and_reason():
    report, _ = made(PERIOD, FORMATS)
    p = month_of(PERIOD)
    want = C.matrix(sample_db(), "outlet", p.start, p.end, scope=DataScope())
    rows = table(report, "complaint_matrix").rows
    assert sum(r["complaints"] for r in rows) == want["complaints"].sum() == len(period_complaints())
    got = {(r["code"], r["reason_code"]): (r["complaints"], r["tickets"], r["rate"]) for r in rows}
    for r in want.iter_rows(named=True):
        assert got[(r["outlet"], r["complaint_reason"])] == (r["complaints"], r["tickets"], r["rate"])


def test_themes_count_every_text_of_the_period():
    report, _ = made(PERIOD, FORMATS)
    rows = table(report, "complaint_themes").rows
    assert sum(r["complaints"] for r in rows) == period_complaints()["complaint_text"].notna().sum()


def test_themes_per_outlet_count_each_outlets_texts():
    report, _ = made(PERIOD, FORMATS)
    c = period_complaints().dropna(subset=["complaint_text"])
    want = c.groupby(c["outlet_id"].fillna("")).size().to_dict()
    got = {r["code"] or "": r["texts"] for r in table(report, "complaint_themes_outlet").rows}
    assert got == want


def test_handling_time_is_the_registrys():
    report, _ = made(PERIOD, FORMATS)
    p = month_of(PERIOD)
    want = metrics.query(sample_db(), ["complaint_handling_hours"], grain=None, start=p.start, end=p.end,
                         compare=False, scope=DataScope()).row(0, named=True)
    first = table(report, "complaint_handling").rows[0]
    assert first["mean"] == want["value"] and first["n_records"] == want["n_records"]


def test_repeat_complainants_are_masked_in_the_workbook():
    report, paths = made(PERIOD, FORMATS)
    rows = table(report, "repeat_complainants").rows
    assert all(r["customer_name"].endswith("**") and "****" in r["customer_phone"] for r in rows)
    text = xlsx_text(paths["xlsx"])
    raw = pd.read_parquet(_ROOT / "sample" / "tickets.parquet")
    phones = set(raw.loc[raw["is_complaint"].fillna(False), "customer_phone"].dropna())
    assert not any(ph in text for ph in phones), "a complainant's phone number in the workbook"
