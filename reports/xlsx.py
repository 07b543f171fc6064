"""The report as one workbook: an About sheet, then one sheet per table (KPIs, trends, each
breakdown, the problems, the outlook, the definitions). Cells hold the raw values with Excel
number formats; text cells are formula-safe; headers are frozen and filterable; target status is
highlighted.

Re-running on the same data gives the same bytes: the document date is the data's freshness
(``Report.created``), never the clock, and xlsxwriter stamps the zip entries with a fixed date.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from aftersales.safe_export import neutralise
from reports import i18n
from reports.content import Report
from reports.table import Table, display, excel_format, is_missing, text_width

HEADER_ROW = 2  # row 0: the table's title, row 1: its note, row 2: the header
STATUS_FILL = {"met": ("#E3F4EA", "#1E7B45"), "missed": ("#FBE7E5", "#B03A2E"), "too_small": ("#FFF4E5", "#9A6412"),
               "provisional": ("#FFF4E5", "#9A6412")}
TONE_FONT = {"good": "#1E7B45", "bad": "#B03A2E"}


class _Formats:
    """xlsxwriter formats, created once per distinct look."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self.cache: dict[tuple, Any] = {}
        self.title = wb.add_format({"bold": True, "font_size": 13, "font_color": "#1F5FA8"})
        self.note = wb.add_format({"italic": True, "font_color": "#6B7280"})
        self.header = wb.add_format({"bold": True, "bg_color": "#F1F4F8", "bottom": 1, "text_wrap": True,
                                     "valign": "bottom"})
        self.status = {s: wb.add_format({"bg_color": bg, "font_color": fg}) for s, (bg, fg) in STATUS_FILL.items()}

    def get(self, num_format: str | None, color: str | None = None, wrap: bool = False) -> Any:
        key = (num_format, color, wrap)
        if key not in self.cache:
            props: dict[str, Any] = {"valign": "top"}
            if num_format:
                props["num_format"] = num_format
            if color:
                props["font_color"] = color
            if wrap:
                props["text_wrap"] = True
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "-", name).strip() or "Sheet"
    base = base[:31]
    out, i = base, 2
    while out.lower() in used:
        suffix = f" {i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def _write_text(ws: Worksheet, r: int, c: int, text: str, cell_format: Any = None) -> None:
    """Every text cell of the workbook: formula-safe (``aftersales.safe_export``)."""
    ws.write_string(r, c, neutralise(text), cell_format)


def _write(ws: Worksheet, r: int, c: int, value: Any, fmt: str, cell_format: Any, lang: str) -> None:
    if is_missing(value):
        ws.write_blank(r, c, None, cell_format)
    elif fmt == "status":
        _write_text(ws, r, c, i18n.status_label(str(value), lang), cell_format)
    elif fmt == "bool":
        _write_text(ws, r, c, i18n.t("yes" if value else "no", lang), cell_format)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(r, c, value, cell_format)
    elif isinstance(value, dt.date):
        ws.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), cell_format)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, cell_format)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value, cell_format)
    else:
        _write_text(ws, r, c, str(value), cell_format)


def write_table(wb: xlsxwriter.Workbook, fm: _Formats, table: Table, lang: str, used: set[str]) -> None:
    ws = wb.add_worksheet(sheet_name(table.sheet, used))
    _write_text(ws, 0, 0, table.title, fm.title)
    if table.note:
        _write_text(ws, 1, 0, table.note, fm.note)
    widths = []
    for c, col in enumerate(table.columns):
        _write_text(ws, HEADER_ROW, c, col.label, fm.header)
        widths.append(text_width(col.label) + 2)
    for i, row in enumerate(table.rows):
        r = HEADER_ROW + 1 + i
        for c, col in enumerate(table.columns):
            fmt = table.fmt(row, col)
            value = row.get(col.key)
            status = (row.get("_status") or {}).get(col.key)
            color = STATUS_FILL[status][1] if status in STATUS_FILL else TONE_FONT.get((row.get("_tone") or {}).get(col.key, ""))
            long_text = fmt == "text" and isinstance(value, str) and len(value) > 60
            _write(ws, r, c, value, fmt, fm.get(excel_format(fmt), color, long_text), lang)
            if i < 300:
                widths[c] = max(widths[c], text_width(display(value, fmt, lang)) + 2)
    last = HEADER_ROW + len(table.rows)
    for c, col in enumerate(table.columns):
        ws.set_column(c, c, col.width or min(max(widths[c], 8), 48))
        if col.fmt == "status" and table.rows:
            for status, f in fm.status.items():
                ws.conditional_format(HEADER_ROW + 1, c, last, c, {
                    "type": "cell", "criteria": "==", "value": f'"{i18n.status_label(status, lang)}"', "format": f})
    ws.set_row(HEADER_ROW, 32)
    ws.freeze_panes(HEADER_ROW + 1, table.freeze_cols)
    if table.columns:
        ws.autofilter(HEADER_ROW, 0, max(last, HEADER_ROW), len(table.columns) - 1)


def write_about(wb: xlsxwriter.Workbook, fm: _Formats, report: Report, used: set[str], notes: list[str]) -> None:
    lang = report.lang
    ws = wb.add_worksheet(sheet_name(i18n.t("about", lang), used))
    _write_text(ws, 0, 0, report.title, fm.title)
    _write_text(ws, HEADER_ROW, 0, i18n.t("item", lang), fm.header)
    _write_text(ws, HEADER_ROW, 1, i18n.t("detail", lang), fm.header)
    r = HEADER_ROW + 1
    for k, v in report.about:
        _write_text(ws, r, 0, k)
        _write_text(ws, r, 1, v)
        r += 1
    for text in dict.fromkeys(report.warnings + notes + [i18n.t("masking", lang)]):
        _write_text(ws, r, 1, text, fm.note)
        r += 1
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 90)
    ws.freeze_panes(HEADER_ROW + 1, 0)


def render(report: Report) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    created = report.created
    wb.set_properties({"title": report.title, "subject": report.period.slug, "author": "aftersales report",
                       "company": "", "comments": i18n.t("footer", report.lang), "created": created})
    fm = _Formats(wb)
    used: set[str] = set()
    notes = [n for s in report.sections for n in s.notes]
    write_about(wb, fm, report, used, notes)
    for table in report.tables():
        write_table(wb, fm, table, report.lang, used)
    wb.close()
    return buf.getvalue()
