"""How the messy export writes values: through the shipped mapping files (so headers and labels are
defined once, in ``pipelines/mappings/*.yaml``), in a date style chosen per row, with the file's
null markers, into Excel workbooks or CSV in a given encoding."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter
import yaml

from aftersales.model import TABLES

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


@dataclass(frozen=True)
class Raw:
    """A literal cell (an unknown label, a date that is no date): written as is."""
    text: str


@dataclass(frozen=True)
class XlDate:
    """A real Excel date cell (a serial number with a date format)."""
    value: dt.datetime | dt.date


@dataclass
class Mapping:
    """The parts of a shipped mapping file the writer needs: headers and labels per column."""
    source: str
    table: str
    spec: dict[str, Any]
    types: dict[str, str] = field(default_factory=dict)  # canonical column -> DuckDB type
    headers: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # column -> code -> labels

    @classmethod
    def load(cls, source: str) -> Mapping:
        spec = yaml.safe_load((MAPPINGS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))
        m = cls(spec["source"], spec["table"], spec, {c.name: c.type for c in TABLES[spec["table"]].columns})
        for col, entry in spec["columns"].items():
            if isinstance(entry, str):
                m.headers[col] = entry
                continue
            if "column" in entry:
                m.headers[col] = entry["column"]
            inverse: dict[str, list[str]] = {}
            for label, code in (entry.get("values") or {}).items():
                inverse.setdefault(_code(code), []).append(str(label))
            m.labels[col] = inverse
        return m

    def label(self, col: str, code: Any, rng: np.random.Generator) -> str:
        options = self.labels.get(col, {}).get(_code(code))
        if not options:
            return _code(code)
        return options[0] if len(options) == 1 or rng.random() < 0.8 else options[int(rng.integers(1, len(options)))]

    def known_labels(self, col: str) -> set[str]:
        return {x for labels in self.labels.get(col, {}).values() for x in labels}


def _code(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def format_ts(value: dt.datetime, style: str) -> str | float | XlDate:
    if style == "slash_min":
        return f"{value.year}/{value.month}/{value.day} {value.hour}:{value.minute:02d}"
    if style == "slash_sec":
        return value.strftime("%Y/%m/%d %H:%M:%S")
    if style == "iso_tz":
        return value.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    if style == "serial":
        return (value - EXCEL_EPOCH).total_seconds() / 86400
    if style == "xldate":
        return XlDate(value)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_date(value: dt.date, style: str) -> str | float | XlDate:
    if style == "serial":
        return float((value - EXCEL_EPOCH.date()).days)
    if style == "xldate":
        return XlDate(value)
    if style in ("slash_min", "slash_sec", "slash"):
        return value.strftime("%Y/%m/%d")
    return value.isoformat()


def render(m: Mapping, values: dict[str, Any], style: str, rng: np.random.Generator, nulls: list[str],
           excel: bool) -> dict[str, Any]:
    """One source row: header -> cell (str, number, XlDate, or None for a blank Excel cell)."""
    types = m.types
    out: dict[str, Any] = {}
    for col, header in m.headers.items():
        v = values.get(col)
        if isinstance(v, Raw):
            out[header] = v.text
        elif v is None:
            marker = nulls[int(rng.integers(0, len(nulls)))]
            out[header] = None if excel and marker == "" else marker
        elif types[col] == "TIMESTAMP":
            out[header] = format_ts(v, style)
        elif types[col] == "DATE":
            out[header] = format_date(v, style)
        elif col in m.labels:
            out[header] = m.label(col, v, rng)
        elif types[col].startswith("DECIMAL"):
            out[header] = round(float(v), 2) if excel else f"{float(v):.2f}"
        elif types[col] in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
            out[header] = int(v) if excel else str(int(v))
        else:
            out[header] = str(v)
    return out


def write_xlsx(path: Path, sheets: list[tuple[str, list[str], list[dict[str, Any]]]], title: str | None = None) -> None:
    """Sheets of (name, headers, rows); ``title`` puts a title line above the headers."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": EXCEL_EPOCH})  # a fixed date keeps the bytes the same run after run
    bold = wb.add_format({"bold": True})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, headers, rows in sheets:
        ws = wb.add_worksheet(name)
        r0 = 0
        if title:
            ws.write_string(0, 0, title, bold)
            r0 = 1
        ws.write_row(r0, 0, headers, bold)
        for i, row in enumerate(rows, start=r0 + 1):
            for j, h in enumerate(headers):
                v = row.get(h)
                if v is None:
                    continue
                if isinstance(v, XlDate):
                    is_ts = isinstance(v.value, dt.datetime)
                    value = v.value if is_ts else dt.datetime.combine(v.value, dt.time())
                    ws.write_datetime(i, j, value, ts_fmt if is_ts else date_fmt)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, str(v))
        ws.set_column(0, len(headers) - 1, 16)
    wb.close()


def write_csv(path: Path, headers: list[str], rows: list[dict[str, Any]], encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(headers)
        for row in rows:
            w.writerow(["" if row.get(h) is None else row[h] for h in headers])


__all__ = ["Mapping", "Raw", "XlDate", "render", "write_xlsx", "write_csv", "format_ts", "format_date"]
