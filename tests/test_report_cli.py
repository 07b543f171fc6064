"""`aftersales report` as cron runs it: predictable names, printed paths, and on failure a non-zero
exit with one line that says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftersales.cli import main
from tests.test_report_data import sample_db

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(sample_db()), "report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_writes_the_files_and_prints_their_paths(capsys, tmp_path) -> None:
    code, out, err = run(capsys, "--period", "last-month", "--as-of", "data", "--format", "csv,html",
                         "--where", "outlet_type=outsourced", "--by", "region", "--out", str(tmp_path / "new"))
    assert code == 0, err
    stem = "aftersales_kpi_2026-10_outlet_type-outsourced_by-region"
    assert out.splitlines() == [str(tmp_path / "new" / f"{stem}.html"), str(tmp_path / "new" / f"{stem}.csv")]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [f"{stem}.csv", f"{stem}.html"]


def test_relative_period_from_a_pinned_date(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "--period", "last-week", "--as-of", "2026-10-07", "--format", "csv", "--out",
                       str(tmp_path))
    assert code == 0 and out.strip().endswith("aftersales_kpi_2026-W40.csv")


def test_filters_in_any_order_give_the_same_file(capsys, tmp_path) -> None:
    a = run(capsys, "--period", "2026-09", "--format", "csv", "--where", "channel=jd,tmall", "--where", "region=华东",
            "--out", str(tmp_path / "a"))
    b = run(capsys, "--period", "2026-09", "--format", "csv", "--where", "region=east", "--where", "channel=tmall",
            "--where", "channel=jd", "--out", str(tmp_path / "b"))
    assert a[0] == b[0] == 0
    pa, pb = Path(a[1].strip()), Path(b[1].strip())
    assert pa.name == pb.name == "aftersales_kpi_2026-09_region-east_channel-jd+tmall.csv"
    assert pa.read_bytes() == pb.read_bytes()


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "2026-13"], "month 13 is not 1..12"),
    (["--period", "soon"], "write one of"),
    (["--period", "2026-09", "--where", "region=atlantis"], "unknown region 'atlantis'; valid values: central"),
    (["--period", "2026-09", "--where", "planet=mars"], "unknown filter 'planet'"),
    (["--period", "2026-09", "--where", "region"], "must be DIM=VALUE"),
    (["--period", "2026-09", "--by", "colour"], "unknown breakdown 'colour'"),
    (["--period", "2026-09", "--format", "docx"], "unknown format docx"),
    (["--period", "2027-01"], "no data for 2027-01: the data ends on 2026-10-31"),
    # cron's last-month run on a database whose data stopped long ago: the message says how to pick a period
    (["--period", "last-month", "--as-of", "2027-06-15"], "pass --as-of data"),
    (["--period", "2023-05"], "no data for 2023-05: the data ends on 2026-10-31 (tickets from 2024-01-0"),
])
def test_failures_exit_2_with_one_line(capsys, tmp_path, args, message) -> None:
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "out"))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("aftersales report: error: ") and message in line, line
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_pdf_without_chromium_says_what_to_install(capsys, tmp_path, monkeypatch) -> None:
    from reports import pdf

    monkeypatch.setattr(pdf, "chromium_path", lambda: None)
    code, _, err = run(capsys, "--period", "2026-09", "--format", "csv,pdf", "--out", str(tmp_path))
    assert code == 2 and "apt-get install chromium" in one_line_error(err)
    assert list(tmp_path.iterdir()) == [], "nothing is written when one format cannot be"


def test_a_missing_database_is_a_one_line_error(capsys, tmp_path) -> None:
    code = main(["--db", str(tmp_path / "none.duckdb"), "report", "--period", "2026-09", "--format", "csv",
                 "--out", str(tmp_path)])
    assert code == 2 and "does not exist yet" in one_line_error(capsys.readouterr().err)


def test_the_real_command_exits_non_zero_with_one_line(tmp_path) -> None:
    env = {**os.environ, "AFTERSALES_DB": str(sample_db())}
    bad = subprocess.run([sys.executable, "-m", "aftersales.cli", "report", "--period", "2026-99", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and bad.stdout == ""
    usage = subprocess.run([sys.executable, "-m", "aftersales.cli", "report", "--out", str(tmp_path)],
                           capture_output=True, text=True, cwd=ROOT, env=env)
    assert usage.returncode == 2 and usage.stderr.strip().splitlines() == [
        "aftersales report: error: the following arguments are required: --period "
        "(see `aftersales report --help`)"]


def test_a_report_run_writes_no_python_warning_on_stderr(tmp_path) -> None:
    # cron mails every stderr line: a library warning (DuckDB's "extra copy" of an Arrow result,
    # raised on the report's fetch threads) would reach the manager on every run.
    env = {**os.environ, "AFTERSALES_DB": str(sample_db())}
    done = subprocess.run([sys.executable, "-m", "aftersales.cli", "report", "--period", "2026-10", "--as-of",
                           "data", "--format", "csv,xlsx", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "warnings.warn" not in done.stderr, done.stderr
    assert all(line.startswith("aftersales report: ") for line in done.stderr.splitlines() if line.strip())
