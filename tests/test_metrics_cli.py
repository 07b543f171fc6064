"""`aftersales kpi`'s table, run as a manager runs it: Chinese by default (words, not status codes,
个百分点 not pp), English with --lang en."""

from __future__ import annotations

import re
import subprocess
import sys

import duckdb

from aftersales import model
from tests.metrics_fixtures import synth


def _kpi(db, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "aftersales.cli", "--db", str(db), "kpi", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_kpi_table_reads_in_chinese(tmp_path):
    path = tmp_path / "k.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(model.ddl())
        synth(con, tickets=6_000, start="2024-01-01", days=365)
    args = ("--metric", "complaint_rate,repair_success_rate,mttr", "--grain", "quarter", "--from", "2024-01-01",
            "--to", "2024-09-30")
    zh = _kpi(path, *args)
    assert "状态" in zh and "样本量" in zh and "个百分点" in zh
    words = set(re.findall(r"[A-Za-z_]{2,}", zh)) - {"CI"}
    assert words == set(), words  # no status codes (met, missed, no_target), no pp, no English headers
    en = _kpi(path, *args, "--lang", "en")
    assert "status" in en and re.search(r"\b(met|missed|no_target)\b", en) and "pp" in en
