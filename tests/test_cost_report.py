"""The report pack's cost section: its sheets read back as the metrics API's cost KPIs for the
period, by region, service type and warranty; the HTML shows it in 元 (zh) and in English."""

from __future__ import annotations

import polars as pl
import pytest

import metrics
from aftersales.principal import DataScope
from metrics import cost
from metrics import registry as R
from reports import i18n
from tests.test_report import _sheet
from tests.test_report_data import close, made, month_of, sample_db


def expected(dim: str) -> pl.DataFrame:
    p = month_of("2026-09")
    return metrics.query(sample_db(), metrics=list(cost.ALL), by=[dim], grain=None, start=p.start, end=p.end,
                         scope=DataScope())


@pytest.mark.parametrize("dim", ["region", "service_type", "warranty"])
def test_cost_sheets_read_back_as_metrics_query(dim) -> None:
    _, paths = made()
    df = _sheet(paths["xlsx"], "成本按" + i18n.dim_label(dim, "zh"))
    exp = expected(dim).with_columns(  # a zh workbook shows labelled codes by their label (east -> 华东)
        pl.col(dim).map_elements(lambda v: i18n.value_label(dim, v, "zh", {}), return_dtype=pl.String,
                                 skip_nulls=False))
    label = i18n.dim_label(dim, "zh")
    assert set(df[label].drop_nulls()) == set(exp[dim].drop_nulls())
    assert not [c for c in df.columns if c.endswith("(元)(元)")], df.columns  # the unit once
    for kpi in cost.ALL:
        want = {r[dim]: r["value"] for r in exp.filter(pl.col("kpi") == kpi).iter_rows(named=True)}
        k = R.KPIS[kpi]
        header = f"{k.zh}(元)" if k.unit == "yuan" else k.zh  # amounts say their unit
        got = dict(zip(df[label].to_list(), df[header].to_list(), strict=True))
        assert want, kpi
        for value, v in want.items():
            assert close(got[value], v), (kpi, value, got[value], v)


def test_cost_section_in_the_html_in_both_languages() -> None:
    for lang in ("zh", "en"):
        report, paths = made(formats="html", lang=lang)
        html = paths["html"].read_text(encoding="utf-8")
        assert i18n.t("sec_cost", lang) in html
        section = next(s for s in report.sections if s.id == "cost")
        assert [t.id for t in section.tables] == ["cost_by_region", "cost_by_service_type", "cost_by_warranty"]
    # the warranty split in Chinese: 保内 and 保外 with amounts in 元 and thousands separators
    report, paths = made(formats="html", lang="zh")
    html = paths["html"].read_text(encoding="utf-8")
    total = expected("warranty").filter((pl.col("kpi") == "cost_total") & (pl.col("warranty") == "in"))["value"][0]
    assert "保内" in html and "保外" in html
    assert f"{total:,.0f}" in html and total > 1000  # the in-warranty total, written 1,234,567
