"""`aftersales load` speaks the config's language (issue 17's while-there): in zh every line it
prints is Chinese apart from file names, sources, codes and units (tests/zh_text.leaks); with
--lang en the loader's English lines. Real files (the masters and tickets the alert tests use, a
quarantined row among them, then the same files again: duplicates)."""

from __future__ import annotations

from aftersales.cli import main
from pipelines import load_words
from tests.conftest import TICKET_HEADER, ticket_row, write
from tests.zh_text import leaks


def _files(tmp_path, masters):
    bad = ticket_row("", created="2026-11-01 09:00:00")  # an empty id: quarantined
    rows = [ticket_row("A", created="2026-11-01 09:00:00"), ticket_row("B", created="2026-11-02 09:00:00"), bad]
    return [*map(str, masters), str(write(tmp_path / "in" / "tickets.csv", "\n".join([TICKET_HEADER, *rows]) + "\n"))]


def test_the_loader_prints_chinese_in_zh(tmp_path, masters, capsys):
    db = str(tmp_path / "db" / "aftersales.duckdb")
    files = _files(tmp_path, masters)
    assert main(["--db", db, "load", *files]) == 0
    out = capsys.readouterr().out
    assert main(["--db", db, "load", *files]) == 0  # again: every file a duplicate
    out += capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert any(line.startswith("✓ tickets.csv → 工单") and "隔离 1" in line for line in lines), lines
    assert any("重复文件" in line for line in lines) and any(line.startswith("内存峰值") for line in lines)
    assert {line: leaks(line) for line in lines if leaks(line)} == {}


def test_english_with_lang_en_and_unknown_lines_pass_through(tmp_path, masters, capsys):
    db = str(tmp_path / "db" / "aftersales.duckdb")
    assert main(["--db", db, "load", "--lang", "en", *_files(tmp_path, masters)]) == 0
    out = capsys.readouterr().out
    assert "inserted +" in out and "peak memory" in out and "rows read =" in out
    assert load_words.zh("something new") == "something new"
