"""The printable one-page outlet scorecard (`aftersales scorecard`): its numbers are the
scorecard's, it is Chinese in zh, it fits one A4 page as PDF, and bad input is one clear line."""

from __future__ import annotations

import re
import subprocess
from html import unescape

import pytest

from aftersales.cli import main
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from metrics.scorecard import scorecard
from reports import pdf
from reports import scorecard as page
from tests.metrics_fixtures import shared_sample_db


@pytest.fixture(scope="module")
def db():
    return shared_sample_db()[0]


@pytest.fixture(scope="module")
def outlet(db):
    return scorecard(db, "outlet", config=DEFAULTS, scope=DataScope()).table.sort("ticket_volume",
                                                                                  descending=True)["outlet"][0]


def test_page_numbers_are_the_scorecards(db, outlet):
    card = scorecard(db, "outlet", config=DEFAULTS, scope=DataScope()).row(outlet)
    html = page.build(db, outlet, config=DEFAULTS, scope=DataScope()).html
    raw = dict(re.findall(r'data-kpi="(\w+)" data-raw="([^"]*)"', html))
    for kpi in ("ticket_volume", "first_time_fix_rate", "repair_success_rate", "mttr", "csat", "complaint_rate",
                "repeat_repair_rate"):
        want = card[kpi]
        assert (raw[kpi] == "") if want is None else float(raw[kpi]) == pytest.approx(want), kpi
    assert int(raw["overdue"]) == card["overdue"]
    assert card["outlet_name"] in html


def test_provisional_numbers_say_so_with_the_date(db, outlet):
    # the shared sample ends on the last day of its latest month: its repairs are inside the recheck
    card = scorecard(db, "outlet", config=DEFAULTS, scope=DataScope())
    pending = card.provisional()
    assert "repair_success_rate" in pending and "repeat_repair_rate" in pending and "ticket_volume" not in pending
    html = page.build(db, outlet, lang="zh", config=DEFAULTS, scope=DataScope()).html
    final = pending["repair_success_rate"]
    card_html = re.search(r'<div class="sc-card pending" data-kpi="repair_success_rate".*?</div></div>', html).group(0)
    assert f"暂定,{final.year}年{final.month}月{final.day}日定稿" in card_html
    assert 'class="sc-card" data-kpi="ticket_volume"' in html  # final numbers stay plain
    note = unescape(re.search(r'<p class="note pending">(.*?)</p>', html).group(1))
    assert f"维修成功率({final.year}年{final.month}月{final.day}日定稿)" in note
    en = page.build(db, outlet, lang="en", config=DEFAULTS, scope=DataScope()).html
    assert f"provisional, final on {final.isoformat()}" in en


def test_chinese_page_has_no_english_words(db, outlet):
    html = page.build(db, outlet, lang="zh", config=DEFAULTS, scope=DataScope()).html
    text = unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S))
    words = set(re.findall(r"[A-Za-z]{2,}", text)) - {"aftersales", "scorecard", "P90"}
    # outlet and technician codes (WD…, JS…) are codes, not words
    assert not {w for w in words if not re.fullmatch(r"(WD|JS)\d*", w)}, words
    assert "None" not in text and "nan" not in text


def test_cli_writes_html_and_a_one_page_pdf(db, outlet, tmp_path):
    if pdf.chromium_path() is None:
        pytest.skip("Chromium is not installed")
    assert main(["--db", str(db), "scorecard", "--outlet", outlet, "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].endswith(".html") and files[1].endswith(".pdf")
    data = (tmp_path / files[1]).read_bytes()
    assert data.startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(tmp_path / files[1])], capture_output=True, text=True)
    if info.returncode == 0:
        assert re.search(r"Pages:\s+1\b", info.stdout), info.stdout


def test_cli_bad_outlet_and_period_are_one_line(db, tmp_path, capsys):
    assert main(["--db", str(db), "scorecard", "--outlet", "WD9999", "--format", "html", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no outlet 'WD9999'" in err and err.count("\n") == 1
    assert main(["--db", str(db), "scorecard", "--outlet", "X", "--period", "2026-13", "--format", "html",
                 "--out", str(tmp_path)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
