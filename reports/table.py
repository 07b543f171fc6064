"""The plain structure every format renders: tables of raw values with a display format.

A cell holds the raw value the metrics API returned (float, int, str, date, None); its format
says how to show it. HTML and PDF show ``display(value, fmt)``; the workbook stores the raw
value with ``excel_format(fmt)``; the CSV writes the raw value. So the numbers cannot differ
between formats, only their rounding on screen.

Formats: a Python format spec (".1%", ",.0f", "+.1f" …, as in the KPI registry), "ppN"
(a change of a rate in percentage points, N decimals), "date", "datetime", "text", "status",
"bool".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from reports import i18n


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    fmt: str = "text"
    width: int | None = None  # workbook width in characters; None: from the content
    html: bool = True  # shown in HTML/PDF too (False: the workbook only, e.g. numerators, codes)


@dataclass
class Chart:
    id: str
    title: str
    figure: Any  # plotly Figure
    height: int = 360


@dataclass
class Table:
    id: str  # stable: the HTML anchor and the basis of the sheet name
    title: str
    sheet: str  # workbook sheet name (≤ 31 characters, unique)
    columns: list[Col]
    rows: list[dict[str, Any]]
    note: str = ""
    # Per row, optional: "_fmt": {col: fmt}, "_status": {col: status}, "_tone": {col: "good"|"bad"}
    html_limit: int | None = None  # rows shown in HTML/PDF (the workbook has them all)
    freeze_cols: int = 1
    chart: Chart | None = None  # drawn above the table in HTML/PDF

    def fmt(self, row: dict[str, Any], col: Col) -> str:
        return (row.get("_fmt") or {}).get(col.key, col.fmt)


@dataclass
class Section:
    id: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)  # KPI cards (the KPI section only)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def exact_text(value: Any) -> str:
    """A value written so it reads back exactly: repr for floats (round-trips), ISO for dates."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _decimals(spec: str) -> int:
    m = re.search(r"\.(\d+)", spec)
    return int(m[1]) if m else 0


def change_fmt(kpi_fmt: str, unit: str) -> str:
    """The format of a change of a KPI: percentage points for rates, else the KPI's format with a sign."""
    if unit == "share":
        return f"pp{_decimals(kpi_fmt)}"
    spec = kpi_fmt.lstrip("+")
    return "+" + spec


def display(value: Any, fmt: str, lang: str = "zh") -> str:
    """How a cell is shown in HTML and PDF. Missing values are an en dash, never 0."""
    if is_missing(value):
        return "–"
    if fmt == "status":
        return i18n.status_label(str(value), lang)
    if fmt == "bool":
        return i18n.t("yes" if value else "no", lang)
    if fmt == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if fmt == "datetime":
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else str(value)
    if fmt == "text":
        return str(value)
    if fmt.startswith("pp"):
        return _unsigned_zero(f"{float(value) * 100:+.{int(fmt[2:])}f}") + (" 个百分点" if lang == "zh" else "pp")
    text = format(value, fmt)
    return _unsigned_zero(text) if fmt.startswith("+") else text


def _unsigned_zero(text: str) -> str:
    """'-0.00' and '+0.00' are shown as '0.00': a change that rounds to nothing has no direction."""
    return text[1:] if text[:1] in "+-" and not any(ch in "123456789" for ch in text) else text


def excel_format(fmt: str) -> str | None:
    """The Excel number format for a cell format (None: general / text)."""
    if fmt in ("text", "status", "bool"):
        return None
    if fmt == "date":
        return "yyyy-mm-dd"
    if fmt == "datetime":
        return "yyyy-mm-dd hh:mm"
    if fmt.startswith("pp"):
        n = int(fmt[2:])
        body = "0" + ("." + "0" * n if n else "") + "%"
        return f"+{body};-{body};{body}"
    sign = fmt.startswith("+")
    spec = fmt.lstrip("+")
    n = _decimals(spec)
    body = ("#,##0" if "," in spec else "0") + ("." + "0" * n if n else "")
    if spec.endswith("%"):
        body += "%"
    elif not spec.endswith(("f", "d")):
        return None
    return f"+{body};-{body};{body}" if sign else body


def text_width(text: str) -> int:
    """Display width: CJK characters count double."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)
