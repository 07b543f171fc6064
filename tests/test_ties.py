"""Deterministic ties: rows of one key that no version orders are quarantined (in a file and
across files) unless the mapping names a tie-break, the key keeps no half state, and the final
database does not depend on how an export was split into files or the order they were loaded."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.load import load_paths
from tests.conftest import write

HEADER = "Number,State,Channel,Updated,Seq\n"


def _mapping(extra: str = "version: {column: Updated, type: datetime}\n") -> str:
    return ("source: desk\ntable: tickets\nmatch: [\"desk*.csv\"]\n" + extra +
            "columns:\n  ticket_id: Number\n  status: State\n  channel: Channel\n"
            "  service_type: {constant: repair}\n  created_at: {column: Updated}\n  updated_at: Updated\n")


def _setup(tmp: Path, mapping: str) -> Path:
    write(tmp / "maps" / "desk.yaml", mapping)
    return tmp / "maps"


def _load(db: Path, maps: Path, *files: Path):
    return load_paths(db, list(files), mapping_dirs=[maps], show_progress=False, max_quarantined_share=1.0)


def _tickets(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT ticket_id, status, channel, updated_at FROM tickets ORDER BY 1").fetchall()


def _rules(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file_name, row_number, rule FROM quarantine ORDER BY 1, 2").fetchall()


def test_a_tie_at_the_latest_version_leaves_the_key_as_stored(tmp_path, db_path):
    maps = _setup(tmp_path, _mapping())
    first = write(tmp_path / "in" / "desk_0.csv", HEADER + "A1,open,jd,2024-06-01 08:00:00,\n")
    _load(db_path, maps, first)
    # rows 1-3 are A1: v1, then two contradicting rows at v2. Applying v1 alone would be a half
    # state (the file says a later state exists): all three are quarantined; B1 loads.
    second = write(tmp_path / "in" / "desk_1.csv", HEADER +
                   "A1,in_progress,jd,2024-06-02 08:00:00,\n"
                   "A1,closed,jd,2024-06-03 08:00:00,\n"
                   "A1,in_progress,jd,2024-06-03 08:00:00,\n"
                   "B1,open,jd,2024-06-03 08:00:00,\n")
    res = _load(db_path, maps, second)[-1]
    assert (res.rows_read, res.inserted, res.updated, res.unchanged, res.quarantined) == (4, 1, 0, 0, 3)
    assert [t[:2] for t in _tickets(db_path)] == [("A1", "open"), ("B1", "open")]
    assert _rules(db_path) == [("desk_1.csv", 1, "duplicate_key"), ("desk_1.csv", 2, "duplicate_key"),
                               ("desk_1.csv", 3, "duplicate_key")]


def test_an_older_tie_does_not_block_the_latest_row(tmp_path, db_path):
    maps = _setup(tmp_path, _mapping())
    f = write(tmp_path / "in" / "desk_1.csv", HEADER +
              "A1,open,jd,2024-06-02 08:00:00,\n"
              "A1,dispatched,jd,2024-06-02 08:00:00,\n"
              "A1,closed,jd,2024-06-04 08:00:00,\n")
    res = _load(db_path, maps, f)[-1]
    assert (res.inserted, res.quarantined) == (1, 2)
    assert [t[:2] for t in _tickets(db_path)] == [("A1", "closed")]


def test_a_later_file_contradicting_the_stored_version_is_quarantined(tmp_path):
    maps = _setup(tmp_path, _mapping())
    a = write(tmp_path / "in" / "desk_a.csv", HEADER + "A1,closed,jd,2024-06-03 08:00:00,\n")
    b = write(tmp_path / "in" / "desk_b.csv", HEADER + "A1,in_progress,jd,2024-06-03 08:00:00,\n")
    for order, kept in (((a, b), "closed"), ((b, a), "in_progress")):
        db = tmp_path / f"{order[0].stem}.duckdb"
        first, later = (_load(db, maps, f)[-1] for f in order)
        assert (first.inserted, later.quarantined, later.updated) == (1, 1, 0)
        # the first file's state stays whole; the contradiction is reported, never applied
        assert [t[:2] for t in _tickets(db)] == [("A1", kept)]
        assert _rules(db) == [(order[1].name, 1, "duplicate_key")]
    # the same row again is no contradiction: unchanged
    db = tmp_path / "again.duckdb"
    _load(db, maps, a)
    again = write(tmp_path / "in" / "desk_c.csv", HEADER + "A1,closed,jd,2024-06-03 08:00:00,\n")
    assert _load(db, maps, again)[-1].unchanged == 1


def test_a_second_version_column_breaks_ties_in_any_order(tmp_path):
    maps = _setup(tmp_path, _mapping("version: {column: Updated, type: datetime, tie_break: {column: Seq}}\n"))
    a = write(tmp_path / "in" / "desk_a.csv", HEADER + "A1,closed,jd,2024-06-03 08:00:00,2\n")
    b = write(tmp_path / "in" / "desk_b.csv", HEADER + "A1,in_progress,jd,2024-06-03 08:00:00,1\n")
    both = write(tmp_path / "in" / "desk_ab.csv", HEADER + "A1,closed,jd,2024-06-03 08:00:00,2\n"
                 "A1,in_progress,jd,2024-06-03 08:00:00,1\n")
    for name, files in (("ab", (a, b)), ("ba", (b, a)), ("one", (both,))):
        db = tmp_path / f"{name}.duckdb"
        for f in files:
            _load(db, maps, f)
        assert [t[:2] for t in _tickets(db)] == [("A1", "closed")], name
        assert _rules(db) == []


def test_last_row_in_the_file_wins_when_the_mapping_says_so(tmp_path, db_path):
    maps = _setup(tmp_path, _mapping("tie_break: last_row\n"))
    f = write(tmp_path / "in" / "desk_1.csv", HEADER +
              "A1,closed,jd,2024-06-03 08:00:00,\n"
              "A1,in_progress,jd,2024-06-03 08:00:00,\n")
    res = _load(db_path, maps, f)[-1]
    assert (res.inserted, res.updated, res.quarantined) == (1, 1, 0)
    assert [t[:2] for t in _tickets(db_path)] == [("A1", "in_progress")]


def test_without_a_version_repeated_keys_do_not_silently_replace_each_other(tmp_path, db_path):
    maps = _setup(tmp_path, _mapping(""))
    f = write(tmp_path / "in" / "desk_1.csv", HEADER +
              "A1,open,jd,2024-06-03 08:00:00,\n"
              "A1,closed,jd,2024-06-03 08:00:00,\n"
              "B1,open,jd,2024-06-03 08:00:00,\n"
              "B1,open,jd,2024-06-03 08:00:00,\n")   # the same row twice folds into one
    res = _load(db_path, maps, f)[-1]
    assert (res.inserted, res.updated, res.quarantined) == (1, 1, 2)
    assert [t[:2] for t in _tickets(db_path)] == [("B1", "open")]
    assert {r[2] for r in _rules(db_path)} == {"duplicate_key"}
    # with last_row, the last row wins
    maps = _setup(tmp_path / "lr", _mapping("tie_break: last_row\n"))
    db = tmp_path / "lr.duckdb"
    _load(db, maps, f)
    assert [t[:2] for t in _tickets(db)] == [("A1", "closed"), ("B1", "open")]


# -- the property: any split of an export, loaded in any order, gives the same database ----------

STATUSES = ["open", "dispatched", "in_progress", "resolved", "closed"]


def _export(rng: random.Random, n_keys: int) -> list[str]:
    """Rows of a status-change export: each ticket in 1-4 versions (some versions twice, once with
    the same values, once tied and broken by Seq), rows shuffled."""
    rows = []
    for k in range(n_keys):
        for v in range(rng.randint(1, 4)):
            stamp = f"2024-06-{1 + v:02d} {8 + k % 10:02d}:00:00"
            row = f"K{k},{rng.choice(STATUSES)},{rng.choice(['jd', 'tmall'])},{stamp},1"
            rows.append(row)
            if rng.random() < 0.3:
                rows.append(row)  # an exact repeat (a re-export overlapping the previous one)
            if rng.random() < 0.3:  # the same version again, other values, a higher Seq: it wins
                rows.append(f"K{k},{rng.choice(STATUSES)},{rng.choice(['jd', 'tmall'])},{stamp},2")
    rng.shuffle(rows)
    return rows


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n_files=st.integers(2, 4))
def test_any_split_in_any_order_gives_the_same_database(seed, n_files):
    _split_and_compare(seed, n_files)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_files=st.integers(2, 6))
def test_any_split_in_any_order_gives_the_same_database_many(seed, n_files):
    _split_and_compare(seed, n_files)


def _split_and_compare(seed: int, n_files: int) -> None:
    rng = random.Random(seed)
    rows = _export(rng, rng.randint(3, 12))
    tmp = Path(tempfile.mkdtemp(prefix="m2-ties-"))
    try:
        maps = _setup(tmp, _mapping("version: {column: Updated, type: datetime, tie_break: {column: Seq}}\n"))
        whole = write(tmp / "whole" / "desk_all.csv", HEADER + "\n".join(rows) + "\n")
        reference = tmp / "ref.duckdb"
        _load(reference, maps, whole)
        cuts = sorted(rng.sample(range(1, len(rows)), min(n_files - 1, len(rows) - 1)))
        parts = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
        files = [write(tmp / "parts" / f"desk_{i}.csv", HEADER + "\n".join(p) + "\n") for i, p in enumerate(parts)]
        rng.shuffle(files)
        split = tmp / "split.duckdb"
        for f in files:  # one load per file, in a random order
            _load(split, maps, f)
        assert _tickets(split) == _tickets(reference)
        assert _rules(reference) == [] and _rules(split) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
