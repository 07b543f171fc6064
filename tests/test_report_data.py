"""Sample data and readers shared by the report tests (imported by tests/test_report*.py).

The sample database is the project's generator (12,000 tickets, 2024-01 .. 2026-10) loaded by the
real pipeline, built once per test session. Reports are made once per distinct request and
cached, so the format tests read the same files.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import functools
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aftersales.principal import DataScope
from reports import content, period, writer

TICKETS = 12_000
SEED = 11
PERIOD = "2026-09"  # complete, with a previous month and a year before in the data
HAS_CHROMIUM = Path("/usr/bin/chromium").exists()
HAS_PDFTOTEXT = shutil.which("pdftotext") is not None
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="PDF/browser test needs Debian's chromium at "
                                    "/usr/bin/chromium: apt-get install chromium")
needs_pdftotext = pytest.mark.skipif(not HAS_PDFTOTEXT, reason="PDF text needs pdftotext: apt-get install poppler-utils")

_ROOT = Path(tempfile.mkdtemp(prefix="aftersales_report_tests_"))
# Module-level (shared by the report test files through made()), so no fixture removes it: the
# process does, or every run leaves a sample database in /tmp.
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def sample_db() -> Path:
    """The sample database (generated and loaded once per session; read-only afterwards)."""
    from pipelines.generate import generate
    from pipelines.load import load_paths

    src, db = _ROOT / "sample", _ROOT / "sample.duckdb"
    generate(src, tickets=TICKETS, seed=SEED, end="2026-10-31", progress=False)
    load_paths(db, [src], show_progress=False)
    return db


@functools.lru_cache(maxsize=16)
def made(period_text: str = PERIOD, formats: str = "html,xlsx,csv,pdf", where: tuple = (), by: tuple = (),
         lang: str = "zh", db: Path | None = None) -> tuple[content.Report, dict[str, Path]]:
    """A report written once per distinct request: (the Report, {format: path})."""
    from aftersales.config import load_config
    from aftersales.db import connect_readonly

    fmts = [f for f in formats.split(",") if f != "pdf" or HAS_CHROMIUM]
    db = db or sample_db()
    con = connect_readonly(db)
    try:
        p = period.parse(period_text, dt.date(2026, 11, 5))
        report = content.build(con, p, where=dict(where) or None, by=list(by) or None, lang=lang,
                               config=load_config(None, db), scope=DataScope())
    finally:
        con.close()
    out = Path(tempfile.mkdtemp(prefix="out_", dir=_ROOT))
    paths = writer.write(report, writer.parse_formats(",".join(fmts)), out)
    return report, {p.suffix[1:]: p for p in paths}


def month_of(text: str) -> period.Period:
    return period.parse(text, dt.date(2026, 11, 5))


# ---- reading the formats back -----------------------------------------------------------------

def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff"), "the CSV starts with a BOM so Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(text[1:])))


def xlsx_text(path: Path) -> str:
    """Every XML part of the workbook, joined (for scanning)."""
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def pdf_text(path: Path, layout: bool = True) -> str:
    args = ["pdftotext"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


class HtmlDoc(HTMLParser):
    """Cards and tables of a report page, with each cell's raw value and shown text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: dict[str, dict[str, tuple[str, str]]] = {}  # kpi -> field -> (raw, text)
        self.tables: dict[str, list[dict[str, Any]]] = {}  # table id -> rows {"_key", col: (raw, text)}
        self.meta: dict[str, str] = {}
        self.scripts_src: list[str] = []
        self.links: list[str] = []
        self._card: str | None = None
        self._field: tuple[str, str] | None = None  # (field, raw) of an open card span
        self._table: str | None = None
        self._row: dict[str, Any] | None = None
        self._cell: tuple[str, str] | None = None
        self._buf: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and a.get("name"):
            self.meta[a["name"]] = a.get("content", "")
        if tag == "script" and a.get("src"):
            self.scripts_src.append(a["src"])
        if tag == "link" and a.get("href"):
            self.links.append(a["href"])
        if tag == "div" and "card" in a.get("class", "").split() and a.get("data-kpi"):
            self._card = a["data-kpi"]
            self.cards[self._card] = {}
        if tag == "span" and self._card and a.get("data-field"):
            self._field, self._buf = (a["data-field"], a.get("data-raw", "")), []
        if tag == "table" and a.get("id", "").startswith("t-"):
            self._table = a["id"][2:]
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None and "data-key" in a:
            self._row = {"_key": a["data-key"]}
        if tag == "td" and self._row is not None:
            self._cell, self._buf = (a["data-col"], a.get("data-raw", "")), []

    def handle_data(self, data: str) -> None:
        if self._field or self._cell:
            self._buf.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._field and self._card:
            self.cards[self._card][self._field[0]] = (self._field[1], "".join(self._buf).strip())
            self._field = None
        if tag == "td" and self._cell and self._row is not None:
            self._row[self._cell[0]] = (self._cell[1], "".join(self._buf).strip())
            self._cell = None
        if tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None


def num(text: str) -> float | None:
    return None if text in ("", None) else float(text)


def close(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    """Equal up to the last digits DuckDB's parallel sums vary in."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def personal_values(db: Path) -> tuple[set[str], set[str]]:
    """Raw customer names and phones in the database (the strings no export may contain)."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT DISTINCT customer_name FROM tickets WHERE customer_name IS NOT NULL "
                                           "AND length(customer_name) >= 2").fetchall()}
        phones = {r[0] for r in con.execute("SELECT DISTINCT customer_phone FROM tickets "
                                            "WHERE customer_phone IS NOT NULL").fetchall()}
        staff = {r[0] for r in con.execute("SELECT technician_name FROM technicians").fetchall()}
    return names - staff, phones  # technicians' names are staff data, not customers'


def leaked(text: str, names: set[str], phones: set[str]) -> set[str]:
    """Names and phones found in ``text``: every 2- and 3-character window of its CJK runs and
    every 11-digit window of its digit runs, looked up in the sets (fast on a 5 MB page)."""
    windows: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff]{2,}", text):
        windows.update(run[i:i + n] for n in (2, 3) for i in range(len(run) - n + 1))
    for run in re.findall(r"\d{11,}", text):
        windows.update(run[i:i + 11] for i in range(len(run) - 10))
    return windows & (names | phones)


def test_sample_database_is_the_generated_one() -> None:
    with duckdb.connect(str(sample_db()), read_only=True) as con:
        n, first, last = con.execute("SELECT count(*), min(created_at), max(created_at) FROM tickets").fetchall()[0]
        loads = con.execute("SELECT count(*) FROM loads").fetchall()[0][0]
    assert n > TICKETS * 0.9 and first.year == 2024 and last.date() == dt.date(2026, 10, 31)
    assert loads >= 4  # loaded by the pipeline, so the report can say when
