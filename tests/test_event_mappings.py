"""Event-log mappings (`mode: log`, pipelines/fold.py): one record from many rows of a key, the same
whatever the split of the log into files and the order they are loaded in."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales import model
from aftersales.errors import UserError
from pipelines import fold
from pipelines.load import load_paths
from pipelines.mapping import Mapping, parse_mapping
from tests.conftest import table_rows, write

HEADER = "工单号,事件时间,状态,备注\n"
# T1: opened, worked, resolved, reopened, resolved again; T2: still open; T3: cancelled.
ROWS = [
    "T1,2024/01/05 09:00:00,新建,",
    "T1,2024/01/05 10:00:00,处理中,接单",
    "T1,2024/01/06 12:00:00,已完成,",
    "T1,2024/01/07 08:00:00,处理中,客户来电",
    "T1,2024/01/08 09:30:00,已完成,",
    "T2,2024/01/06 09:00:00,新建,",
    "T2,2024/01/06 09:10:00,处理中,转派",
    "T2,2024/01/06 11:00:00,处理中,转派",
    "T3,2024/01/07 09:00:00,新建,",
    "T3,2024/01/07 09:05:00,已取消,",
]
MAPPING = {
    "source": "test-status-log", "table": "tickets", "match": ["状态流水*.csv"], "mode": "log",
    "version": {"column": "事件时间", "type": "datetime"},
    "columns": {
        "ticket_id": "工单号",
        "channel": {"constant": "phone"},
        "service_type": {"constant": "repair"},
        "status": {"column": "状态", "values": {"新建": "open", "处理中": "in_progress", "已完成": "resolved",
                                                  "已取消": "cancelled"}},
        "created_at": {"column": "事件时间", "take": "first"},
        "first_response_at": {"column": "事件时间", "take": "first", "where": {"status": ["in_progress"]}},
        "resolved_at": {"column": "事件时间", "take": "first", "where": {"status": ["resolved"]}},
        "closed_at": {"column": "事件时间", "take": "max", "where": {"status": ["resolved", "cancelled"]}},
        "reopened_at": {"column": "事件时间", "take": "first",
                        "where": {"column": "备注", "in": ["客户来电"]}},
        "updated_at": {"column": "事件时间", "take": "last"},
    },
}
if "max_quarantined_share" in Mapping.__dataclass_fields__:
    # A loader that refuses files above a quarantined share: pieces of a log loaded before their
    # earlier rows hold records not derivable yet (quarantined until the rest arrives).
    MAPPING["max_quarantined_share"] = 1.0
COLS = "ticket_id, status, created_at, first_response_at, resolved_at, closed_at, reopened_at, updated_at"


def _maps(tmp: Path, doc: dict = MAPPING) -> Path:
    d = tmp / "maps"
    d.mkdir(exist_ok=True)
    (d / "log.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return d


def _load(db: Path, files: list[Path], maps: Path) -> list:
    return load_paths(db, files, mapping_dirs=[maps], show_progress=False)


def test_fields_from_different_rows(tmp_path):
    maps = _maps(tmp_path)
    f = write(tmp_path / "状态流水.csv", HEADER + "\n".join(ROWS) + "\n")
    (r,) = _load(tmp_path / "a.duckdb", [f], maps)
    assert (r.rows_read, r.inserted, r.updated, r.quarantined) == (10, 3, 7, 0)
    got = {row[0]: row[1:] for row in table_rows(tmp_path / "a.duckdb", f"SELECT {COLS} FROM tickets")}
    ts = "2024-01-0{} {}".format
    import datetime as dt

    def t(day: int, hm: str) -> dt.datetime:
        return dt.datetime.fromisoformat(ts(day, hm))

    # T1: created = first row; first response = first in_progress; resolved = FIRST resolved (6th),
    # closed = max of resolved/cancelled rows (8th), reopened = the row whose note says so,
    # status = latest row, updated = last row.
    assert got["T1"] == ("resolved", t(5, "09:00"), t(5, "10:00"), t(6, "12:00"), t(8, "09:30"), t(7, "08:00"),
                         t(8, "09:30"))
    assert got["T2"] == ("in_progress", t(6, "09:00"), t(6, "09:10"), None, None, None, t(6, "11:00"))
    assert got["T3"] == ("cancelled", t(7, "09:00"), None, None, t(7, "09:05"), None, t(7, "09:05"))


_WHOLE: list = []


def _whole_log_tickets(tmp: Path, maps: Path) -> list:
    if not _WHOLE:
        whole = write(tmp / "状态流水_all.csv", HEADER + "\n".join(ROWS) + "\n")
        _load(tmp / "whole.duckdb", [whole], maps)
        _WHOLE.append(table_rows(tmp / "whole.duckdb", f"SELECT {COLS} FROM tickets ORDER BY 1"))
    return _WHOLE[0]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_any_split_in_any_order_equals_the_whole_log(tmp_path_factory, seed):
    """The rows shuffled into 1-4 files (a ticket's rows spread over several), the files loaded in a
    random order, one file repeated inside another (an overlapping export): the same tickets."""
    tmp = tmp_path_factory.mktemp("split")
    maps = _maps(tmp)
    want = _whole_log_tickets(tmp, maps)

    rng = random.Random(seed)
    n_files = rng.randint(1, 4)
    pieces: list[list[str]] = [[] for _ in range(n_files)]
    for row in ROWS:
        pieces[rng.randrange(n_files)].append(row)
    pieces[rng.randrange(n_files)].append(rng.choice(ROWS))  # a row exported twice
    files = [write(tmp / f"状态流水_{i}.csv", HEADER + "\n".join(p) + "\n") for i, p in enumerate(pieces) if p]
    rng.shuffle(files)
    db = tmp / "split.duckdb"
    results = []
    for f in files:
        results += _load(db, [f], maps)
    assert table_rows(db, f"SELECT {COLS} FROM tickets ORDER BY 1") == want
    assert all(r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined for r in results)
    # Events are a set: the repeated row is stored once.
    assert table_rows(db, "SELECT count(*) FROM log_tickets")[0][0] == len(set(ROWS))


def test_loading_the_same_events_again_changes_nothing(tmp_path):
    maps = _maps(tmp_path)
    a = write(tmp_path / "状态流水_a.csv", HEADER + "\n".join(ROWS[:6]) + "\n")
    b = write(tmp_path / "状态流水_b.csv", HEADER + "\n".join(ROWS[3:]) + "\n")  # overlaps a by 3 rows
    db = tmp_path / "a.duckdb"
    _load(db, [a, b], maps)
    before = table_rows(db, f"SELECT {COLS} FROM tickets ORDER BY 1")
    again = write(tmp_path / "状态流水_c.csv", HEADER + "\n".join(ROWS[2:5]) + "\n")
    (r,) = _load(db, [again], maps)
    assert (r.rows_read, r.unchanged, r.updated, r.inserted) == (3, 3, 0, 0)
    assert table_rows(db, f"SELECT {COLS} FROM tickets ORDER BY 1") == before


def test_a_bad_row_is_quarantined_and_the_rest_of_its_ticket_folds(tmp_path):
    maps = _maps(tmp_path)
    rows = ROWS[:5] + ["T1,2024/13/45 25:00:00,处理中,"]  # no such date
    f = write(tmp_path / "状态流水.csv", HEADER + "\n".join(rows) + "\n")
    (r,) = _load(tmp_path / "a.duckdb", [f], maps)
    assert (r.rows_read, r.inserted, r.updated, r.quarantined) == (6, 1, 4, 1)
    assert set(table_rows(tmp_path / "a.duckdb", "SELECT rule, row_number FROM quarantine")) == {("type", 6)}
    assert table_rows(tmp_path / "a.duckdb", "SELECT status FROM tickets") == [("resolved",)]


def test_a_record_failing_after_folding_quarantines_its_rows_and_keeps_its_events(tmp_path):
    # resolved_at taken as the LAST resolved row, created_at as the max of the 新建 rows: a ticket
    # reopened by a second 新建 after its resolution breaks created <= resolved.
    doc = yaml.safe_load(yaml.safe_dump(MAPPING, allow_unicode=True))
    doc["columns"]["created_at"] = {"column": "事件时间", "take": "max", "where": {"status": ["open"]}}
    maps = _maps(tmp_path, doc)
    rows = ROWS[:3] + ["T1,2024/01/09 08:00:00,新建,"] + ROWS[5:7]
    f = write(tmp_path / "状态流水.csv", HEADER + "\n".join(rows) + "\n")
    db = tmp_path / "a.duckdb"
    (r,) = _load(db, [f], maps)
    assert (r.rows_read, r.quarantined, r.inserted, r.updated) == (6, 4, 1, 1)
    assert set(table_rows(db, "SELECT DISTINCT rule FROM quarantine")) == {("order_of_events",)}
    assert table_rows(db, "SELECT ticket_id FROM tickets") == [("T2",)]
    # Kept, so that a later file of the same log derives T1 from all of them.
    assert table_rows(db, "SELECT count(*) FROM log_tickets WHERE ticket_id = 'T1'") == [(4,)]


def test_a_record_incomplete_in_one_file_is_completed_by_the_next(tmp_path):
    """Reopened before its (only loaded) resolution: wrong until the earlier rows arrive, then right."""
    maps = _maps(tmp_path)
    db = tmp_path / "a.duckdb"
    late = write(tmp_path / "状态流水_2.csv", HEADER + "\n".join(ROWS[3:5]) + "\n")
    (r,) = _load(db, [late], maps)
    assert r.quarantined == 2 and table_rows(db, "SELECT count(*) FROM tickets") == [(0,)]
    early = write(tmp_path / "状态流水_1.csv", HEADER + "\n".join(ROWS[:3]) + "\n")
    (r,) = _load(db, [early], maps)
    assert (r.inserted, r.updated, r.quarantined) == (1, 2, 0)
    assert table_rows(db, "SELECT resolved_at, reopened_at FROM tickets")[0][1].day == 7


def test_counts_of_rows_land_in_an_integer_column(tmp_path):
    """A parts issue log, one row per unit taken from stock: quantity = the rows of (visit, part)."""
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "parts.yaml").write_text(yaml.safe_dump({
        "source": "parts-issue-log", "table": "parts_used", "match": ["领料*.csv"], "mode": "log",
        "version": {"column": "时间", "type": "datetime"},
        "columns": {"visit_id": "服务单", "part_no": "配件", "ticket_id": "工单",
                    "quantity": {"take": "count", "where": {"column": "动作", "not_in": ["退回"]}}}},
        allow_unicode=True), encoding="utf-8")
    f = write(tmp_path / "领料.csv", "服务单,配件,工单,时间,动作\n"
              "V1,P1,T1,2024-01-05 09:00:00,领用\nV1,P1,T1,2024-01-05 09:01:00,领用\n"
              "V1,P1,T1,2024-01-05 09:02:00,退回\nV1,P2,T1,2024-01-05 09:03:00,领用\n")
    _load(tmp_path / "a.duckdb", [f], maps)
    # V1/P1: 2 taken (the returned row is not counted); V1/P2: 1
    assert table_rows(tmp_path / "a.duckdb", "SELECT part_no, quantity FROM parts_used ORDER BY 1") == [
        ("P1", 2), ("P2", 1)]


@pytest.mark.parametrize(("tie_order", "status"), [
    (["open", "in_progress", "resolved"], "resolved"),
    (["resolved", "in_progress", "open"], "in_progress"),
])
def test_rows_at_the_same_time_follow_tie_order_not_file_order(tmp_path, tie_order, status):
    doc = yaml.safe_load(yaml.safe_dump(MAPPING, allow_unicode=True))
    doc["tie_order"] = {"status": tie_order}
    maps = _maps(tmp_path, doc)
    rows = ["T9,2024/01/05 09:00:00,新建,", "T9,2024/01/05 10:00:00,已完成,", "T9,2024/01/05 10:00:00,处理中,"]
    for i, order in enumerate((rows, rows[::-1])):
        f = write(tmp_path / f"状态流水_{i}.csv", HEADER + "\n".join(order) + "\n")
        db = tmp_path / f"{i}.duckdb"
        _load(db, [f], maps)
        assert table_rows(db, "SELECT status FROM tickets") == [(status,)]


def test_a_condition_on_a_missing_column_refuses_the_file(tmp_path):
    maps = _maps(tmp_path)
    f = write(tmp_path / "状态流水.csv", "工单号,事件时间,状态\n" + "\n".join(r.rsplit(",", 1)[0] for r in ROWS) + "\n")
    db = tmp_path / "a.duckdb"
    with pytest.raises(UserError, match=r"\['备注'\] named in a `where`") as err:
        _load(db, [f], maps)
    assert "状态流水.csv" in str(err.value)
    assert table_rows(db, "SELECT count(*) FROM loads") == [(0,)]


REOPEN_TABLE = model.Table("t", "test", "测试", ("ticket_id",), (
    model.Column("ticket_id", "VARCHAR", ""), model.Column("status", "VARCHAR", ""),
    model.Column("reopen_count", "INTEGER", ""), model.Column("resolve_count", "INTEGER", "")))


@pytest.mark.parametrize(("statuses", "reopens"), [
    (["open", "resolved", "in_progress", "resolved", "closed", "open", "closed"], 2),  # resolved→in_progress, closed→open
    (["open", "in_progress", "resolved", "closed"], 0),  # resolved → closed stays completed
    (["resolved"], 0),
    (["open", None, "resolved", None, "open"], 1),  # rows without a status are skipped
])
def test_transitions_count_reopenings(statuses, reopens):
    """The aggregation's output for a column the tickets table will get (reopen_count, issue 13):
    completed → not completed, counted over the rows in their order."""
    spec = {"take": "transitions", "of": "status", "from": ["resolved", "closed"]}
    agg = fold.parse_take(spec, "reopen_count", REOPEN_TABLE, "log", UserError)
    count = fold.parse_take({"take": "count", "where": {"status": ["resolved"]}}, "resolve_count", REOPEN_TABLE,
                            "log", UserError)

    class M:
        columns = (type("S", (), {"target": "status", "agg": fold.Aggregate()})(),
                   type("S", (), {"target": "reopen_count", "agg": agg})(),
                   type("S", (), {"target": "resolve_count", "agg": count})())

    con = duckdb.connect()
    con.execute("CREATE TABLE ev (v_ticket_id VARCHAR, v_status VARCHAR, v_reopen_count INTEGER, "
                "v_resolve_count INTEGER, _v BIGINT, _aux MAP(VARCHAR, VARCHAR), _ord BIGINT)")
    for i, s in enumerate(statuses):
        con.execute("INSERT INTO ev VALUES ('T', $s, NULL, NULL, $i, NULL, $i)", {"s": s, "i": i})
    bind = fold._Binder()
    sql = fold.aggregate_sql(M, REOPEN_TABLE, "ev", bind)
    got = con.execute(f"SELECT v_reopen_count, v_resolve_count, v_status FROM ({sql})", bind.params).fetchone()
    assert got == (reopens, statuses.count("resolved"), [s for s in statuses if s][-1])


@pytest.mark.parametrize(("change", "message"), [
    ({"mode": "snapshot"}, "need `mode: log`"),
    ({"version": None}, "mode log needs `version`"),
    ({"columns.created_at": {"column": "事件时间", "take": "median"}}, "take 'median' is not one of"),
    ({"columns.created_at": {"take": "count"}}, "not an integer"),
    ({"columns.created_at": {"take": "first"}}, "needs the source `column:`"),
    ({"columns.resolved_at": {"column": "事件时间", "take": "first", "where": {"stage": ["x"]}}},
     "'stage' is not a column of tickets"),
    ({"columns.resolved_at": {"column": "事件时间", "where": {"column": "状态"}}}, "in: [...]"),
    ({"tie_order": {"colour": ["a"]}}, "'colour' is not a column"),
])
def test_mapping_mistakes_are_named(change, message):
    doc = yaml.safe_load(yaml.safe_dump(MAPPING, allow_unicode=True))
    for key, value in change.items():
        if key.startswith("columns."):
            doc["columns"][key.split(".", 1)[1]] = value
        elif value is None:
            doc.pop(key)
        else:
            doc[key] = value
    with pytest.raises(UserError, match=None) as err:
        parse_mapping(doc, "m.yaml")
    assert message in str(err.value) and "m.yaml" in str(err.value)
