"""Loud failures: a file most of whose rows break rules is refused whole with the top rules and a
fix each; a mapping mistake is one error before any row is read; messages say which mapping key
fixes a value (`datetime_formats` for 29/2/2016 01:16, `null_values` for ?)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from aftersales.cli import main
from aftersales.errors import UserError
from pipelines import hints
from pipelines.load import load_paths
from tests.conftest import write

MAPPING = """source: desk-export
table: tickets
match: ["desk*.csv"]
columns:
  ticket_id: Number
  channel: {constant: phone}
  service_type: {constant: repair}
  status:
    column: State
    values: {New: open, Closed: closed}
  created_at: Opened
  resolved_at: Resolved
"""


def _mappings(tmp_path: Path, text: str = MAPPING) -> Path:
    write(tmp_path / "maps" / "desk.yaml", text)
    return tmp_path / "maps"


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


DAY_FIRST = ("Number,State,Opened,Resolved\n"
             "INC1,Closed,29/2/2016 01:16,1/3/2016 09:00\n"
             "INC2,Closed,30/3/2016 11:00,31/3/2016 09:00\n"
             "INC3,New,2016-04-02 08:00:00,\n"
             "INC4,Closed,13/4/2016 10:30,14/4/2016 09:00\n")


def test_a_file_quarantining_most_rows_is_refused_with_the_fix(tmp_path, db_path, masters):
    # 3 of 4 rows (75%) have day-first dates no built-in format reads: above 50% → refused
    f = write(tmp_path / "in" / "desk_1.csv", DAY_FIRST)
    with pytest.raises(UserError) as err:
        load_paths(db_path, [*masters, f], mapping_dirs=[_mappings(tmp_path)], show_progress=False)
    msg = str(err.value)
    assert "desk_1.csv" in msg and "3 of 4 rows (75%)" in msg and "nothing from this file was written" in msg
    assert "type in Opened: 3 row(s)" in msg
    assert '"%d/%m/%Y %H:%M"' in msg and "datetime_formats" in msg
    # the masters before it landed; nothing of the refused file did
    assert _rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert _rows(db_path, "SELECT count(*) FROM quarantine") == [(0,)]
    assert _rows(db_path, "SELECT table_name FROM loads ORDER BY load_id") == [("outlets",), ("technicians",)]
    # the mapping's own threshold wins over the default: the same file loads with 0.8
    relaxed = MAPPING + "max_quarantined_share: 0.8\n"
    res = load_paths(db_path, [f], mapping_dirs=[_mappings(tmp_path, relaxed)], show_progress=False)[-1]
    assert (res.inserted, res.quarantined) == (1, 3)
    msg = _rows(db_path, "SELECT message FROM quarantine WHERE row_number = 1 AND column_name = 'created_at'")[0][0]
    assert "29/2/2016 01:16" in msg and '"%d/%m/%Y %H:%M"' in msg and "datetime_formats" in msg


def test_the_command_exits_2_and_does_not_announce_a_publication(tmp_path, db_path, masters, capsys):
    f = write(tmp_path / "in" / "desk_1.csv", DAY_FIRST)
    rc = main(["--db", str(db_path), "load", *map(str, masters), str(f), "--mappings", str(_mappings(tmp_path))])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "data published" not in out + err and "数据已发布" not in out + err and "✓ desk_1.csv" not in out
    assert "error:" in err and "datetime_formats" in err
    # the threshold from the config file: 0.9 accepts it
    cfg = write(tmp_path / "aftersales.toml", "[load]\nmax_quarantined_share = 0.9\n")
    rc = main(["--db", str(db_path), "--config", str(cfg), "load", str(f), "--mappings", str(_mappings(tmp_path))])
    assert rc == 0
    assert _rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]


def test_a_null_marker_is_suggested_for_question_marks(tmp_path, db_path, masters):
    f = write(tmp_path / "in" / "desk_1.csv", "Number,State,Opened,Resolved\n"
              "INC1,Closed,2016-03-01 08:00:00,?\n"
              "INC2,Closed,2016-03-01 08:00:00,2016-03-02 08:00:00\n"
              "INC3,New,2016-03-01 08:00:00,\n")
    res = load_paths(db_path, [*masters, f], mapping_dirs=[_mappings(tmp_path)], show_progress=False)[-1]
    assert res.quarantined == 1
    (msg,) = _rows(db_path, "SELECT message FROM quarantine")[0]
    assert '"?" to `null_values`' in msg


@pytest.mark.parametrize("columns, expected", [
    ("  channel: {constant: email}\n", "constant 'email' is not a known code"),
    ("  channel: {constant: phone}\n  priority: {column: Pri, values: {P1: urgnt}}\n",
     "'P1' → 'urgnt' is not a known code"),
    ("  channel: {constant: phone}\n  reopen_count: {constant: many}\n", "constant 'many' cannot be read as integer"),
])
def test_a_bad_constant_is_one_mapping_error_before_any_row(tmp_path, db_path, masters, columns, expected):
    text = MAPPING.replace("  channel: {constant: phone}\n", columns)
    f = write(tmp_path / "in" / "desk_1.csv", DAY_FIRST)
    with pytest.raises(UserError) as err:
        load_paths(db_path, [*masters, f], mapping_dirs=[_mappings(tmp_path, text)], show_progress=False)
    assert expected in str(err.value) and "desk.yaml" in str(err.value)
    assert not db_path.exists()  # refused before the database was even opened


def test_an_unknown_header_is_one_error_naming_the_headers_found(tmp_path, db_path, masters):
    f = write(tmp_path / "in" / "desk_1.csv", DAY_FIRST.replace("Opened", "Created"))
    with pytest.raises(UserError) as err:
        load_paths(db_path, [*masters, f], mapping_dirs=[_mappings(tmp_path)], show_progress=False)
    assert "['Opened']" in str(err.value) and "Created" in str(err.value)
    assert _rows(db_path, "SELECT count(*) FROM quarantine") == [(0,)]


def test_hints_guess_formats_and_null_markers():
    assert hints.guess_datetime_format("29/2/2016 01:16") == "%d/%m/%Y %H:%M"
    assert hints.guess_datetime_format("02/13/2016 1:16 PM") == "%m/%d/%Y %I:%M %p"
    assert hints.guess_datetime_format("not a date") is None
    assert hints.looks_like_null("?") and hints.looks_like_null("暂无") and not hints.looks_like_null("Email")
    assert "null_values" in hints.fix("known_value", "VARCHAR", "?", "channels")
    assert "[vocabularies.channels]" in hints.fix("known_value", "VARCHAR", "Email", "channels")


def test_an_ambiguous_date_names_both_orders():
    assert '"%d/%m/%Y %H:%M" to `datetime_formats`' in hints.fix("type", "TIMESTAMP", "5/10/2016 02:16")
    assert '"%m/%d/%Y %H:%M" if the month comes first' in hints.fix("type", "TIMESTAMP", "5/10/2016 02:16")
    assert "month comes first" not in hints.fix("type", "TIMESTAMP", "29/2/2016 01:16")
