"""`aftersales report --scope` (issue 17): a scoped pack counts only the scope's tickets, its title
and file names name the scope, and a filter outside the scope is refused in one line."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

import metrics
from aftersales.cli import main
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

PERIOD = "2026-09"


def _volume(csv_path: Path) -> float:
    rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    return float(next(r for r in rows if r["kpi"] == "ticket_volume")["value"])


@pytest.mark.slow  # two whole packs: about 30 s
def test_a_scoped_pack_counts_the_scope_only_and_says_whose_it_is(dash_db, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    assert main(["--db", str(dash_db), "report", "--period", PERIOD, "--format", "html,csv", "--out", str(out),
                 "--scope", "region=east", "--scope", "outlet_type=own"]) == 0
    assert main(["--db", str(dash_db), "report", "--period", PERIOD, "--format", "html,csv", "--out", str(out)]) == 0
    scoped_csv = out / "aftersales_kpi_2026-09_scope-outlet_type-own_scope-region-east.csv"
    whole_csv = out / "aftersales_kpi_2026-09.csv"
    assert scoped_csv.exists() and whole_csv.exists()  # side by side: one never overwrites the other
    html = scoped_csv.with_suffix(".html").read_text(encoding="utf-8")
    assert re.search(r"<title>售后服务 KPI 报告 · 华东 · 自营 · [^<]*</title>", html)
    assert "华东" not in re.search(r"<title>[^<]*</title>", whole_csv.with_suffix(".html").read_text("utf-8"))[0]
    scope = DataScope(regions=("east",), outlet_types=("own",))
    want = metrics.query(dash_db, ["ticket_volume"], grain="month", start=dt.date(2026, 9, 1),
                         end=dt.date(2026, 9, 30), config=DEFAULTS, scope=scope)["value"][-1]
    assert _volume(scoped_csv) == want < _volume(whole_csv)


def test_a_filter_outside_the_scope_is_refused(dash_db, tmp_path, capsys):  # noqa: F811
    code = main(["--db", str(dash_db), "report", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path),
                 "--scope", "region=east", "--where", "region=north"])
    err = capsys.readouterr().err
    assert code == 2 and "outside the data scope" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
    assert main(["--db", str(dash_db), "report", "--period", PERIOD, "--out", str(tmp_path),
                 "--scope", "regoin=east"]) == 2
    assert "--scope" in capsys.readouterr().err


def test_the_title_and_file_name_name_the_scope():
    """What names a pack (fast, without computing one): the title (and the HTML heading taken
    from it) and the file stem; the whole company's pack keeps its former names."""
    from reports import period, writer
    from reports.content import Freshness, Report

    def report(scope: DataScope, lang: str = "zh") -> Report:
        return Report(lang, period.parse(PERIOD, dt.date(2026, 10, 5)), {}, list(writer.DEFAULT_BY),
                      Freshness(dt.datetime(2026, 10, 31), None, None), pl.DataFrame(), [], [], scope=scope)

    east = DataScope(regions=("east",), outlets=("WD0031",))
    assert report(east).title.startswith("售后服务 KPI 报告 · 华东 · 网点 WD0031 · ")
    assert report(east, "en").title.startswith("After-sales KPI report · region east · outlet WD0031 · ")
    assert report(DataScope()).title.count(" · ") == 1
    assert writer.file_stem(report(east)) == "aftersales_kpi_2026-09_scope-outlet-WD0031_scope-region-east"
    assert writer.file_stem(report(DataScope())) == "aftersales_kpi_2026-09"
