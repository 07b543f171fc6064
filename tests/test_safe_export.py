"""Every CSV and XLSX the product writes is formula-safe (OWASP, CSV Injection): a text cell that
begins with = + - @, a tab or a carriage return is written with a single quote in front; numbers,
negative ones included, stay numbers. One test per writer, each reading back the file written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from aftersales.safe_export import neutralise, neutralise_frame
from pipelines.load import load_paths
from tests.conftest import TICKET_HEADER, write

ROOT = Path(__file__).resolve().parents[1]
EVIL = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tlead", "\rlead"]
FILE_NAMES = [v.replace("http://x", "x") for v in EVIL]  # no "/" in a file name
STARTS = ("=", "+", "-", "@", "\t", "\r")
SAFE = ["plain", "上海徐汇店", "a=b", "1-2"]  # formula characters inside the text are harmless


def _is_neutralised(cell: str, original: str) -> bool:
    return cell == "'" + original


def test_the_rule() -> None:
    assert [neutralise(v) for v in EVIL] == ["'" + v for v in EVIL]
    assert [neutralise(v) for v in SAFE] == SAFE
    assert [neutralise(v) for v in (-2, -2.5, None, dt.date(2024, 1, 1), True)] == [-2, -2.5, None,
                                                                                      dt.date(2024, 1, 1), True]
    df = neutralise_frame(pl.DataFrame({"t": EVIL + SAFE, "n": [-1.5] * 10, "l": [["=1", "x"]] * 10}))
    assert df["t"].to_list() == ["'" + v for v in EVIL] + SAFE
    assert df["n"].dtype == pl.Float64 and df["l"][0] == "'=1, x"


# -- the dashboard's downloads --------------------------------------------------------------------


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"outlet": EVIL + SAFE, "change": [-2.0, -0.5, 3.0, -1.0, 0.0, 1.0, -7.25, 2.0, 0.0, -1.0],
                         "n": list(range(-5, 5))})


def test_dashboard_csv_download() -> None:
    from dashboard.ui import _csv_bytes

    rows = list(csv.reader(io.StringIO(_csv_bytes(_frame()).decode("utf-8-sig"), newline="")))
    assert rows[0][0].startswith("# ")  # the first line says the values are raw
    rows = rows[1:]
    assert rows[0] == ["outlet", "change", "n"]
    cells = [r[0] for r in rows[1:]]
    assert all(_is_neutralised(c, v) for c, v in zip(cells, EVIL, strict=False)), cells
    assert cells[len(EVIL):] == SAFE
    assert [float(r[1]) for r in rows[1:]] == _frame()["change"].to_list()  # negative numbers stay numbers
    assert [int(r[2]) for r in rows[1:]] == list(range(-5, 5))


def _no_formulas(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_dashboard_xlsx_download() -> None:
    from dashboard.ui import _xlsx_bytes

    data = _xlsx_bytes(_frame())
    back = pl.read_excel(io.BytesIO(data))
    assert back["outlet"].to_list() == ["'" + v for v in EVIL] + SAFE
    assert back["change"].dtype.is_numeric() and back["change"].to_list() == _frame()["change"].to_list()
    assert back["n"].dtype.is_numeric()  # negative numbers stay numbers, not text
    assert _no_formulas(data)


# -- the report's CSV and XLSX --------------------------------------------------------------------


def _report():
    from reports import period
    from reports.content import Freshness, Report
    from reports.table import Col, Section, Table

    kpis = pl.DataFrame({
        "kpi": ["ticket_volume"] * len(EVIL), "unit": ["tickets"] * len(EVIL),
        "period_start": [dt.date(2026, 9, 1)] * len(EVIL), "period_end": [dt.date(2026, 10, 1)] * len(EVIL),
        "value": [10.0] * len(EVIL), "prev_change": [-3.0, -0.5, 1.0, -2.0, 0.0, -1.0],
        "status": ["no_target"] * len(EVIL), "excluded_reason": EVIL})
    table = Table("t", "T", "T", [Col("label", "name"), Col("n", "n", ",d"), Col("change", "change", "+.1f")],
                  [{"label": v, "n": i, "change": -1.5 - i, "_key": v} for i, v in enumerate(EVIL)])
    return Report("zh", period.parse("2026-09", dt.date(2026, 11, 5)), {"outlet": [EVIL[0]]}, [],
                  Freshness(dt.datetime(2026, 10, 31), None, None), kpis, [Section("s", "S", tables=[table])],
                  about=[(v, v) for v in EVIL])


def test_report_csv() -> None:
    from reports import csvout

    rows = list(csv.DictReader(io.StringIO(csvout.render(_report()).decode("utf-8-sig"), newline="")))
    assert [r["excluded_reason"] for r in rows] == ["'" + v for v in EVIL]
    assert {r["filter_outlet"] for r in rows} == {"'" + EVIL[0]}
    assert [float(r["prev_change"]) for r in rows] == [-3.0, -0.5, 1.0, -2.0, 0.0, -1.0]


def test_report_xlsx() -> None:
    from reports import xlsx

    data = xlsx.render(_report())
    table = pl.read_excel(io.BytesIO(data), sheet_id=2, read_options={"header_row": 2})  # after the About sheet
    assert table["name"].to_list() == ["'" + v for v in EVIL]
    assert table["change"].dtype.is_numeric() and table["change"].to_list() == [-1.5 - i for i in range(len(EVIL))]
    about = pl.read_excel(io.BytesIO(data), sheet_id=1, read_options={"header_row": 2}).head(len(EVIL))
    assert about.to_dicts() == [{about.columns[0]: "'" + v, about.columns[1]: "'" + v} for v in EVIL]
    assert _no_formulas(data)


# -- the CLI: rejects, loads, kpi, metrics --------------------------------------------------------


def _cli(db: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "aftersales.cli", "--db", str(db), *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout.decode("utf-8")


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def evil_db(tmp_path_factory) -> Path:
    """Files named with formula text, each with one quarantined row; outlets whose codes are
    formula text (tab- and CR-led ones set in the database: the loader trims white space)."""
    from tests.conftest import OUTLETS_CSV, TECHS_CSV

    tmp_path = tmp_path_factory.mktemp("evil")
    db = tmp_path / "db" / "aftersales.duckdb"
    bad = TICKET_HEADER + "\n" + "X1,myspace,repair,normal,open,O1,T01,M,C1,张三,13800000000,,2024-01-05 09:03:00," \
                              ",,,,,false,,,,,,2024-01-05 09:03:00\n"
    named = [write(tmp_path / "in" / f"{i}" / f"{name}.csv", bad.replace("X1", f"X{i}"))
             for i, name in enumerate(FILE_NAMES)]
    outlets = OUTLETS_CSV + "".join(f"Q{i},name{i},east,上海,1,own,2020-01-01\n" for i in range(len(EVIL)))
    # Outlet Q<i>: 3 tickets in January, 1 in February (volume change -2: a negative number).
    tickets = [f"K{i}{j},tmall,repair,normal,open,Q{i},,M,C,张三,13800000000,,2024-0{1 if j < 3 else 2}-05 09:03:00,"
               f",,,,,false,,,,,,2024-01-05 09:03:00" for i in range(len(EVIL)) for j in range(4)]
    load_paths(db, [write(tmp_path / "in" / "outlets.csv", outlets),
                    write(tmp_path / "in" / "technicians.csv", TECHS_CSV),
                    write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(tickets) + "\n")],
               show_progress=False)
    load_paths(db, named, source="canonical-tickets", show_progress=False, max_quarantined_share=1.0)
    from aftersales.db import writer
    from pipelines import derive

    with writer(db) as con:
        for i, name in enumerate(EVIL):
            for table in ("outlets", "tickets"):
                con.execute(f"UPDATE {table} SET outlet_id = $new WHERE outlet_id = $old", {"new": name, "old": f"Q{i}"})
        derive.refresh(con, full=True)
    return db


def test_rejects_and_loads_csv(evil_db: Path) -> None:
    rejects = _csv(_cli(evil_db, "rejects", "--format", "csv"))
    assert sorted(r["file"] for r in rejects) == sorted("'" + v + ".csv" for v in FILE_NAMES)
    loads = _csv(_cli(evil_db, "loads", "--format", "csv"))
    assert {"'" + v + ".csv" for v in FILE_NAMES} <= {r["file"] for r in loads}
    assert not any(cell.startswith(STARTS) for r in rejects + loads for cell in r.values())


def test_kpi_csv(evil_db: Path) -> None:
    rows = _csv(_cli(evil_db, "kpi", "--metric", "ticket_volume", "--by", "outlet", "--grain", "month",
                     "--from", "2024-01-01", "--to", "2024-02-29", "--format", "csv"))
    outlets = {r["outlet"] for r in rows}
    assert {"'" + v for v in EVIL} <= outlets and not any(o.startswith(STARTS) for o in outlets)
    feb = [r for r in rows if r["period_start"] == "2024-02-01" and r["outlet"].startswith("'")]
    assert len(feb) == len(EVIL) and {float(r["prev_change"]) for r in feb} == {-2.0}  # a number, not text
    values = _csv(_cli(evil_db, "kpi", "--values", "outlet", "--format", "csv"))
    assert {"'" + v for v in EVIL} <= {r[next(iter(r))] for r in values}
    assert not any(c.startswith(STARTS) for r in _csv(_cli(evil_db, "metrics", "--format", "csv")) for c in r.values())
