"""The dashboard's downloads: the table shown, as CSV (raw values, said so in a first comment
line) and as an Excel workbook formatted the way the report's workbook is (rates as %, hours,
days, 元 and the other units in the number format, 是/否 for booleans, dates as dates), the cells
still numbers a manager can sum. Every text cell is formula-safe.

Every download goes through ``export``: it takes the principal, refuses one without the
``download`` permission (``aftersales.permits.Refused``), and records the download in the audit
trail (what, format, rows, scope and filters, who) before handing the bytes out; a download that
cannot be recorded is not handed out.

No streamlit here: the frames arrive with their headers already in the reader's language, and the
format of each column is found from its header (``dashboard.i18n.column_label`` backwards) and,
for KPI values, from the KPI of its row (the table's KPI column, or the one KPI of the table).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from typing import Any

import polars as pl
import xlsxwriter

from aftersales import audit, permits
from aftersales.safe_export import neutralise, neutralise_frame
from dashboard import i18n as T
from metrics import registry as R
from reports.table import excel_format

# The first line of every CSV download: what the numbers are (a reader opening it in Excel sees it).
RAW_NOTE = {
    "zh": "# 原始数值(未排版):比率为小数(0.025 即 2.5%),时长以小时计,日期为 年-月-日,是/否 写作 true/false;"
          "已排版的表格请下载 Excel。",
    "en": "# Raw values (unformatted): rates as fractions (0.025 = 2.5%), durations in hours, dates as YYYY-MM-DD, "
          "booleans as true/false; the Excel download is formatted.",
}
KPI_VALUE_COLS = ("value", "ci_low", "ci_high", "target", "prev_value", "yoy_value", "score")
KPI_CHANGE_COLS = ("prev_change", "yoy_change")
COUNT_COLS = ("n_records", "numerator", "denominator", "n_excluded", "count", "rows_read", "inserted", "updated",
              "unchanged", "quarantined", "rows", "tickets_now", "on_hand", "reorder_point", "order_up_to", "order_qty",
              "technicians_available", "row_number")
PERCENT_COLS = ("completeness", "share", "stockout_prob_lead_time")
HOURS_COLS = ("overdue_hours", "hours_planned", "mttr_hours", "hours")
DAYS_COLS = ("age_days", "lead_time_days")
ROUNDED_UP = ("technicians_needed",)  # people are whole
_UNIT_WORDS = {"hours": ("小时", "h"), "points": ("分", "pt"), "units": ("件", "units"), "yuan": ("元", "yuan"),
               "tickets": ("单", "tickets"), "per_1000_orders": ("‰", "per 1,000 orders"), "score": ("分", "pt")}


FORMATS = ("csv", "xlsx")


def export(principal: Any, df: pl.DataFrame, fmt: str, *, what: str, db: Any, lang: str = "zh",
           kpi_id: str | None = None, filters: dict[str, list[str]] | None = None,
           client: str | None = None) -> bytes:
    """The bytes of one download (``fmt`` csv or xlsx) for ``principal``: refused without the
    ``download`` permission, recorded in the audit trail beside ``db`` (one ``download`` event
    with the row count) before it is returned."""
    permits.require(principal, "download", lang)
    if fmt not in FORMATS:
        raise ValueError(f"unknown download format {fmt!r}")
    body = csv_bytes(df, lang) if fmt == "csv" else xlsx_bytes(df, lang, kpi_id)
    audit.record_download(db, principal, what, fmt, df.height, filters, client)
    return body


def export_file(principal: Any, body: Any, *, what: str, fmt: str, rows: int, db: Any, lang: str = "zh",
                filters: dict[str, list[str]] | None = None, client: str | None = None) -> bytes:
    """A download made elsewhere (a printable scorecard page: ``body()`` makes its bytes), under
    the same rule as ``export``: refused without ``download``, recorded with its ``rows``."""
    permits.require(principal, "download", lang)
    data = body()
    audit.record_download(db, principal, what, fmt, rows, filters, client)
    return data


def csv_bytes(df: pl.DataFrame, lang: str = "zh") -> bytes:
    """CSV of the raw values: UTF-8 with a BOM (Excel opens Chinese text in a CSV correctly only
    with it), a first comment line saying the values are raw, formula-safe text cells."""
    frame = neutralise_frame(df)
    body = frame.write_csv(datetime_format="%Y-%m-%d %H:%M:%S")
    return "\ufeff".encode() + (RAW_NOTE.get(lang, RAW_NOTE["en"]) + "\r\n" + body).encode("utf-8")


@functools.lru_cache(maxsize=4)
def _header_names(lang: str) -> dict[str, str]:
    """Header shown in ``lang`` -> the column's own name (first name wins where two share a header)."""
    names = list(T.COLUMNS) + list(T._MODEL_ZH) + list(T.WORDS)
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(T.column_label(name, lang), name)
    return out


@functools.lru_cache(maxsize=4)
def _kpi_by_label(lang: str) -> dict[str, str]:
    return {k.label(lang): k.id for k in R.KPIS.values()} | {k: k for k in R.KPIS}


def _kpi_aspect(header: str, lang: str) -> tuple[str, str] | None:
    """(KPI id, value|change|count) for a header naming a KPI, alone (单均成本) or with an aspect
    after " · " (一次修复率 · 环比, 一次修复率 · 上期, 一次修复率 · 样本量), as wide tables head them."""
    by_label = _kpi_by_label(lang)
    head, _, aspect = header.partition(" · ")
    kpi = by_label.get(head)
    if kpi is None:
        return None
    if not aspect or aspect == T.t("previous", lang):
        return kpi, "value"
    if aspect == T.t("vs_prev", lang):
        return kpi, "change"
    return kpi, "count"  # its records, its rank


def _with_unit(fmt: str | None, unit: str | None, lang: str) -> str | None:
    if fmt is None or not unit:
        return fmt
    word = _UNIT_WORDS.get(unit)
    if word is None:
        return fmt
    suffix = f'" {word[0 if lang == "zh" else 1]}"'
    return ";".join(part + suffix for part in fmt.split(";"))


def kpi_format(kpi_id: str | None, lang: str, change: bool = False) -> str | None:
    """The Excel number format of a KPI's value (or of its change): the report's, with the unit."""
    k = R.KPIS.get(kpi_id or "")
    if k is None:
        return None
    if change and k.unit == "share":
        return excel_format("pp1")  # a change of a rate: +1.2% (percentage points)
    fmt = ("+" + k.fmt.lstrip("+")) if change else k.fmt
    return _with_unit(excel_format(fmt), None if k.unit == "share" else k.unit, lang)


def column_formats(df: pl.DataFrame, lang: str, kpi_id: str | None = None) -> dict[str, list[str | None] | str | None]:
    """Per column: one Excel number format, or one per row (KPI values in a table of several KPIs)."""
    names = _header_names(lang)
    kpi_header = T.column_label("kpi", lang)
    row_kpis = None
    if kpi_header in df.columns and df[kpi_header].dtype == pl.String:
        by_label = _kpi_by_label(lang)
        row_kpis = [by_label.get(v or "") for v in df[kpi_header].to_list()]
    out: dict[str, list[str | None] | str | None] = {}
    for col, dtype in df.schema.items():
        if not dtype.is_numeric():
            continue
        name = names.get(col, col)
        if name in KPI_VALUE_COLS or name in KPI_CHANGE_COLS:
            change = name in KPI_CHANGE_COLS
            out[col] = ([kpi_format(k, lang, change) for k in row_kpis] if row_kpis is not None
                        else kpi_format(kpi_id, lang, change))
        elif _kpi_aspect(col, lang) is not None:  # a wide table's KPI columns (scorecards, cost by region)
            kpi, aspect = _kpi_aspect(col, lang)
            out[col] = "#,##0" if aspect == "count" else kpi_format(kpi, lang, change=aspect == "change")
        elif name in PERCENT_COLS:
            out[col] = "0.0%"
        elif name in HOURS_COLS or name.endswith("_hours"):
            out[col] = _with_unit("#,##0.0", "hours", lang)
        elif name in DAYS_COLS:
            out[col] = '#,##0.0" 天"' if lang == "zh" else '#,##0.0" d"'
        elif name in COUNT_COLS or name in ROUNDED_UP or dtype.is_integer():
            out[col] = "#,##0"
        else:
            out[col] = "#,##0.0##"
    return out


def xlsx_bytes(df: pl.DataFrame, lang: str = "zh", kpi_id: str | None = None) -> bytes:
    """The table as a workbook formatted like the report's: numbers with their formats and units,
    是/否 for booleans, dates as dates, lists as comma-separated text, text formula-safe."""
    formats = column_formats(df, lang, kpi_id)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    ws = wb.add_worksheet("data")
    cache: dict[str | None, Any] = {}

    def fmt(num_format: str | None) -> Any:
        if num_format not in cache:
            cache[num_format] = wb.add_format({"num_format": num_format}) if num_format else None
        return cache[num_format]

    header = wb.add_format({"bold": True, "bg_color": "#F1F4F8", "bottom": 1})
    yes, no = T.t("yes", lang), T.t("no", lang)
    for c, col in enumerate(df.columns):
        ws.write_string(0, c, neutralise(str(col)), header)
        values = df[col].to_list()
        f = formats.get(col)
        width = len(str(col).encode("gbk", "replace"))
        for r, v in enumerate(values, start=1):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, bool):
                ws.write_string(r, c, yes if v else no)
            elif isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, fmt("yyyy-mm-dd hh:mm"))
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), fmt("yyyy-mm-dd"))
            elif isinstance(v, int | float):
                ws.write_number(r, c, v, fmt(f[r - 1] if isinstance(f, list) else f))
            elif isinstance(v, list):
                ws.write_string(r, c, neutralise(", ".join("" if x is None else str(x) for x in v)))
            else:
                text = str(v)
                ws.write_string(r, c, neutralise(text))
                if r < 200:
                    width = max(width, len(text.encode("gbk", "replace")))
        ws.set_column(c, c, min(max(width + 2, 10), 48))
    ws.freeze_panes(1, 0)
    if df.width:
        ws.autofilter(0, 0, max(df.height, 1), df.width - 1)
    wb.close()
    return buf.getvalue()
