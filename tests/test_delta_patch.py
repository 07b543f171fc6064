"""A delta's patch of the derived tables: the tickets a load touches are recomputed, and the
earlier repair tickets of the same customer and model, touched only through them, get their next
repair updated in place (pipelines/derive.py, _patch). Both must equal the rebuild, row for row."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines import derive
from tests.conftest import TICKET_HEADER, table_rows, write
from tests.test_metrics_facts import _differences, _load, _repair


def _next(db, tid: str):
    return table_rows(db, "SELECT next_repair_at FROM ticket_facts WHERE ticket_id = $t".replace("$t", f"'{tid}'"))[0][0]


def _fresh(db) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        for name in derive.TABLES:
            assert _differences(con, name) == 0, name


def test_earlier_repairs_touched_only_through_a_new_one_follow_it(db_path, masters, tmp_path, monkeypatch):
    monkeypatch.setattr(derive, "FULL_REBUILD_SHARE", 1e9)  # small data: always patch
    calls: list[str] = []
    real = derive._patch
    monkeypatch.setattr(derive, "_patch", lambda *a, **k: calls.append("patch") or real(*a, **k))
    first = write(tmp_path / "a" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        _repair("E1", "C1", "2024-01-05 09:00:00", "2024-01-06 10:00:00"),
        _repair("E2", "C1", "2024-01-02 09:00:00", "2024-01-03 10:00:00"),
        _repair("E3", "C2", "2024-01-05 09:00:00", "2024-01-06 10:00:00"),
        _repair("E4", "C3", "2024-01-05 09:00:00")]) + "\n")
    _load(db_path, *masters, first)
    _load(db_path, write(tmp_path / "b" / "tickets.csv", TICKET_HEADER + "\n"
                         + _repair("N1", "C2", "2024-01-20 09:00:00") + "\n"))
    assert _next(db_path, "E3") == dt.datetime(2024, 1, 20, 9)  # E3 touched only through N1
    _fresh(db_path)
    # New repairs of C1's model: E1 and E2, touched only through them, now have a next repair
    # (E2's is E1, which it already had; E1's is N2); E3's next (N1) goes when N1's re-export
    # moves it to another customer.
    second = write(tmp_path / "c" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        _repair("N2", "C1", "2024-01-25 09:00:00"),
        _repair("N1", "C9", "2024-01-20 09:00:00", updated="2024-01-21 09:00:00")]) + "\n")
    _load(db_path, second)
    assert len(calls) >= 2  # the patch ran, not a rebuild
    assert _next(db_path, "E1") == dt.datetime(2024, 1, 25, 9)
    assert _next(db_path, "E2") == dt.datetime(2024, 1, 5, 9)
    assert _next(db_path, "E3") is None
    assert table_rows(db_path, "SELECT count(*) FROM ticket_facts") == [(6,)]
    _fresh(db_path)


@pytest.mark.parametrize("n_new", [1, 3])
def test_a_patch_touching_earlier_repairs_equals_the_rebuild(db_path, masters, tmp_path, monkeypatch, n_new):
    monkeypatch.setattr(derive, "FULL_REBUILD_SHARE", 1e9)
    rows = [_repair(f"R{i}", f"C{i % 3}", f"2024-01-{i + 1:02d} 09:00:00", f"2024-01-{i + 1:02d} 18:00:00")
            for i in range(12)]
    _load(db_path, *masters, write(tmp_path / "a" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n"))
    later = [_repair(f"L{i}", f"C{i % 3}", f"2024-01-{i + 5:02d} 12:00:00") for i in range(n_new)]
    _load(db_path, write(tmp_path / "b" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(later) + "\n"))
    _fresh(db_path)
