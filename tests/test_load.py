"""The loader on small hand-built exports: rules, counts, idempotency, versions, encodings, Excel, events."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from aftersales.errors import UserError
from pipelines.load import load_paths
from tests.conftest import TICKET_HEADER, file_digest, table_rows, ticket_row, write


def _load(db: Path, *paths: Path, **kw):
    # these fixtures break most of their rows on purpose; the refusal of such files is tested
    # in tests/test_loud_failures.py
    kw.setdefault("max_quarantined_share", 1.0)
    return load_paths(db, list(paths), show_progress=False, **kw)


def _identity(res) -> None:
    assert res.rows_read == res.inserted + res.updated + res.unchanged + res.quarantined


@pytest.mark.parametrize("reader", ["duckdb-scan", "polars", "polars-streamed"])
def test_each_bad_row_is_quarantined_with_its_rule(db_path, masters, tmp_path, monkeypatch, reader):
    # UTF-8 CSVs are scanned by DuckDB; the Polars paths (the fallback, and large files streamed
    # through a temporary Parquet file) must give the same results.
    if reader != "duckdb-scan":
        monkeypatch.setattr("pipelines.read.DIRECT_CSV", False)
    if reader == "polars-streamed":
        monkeypatch.setattr("pipelines.read.STREAM_CSV_BYTES", 0)
    rows = [
        ticket_row("A1", status="resolved", resolved="2024-01-06 10:00:00", resolution="fixed"),  # good
        ticket_row("A2", created="2024/1/5 9:03"),  # good, another date format
        ticket_row("A3", channel="myspace"),  # known_value
        ticket_row(""),  # key_present
        ticket_row("A5", created="2024-13-45 25:00", updated="2024-01-05 09:03:00"),  # type
        ticket_row("A6", status="resolved", resolved="2024-01-04 08:00:00", resolution="fixed"),  # order_of_events
        ticket_row("A7", outlet="O99"),  # known_reference (outlet)
        ticket_row("A8", tech="T99"),  # known_reference (technician)
        ticket_row("A9", created="", updated="2024-01-05 09:03:00"),  # required
    ]
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n")
    results = _load(db_path, *masters, tickets)
    res = results[-1]
    _identity(res)
    # 9 rows = 2 inserted + 7 quarantined
    assert (res.rows_read, res.inserted, res.quarantined) == (9, 2, 7)
    got = table_rows(db_path, "SELECT row_number, rule, column_name FROM quarantine ORDER BY row_number")
    assert got == [
        (3, "known_value", "channel"), (4, "key_present", "ticket_id"), (5, "type", "created_at"),
        (6, "order_of_events", "resolved_at"), (7, "known_reference", "outlet_id"),
        (8, "known_reference", "technician_id"), (9, "required", "created_at"),
    ]
    msg, raw = table_rows(db_path, "SELECT message, raw FROM quarantine WHERE rule = 'known_value'")[0]
    assert "myspace" in msg and "tmall" in msg  # says what was found and what is valid
    assert '"channel":"myspace"' in raw.replace(" ", "")
    assert table_rows(db_path, "SELECT ticket_id FROM tickets ORDER BY 1") == [("A1",), ("A2",)]


def test_scale_and_type_rules_on_surveys(db_path, masters, tmp_path):
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A1") + "\n")
    surveys = write(tmp_path / "in" / "surveys.csv",
                    "survey_id,ticket_id,responded_at,satisfaction,nps,comment,survey_channel\n"
                    "S1,A1,2024-01-07 10:00,5,10,很好,sms\n"
                    "S2,A1,2024-01-07 10:00,7,9,,sms\n"      # in_range: 7 on 1..5
                    "S3,A1,2024-01-07 10:00,4,11,,sms\n"     # in_range: nps 11
                    "S4,A1,2024-01-07 10:00,4.5,8,,sms\n"    # type: not a whole number
                    "S5,ZZ,2024-01-07 10:00,4,8,,sms\n")     # known_reference: unknown ticket
    res = _load(db_path, *masters, tickets, surveys)[-1]
    _identity(res)
    assert (res.inserted, res.quarantined) == (1, 4)
    assert table_rows(db_path, "SELECT row_number, rule, column_name FROM quarantine ORDER BY 1") == [
        (2, "in_range", "satisfaction"), (3, "in_range", "nps"), (4, "type", "satisfaction"),
        (5, "known_reference", "ticket_id")]


def test_loading_the_same_file_twice_changes_nothing(db_path, masters, tmp_path):
    tickets = write(tmp_path / "in" / "tickets.csv",
                    TICKET_HEADER + "\n" + ticket_row("A1") + "\n" + ticket_row("", channel="x") + "\n")
    _load(db_path, *masters, tickets)
    before = table_rows(db_path, "SELECT * FROM tickets ORDER BY ticket_id")
    q_before = table_rows(db_path, "SELECT count(*) FROM quarantine")
    res = _load(db_path, tickets)[0]
    _identity(res)
    assert res.status == "duplicate" and (res.inserted, res.updated, res.unchanged, res.quarantined) == (0, 0, 1, 1)
    assert table_rows(db_path, "SELECT * FROM tickets ORDER BY ticket_id") == before
    assert table_rows(db_path, "SELECT count(*) FROM quarantine") == q_before
    # The same content under another name is recognised by its rows, not its hash: all unchanged.
    copy = write(tmp_path / "in2" / "tickets.csv", tickets.read_text() + ticket_row("A1") + "\n")
    res = _load(db_path, copy)[0]
    _identity(res)
    assert res.status == "loaded" and (res.inserted, res.updated, res.unchanged) == (0, 0, 2)


def test_a_duplicate_is_found_by_its_digest_whatever_the_ledger_knows_of_sizes(db_path, masters, tmp_path):
    """Only a file the size of a loaded one is checked for a duplicate before loading; a ledger
    from before sizes were kept is checked always."""
    first = write(tmp_path / "a" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A1") + "\n")
    _load(db_path, *masters, first)
    assert table_rows(db_path, "SELECT file_bytes FROM loads WHERE table_name = 'tickets'") == [(first.stat().st_size,)]
    # the same size, other content: loaded, not taken for a duplicate
    same_size = write(tmp_path / "b" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A2") + "\n")
    assert same_size.stat().st_size == first.stat().st_size
    res = _load(db_path, same_size)[0]
    assert (res.status, res.inserted) == ("loaded", 1)
    # an older ledger (no sizes): the same file is still recognised
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE loads SET file_bytes = NULL")
    res = _load(db_path, first)[0]
    assert (res.status, res.inserted, res.unchanged) == ("duplicate", 0, 1)
    with duckdb.connect(str(db_path), read_only=True) as con:
        digests = con.execute("SELECT status, sha256 FROM loads WHERE file_path = $p ORDER BY load_id",
                              {"p": str(first.resolve())}).fetchall()
    assert [d[0] for d in digests] == ["loaded", "duplicate"] and digests[0][1] == digests[1][1]


def test_latest_version_wins_and_never_duplicates(db_path, masters, tmp_path):
    first = write(tmp_path / "a" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        ticket_row("A1", updated="2024-01-05 09:03:00"),
        ticket_row("A2", updated="2024-01-05 09:03:00")]) + "\n")
    later = write(tmp_path / "b" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join([
        ticket_row("A1", status="resolved", resolved="2024-01-06 10:00:00", resolution="fixed",
                   updated="2024-01-06 10:00:00"),
        ticket_row("A2", updated="2024-01-05 09:03:00"),
        ticket_row("A3", updated="2024-01-06 11:00:00")]) + "\n")
    _load(db_path, *masters, first)
    res = _load(db_path, later)[0]
    _identity(res)
    assert (res.inserted, res.updated, res.unchanged) == (1, 1, 1)
    assert table_rows(db_path, "SELECT ticket_id, status FROM tickets ORDER BY 1") == [
        ("A1", "resolved"), ("A2", "open"), ("A3", "open")]
    # An older export loaded afterwards does not roll the ticket back.
    older = write(tmp_path / "c" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row(
        "A1", status="in_progress", updated="2024-01-05 12:00:00") + "\n")
    res = _load(db_path, older)[0]
    assert (res.updated, res.unchanged) == (0, 1)
    assert table_rows(db_path, "SELECT status FROM tickets WHERE ticket_id = 'A1'") == [("resolved",)]
    assert table_rows(db_path, "SELECT count(*), count(DISTINCT ticket_id) FROM tickets") == [(3, 3)]


def test_repeated_rows_in_one_file_fold_to_the_latest(db_path, masters, tmp_path):
    rows = [ticket_row("A1", updated="2024-01-05 10:00:00"),
            ticket_row("A1", status="resolved", resolved="2024-01-06 10:00:00", resolution="fixed",
                       updated="2024-01-06 10:00:00"),
            ticket_row("A1", status="in_progress", updated="2024-01-05 12:00:00")]
    res = _load(db_path, *masters, write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows)))[-1]
    _identity(res)
    assert (res.inserted, res.updated) == (1, 2)  # first row of a new key inserted, the rest update it
    assert table_rows(db_path, "SELECT status FROM tickets") == [("resolved",)]


def test_same_version_with_different_values_is_a_duplicate_key(db_path, masters, tmp_path):
    rows = [ticket_row("A1", updated="2024-01-05 10:00:00"),
            ticket_row("A1", channel="jd", updated="2024-01-05 10:00:00")]
    res = _load(db_path, *masters, write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows)))[-1]
    _identity(res)
    assert res.quarantined == 2
    assert {r[0] for r in table_rows(db_path, "SELECT rule FROM quarantine")} == {"duplicate_key"}


MAPPING_GBK = """
source: test-gbk
table: tickets
match: ["售后工单*.csv"]
encoding: auto
datetime_formats: ["%Y/%m/%d %H:%M"]
version: {column: 更新时间, type: datetime}
columns:
  ticket_id: 工单号
  channel: {column: 渠道, values: {天猫: tmall, 京东: jd}}
  service_type: {column: 服务类型, values: {维修: repair, 安装: install}}
  status: {column: 状态, values: {待处理: open, 已完成: resolved}}
  outlet_id: 网点
  created_at: 创建时间
  resolved_at: 完成时间
  is_complaint: {column: 是否投诉, values: {是: true, 否: false}}
  customer_phone: {column: 电话, optional: true}
  updated_at: 更新时间
  priority: {constant: normal}
"""

GBK_ROWS = """工单号,渠道,服务类型,状态,网点,创建时间,完成时间,是否投诉,更新时间
G1,天猫,维修,已完成,O1,2024/1/5 9:03,2024-01-06T10:00:00+08:00,否,2024/1/6 10:00
G2,京东,安装,待处理,O2,2024-01-05T01:03:00Z,-,是,2024/1/5 9:03
G3,拼夕夕,安装,待处理,O2,45296.5,无,否,2024/1/5 9:03
"""


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_chinese_headers_in_any_encoding(db_path, masters, tmp_path, encoding):
    maps = tmp_path / "maps"
    write(maps / "gbk.yaml", MAPPING_GBK)
    export = write(tmp_path / "in" / "售后工单_202401.csv", GBK_ROWS, encoding=encoding)
    res = _load(db_path, *masters, export, mapping_dirs=[maps])[-1]
    _identity(res)
    assert (res.source, res.inserted, res.quarantined) == ("test-gbk", 2, 1)
    got = table_rows(db_path, "SELECT ticket_id, channel, service_type, status, created_at::VARCHAR, "
                              "resolved_at::VARCHAR, is_complaint, priority FROM tickets ORDER BY 1")
    assert got == [
        ("G1", "tmall", "repair", "resolved", "2024-01-05 09:03:00", "2024-01-06 10:00:00", False, "normal"),
        # 01:03 UTC is 09:03 in Shanghai
        ("G2", "jd", "install", "open", "2024-01-05 09:03:00", None, True, "normal"),
    ]
    assert table_rows(db_path, "SELECT row_number, rule, column_name, source_column FROM quarantine") == [
        (3, "known_value", "channel", "渠道")]


def test_excel_with_chinese_headers_and_sheets(db_path, masters, tmp_path):
    maps = tmp_path / "maps"
    write(maps / "x.yaml", MAPPING_GBK.replace("test-gbk", "test-xlsx").replace('["售后工单*.csv"]', '["*.xlsx"]'))
    frame = pl.read_csv(GBK_ROWS.encode(), infer_schema=False)
    book = tmp_path / "in" / "工单导出.xlsx"
    book.parent.mkdir(parents=True, exist_ok=True)
    import xlsxwriter

    with xlsxwriter.Workbook(book) as wb:
        frame.head(2).write_excel(wb, worksheet="一月")
        frame.tail(1).write_excel(wb, worksheet="二月")
    res = _load(db_path, *masters, book, mapping_dirs=[maps])[-1]
    _identity(res)
    assert (res.inserted, res.quarantined) == (2, 1)
    # Row numbers are the sheet rows a person sees in Excel (header on row 1).
    assert table_rows(db_path, "SELECT sheet, row_number, rule FROM quarantine") == [("二月", 2, "known_value")]
    # The Excel serial 45296.5 was read as a date-time before the row failed on its channel.
    raw = table_rows(db_path, "SELECT raw->>'创建时间' FROM quarantine")[0][0]
    assert raw == "45296.5"


EVENTS_MAPPING = """
source: test-events
table: tickets
mode: events
match: ["events*.csv"]
version: {column: 事件时间, type: datetime}
columns:
  ticket_id: 工单号
  channel: {column: 渠道, values: {天猫: tmall}}
  service_type: {column: 类型, values: {维修: repair}}
  status: {column: 状态, values: {新建: open, 已派工: dispatched, 已完成: resolved}}
  outlet_id: 网点
  created_at: 创建时间
  resolved_at: 完成时间
  updated_at: 事件时间
"""


def test_event_log_folds_updates(db_path, masters, tmp_path):
    maps = tmp_path / "maps"
    write(maps / "events.yaml", EVENTS_MAPPING)
    log = write(tmp_path / "in" / "events_1.csv", """工单号,事件时间,渠道,类型,状态,网点,创建时间,完成时间
E1,2024-01-05 09:00,天猫,维修,新建,,2024-01-05 09:00,
E1,2024-01-05 11:00,,,已派工,O1,,
E2,2024-01-05 10:00,天猫,维修,新建,,2024-01-05 10:00,
E1,2024-01-06 15:00,,,已完成,,,2024-01-06 15:00
E3,2024-01-05 10:00,,,已派工,O1,,
""")
    res = _load(db_path, *masters, log, mapping_dirs=[maps])[-1]
    _identity(res)
    # E1: 3 events → 1 inserted + 2 updated; E2: 1 inserted; E3 never created → required fails after folding.
    assert (res.rows_read, res.inserted, res.updated, res.quarantined) == (5, 2, 2, 1)
    assert table_rows(db_path, "SELECT ticket_id, status, outlet_id, channel, resolved_at::VARCHAR FROM tickets "
                               "ORDER BY 1") == [("E1", "resolved", "O1", "tmall", "2024-01-06 15:00:00"),
                                                 ("E2", "open", None, "tmall", None)]
    assert table_rows(db_path, "SELECT row_number, rule FROM quarantine ORDER BY 1")[0][1] == "required"
    # A later log updates the stored record field by field.
    log2 = write(tmp_path / "in" / "events_2.csv", "工单号,事件时间,渠道,类型,状态,网点,创建时间,完成时间\n"
                 "E2,2024-01-07 09:00,,,已派工,O2,,\n")
    res = _load(db_path, log2, mapping_dirs=[maps])[0]
    assert (res.updated, res.inserted) == (1, 0)
    assert table_rows(db_path, "SELECT status, outlet_id, channel FROM tickets WHERE ticket_id='E2'") == [
        ("dispatched", "O2", "tmall")]


def test_without_a_version_the_later_file_wins(db_path, tmp_path):
    a = write(tmp_path / "a" / "outlets.csv", "outlet_id,outlet_name,region,city,city_tier,outlet_type,opened_on\n"
              "O1,旧名,east,上海,1,own,2020-01-01\n")
    b = write(tmp_path / "b" / "outlets.csv", "outlet_id,outlet_name,region,city,city_tier,outlet_type,opened_on\n"
              "O1,新名,east,上海,1,own,2020-01-01\n")
    _load(db_path, a)
    assert _load(db_path, b)[0].updated == 1
    assert table_rows(db_path, "SELECT outlet_name FROM outlets") == [("新名",)]


@pytest.mark.parametrize("case", ["missing_column", "not_a_workbook", "unknown_source", "no_mapping", "wrong_encoding"])
def test_file_level_problems_write_nothing(db_path, masters, tmp_path, case):
    _load(db_path, *masters)
    before = file_digest(db_path)
    maps = tmp_path / "maps"
    write(maps / "gbk.yaml", MAPPING_GBK.replace("encoding: auto", "encoding: utf-8"))
    kwargs = {"mapping_dirs": [maps]}
    if case == "missing_column":
        bad = write(tmp_path / "in" / "tickets.csv", "ticket_id,channel\nA1,tmall\n")
        expect = "created_at"
    elif case == "not_a_workbook":
        bad = write(tmp_path / "in" / "outlets.xlsx", "this is,not excel\n")
        expect = "not a readable Excel workbook"
    elif case == "unknown_source":
        bad = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n")
        kwargs["source"] = "nope"
        expect = "unknown source 'nope'"
    elif case == "no_mapping":
        bad = write(tmp_path / "in" / "random.csv", "a,b\n1,2\n")
        expect = "no mapping matches"
    else:
        bad = write(tmp_path / "in" / "售后工单_1.csv", GBK_ROWS, encoding="gbk")
        expect = "cannot decode as utf-8"
    with pytest.raises(UserError) as err:
        _load(db_path, bad, **kwargs)
    assert str(bad.name) in str(err.value) and expect in str(err.value)
    assert file_digest(db_path) == before


def test_injected_failure_mid_load_leaves_the_database_as_it_was(db_path, masters, tmp_path, monkeypatch):
    _load(db_path, *masters)
    before = file_digest(db_path)
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A1") + "\n")
    import pipelines.load as loader

    def boom(*args, **kwargs):  # after the rows were merged into the table, before the ledger entry
        raise RuntimeError("injected failure")

    monkeypatch.setattr(loader, "_ledger", boom)
    with pytest.raises(UserError, match="injected failure"):
        _load(db_path, tickets)
    assert file_digest(db_path) == before
    assert table_rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    monkeypatch.undo()
    assert _load(db_path, tickets)[0].inserted == 1


def test_files_are_applied_in_dependency_order(db_path, masters, tmp_path):
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A1") + "\n")
    results = _load(db_path, tickets, *reversed(masters))  # given in the wrong order
    assert [r.table for r in results] == ["outlets", "technicians", "tickets"]
    assert results[-1].quarantined == 0


def _quarantine_and_tickets(db: Path) -> tuple[list[tuple], list[tuple]]:
    return (table_rows(db, "SELECT row_number, column_name, rule, message, raw FROM quarantine ORDER BY ALL"),
            table_rows(db, "SELECT * EXCLUDE (_load_id) FROM tickets ORDER BY ticket_id"))


def _load_both_ways(tmp_path: Path, masters: list[Path], csv: Path, monkeypatch) -> dict[str, tuple]:
    """The same file loaded through DuckDB's scan and through Polars, into two databases."""
    out = {}
    for reader in ("duckdb-scan", "polars"):
        monkeypatch.setattr("pipelines.read.DIRECT_CSV", reader == "duckdb-scan")
        db = tmp_path / reader / "aftersales.duckdb"
        res = _load(db, *masters, csv)[-1]
        _identity(res)
        out[reader] = (res.rows_read, res.quarantined, *_quarantine_and_tickets(db))
    return out


@pytest.mark.parametrize("buffer", [None, 128 * 1024])
def test_csv_scan_numbers_rows_as_the_file_does(masters, tmp_path, monkeypatch, buffer):
    """Broken typed cells far into a file (many vectors of 2,048 rows, a quoted field spanning two
    lines) are quarantined with their own row number and column, exactly as the Polars reader says.
    With a 128 KB read buffer the ~7 MB file is scanned in parallel, in ~60 pieces: the rows must
    keep their file order all the same."""
    monkeypatch.setattr("pipelines.read.CSV_BUFFER_BYTES", buffer)
    broken = {7: dict(created="2024-13-45 25:00:00", updated="2024-01-05 09:03:00"),  # type
              20_001: dict(channel="myspace"),  # known_value
              33_333: dict(created="5 Jan 2024", updated="2024-01-05 09:03:00"),  # type
              49_999: dict(outlet="O99")}  # known_reference
    rows = []
    for n in range(1, 50_001):
        row = ticket_row(f"B{n:05d}", **broken.get(n, {}))
        if n == 10:  # a multi-line customer name: one record, two lines
            row = row.replace("张三", '"张\n三"')
        rows.append(row)
    csv = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n")
    both = _load_both_ways(tmp_path, masters, csv, monkeypatch)
    assert both["duckdb-scan"] == both["polars"]
    rows_read, quarantined, quarantine, tickets = both["duckdb-scan"]
    assert (rows_read, quarantined, len(tickets)) == (50_000, 4, 49_996)
    assert [(q[0], q[1], q[2]) for q in quarantine] == [
        (7, "created_at", "type"), (20_001, "channel", "known_value"), (33_333, "created_at", "type"),
        (49_999, "outlet_id", "known_reference")]
    assert '"ticket_id":"B33333"' in quarantine[2][4].replace(" ", "")
    assert ("B00010", "张\n三") in {(t[0], t[9]) for t in tickets}


def test_csv_scan_quarantines_rows_only_a_later_rule_rejects_with_their_own_values(masters, tmp_path, monkeypatch):
    """A positional staging keeps the raw values of the rows failing a rule on their own cells;
    rows rejected later (an unknown reference, a key repeated with the same version and other
    values) are looked up in the file again: their row numbers and raw values must be theirs."""
    monkeypatch.setattr("pipelines.read.CSV_BUFFER_BYTES", 128 * 1024)
    rows = [ticket_row(f"E{n:05d}") for n in range(1, 30_001)]
    rows[99] = ticket_row("E00100", channel="jd")  # row 100: same key and version as row 12,345
    rows[12_344] = ticket_row("E00100", channel="suning")
    rows[20_000] = ticket_row("E20001", tech="T77")  # an unknown technician
    rows[25_000] = ticket_row("E25001", channel="myspace")  # a row rule: raw values kept
    csv = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n")
    both = _load_both_ways(tmp_path, masters, csv, monkeypatch)
    assert both["duckdb-scan"] == both["polars"]
    rows_read, quarantined, quarantine, _ = both["duckdb-scan"]
    assert (rows_read, quarantined) == (30_000, 4)
    assert [(q[0], q[2]) for q in quarantine] == [
        (100, "duplicate_key"), (12_345, "duplicate_key"), (20_001, "known_reference"), (25_001, "known_value")]
    assert '"channel":"suning"' in quarantine[1][4].replace(" ", "")


@pytest.mark.parametrize("case", ["blank_line", "short_row", "bom"])
def test_csv_scan_hands_over_to_polars_where_it_would_differ(masters, tmp_path, monkeypatch, case):
    """DuckDB skips blank lines and refuses short rows; Polars counts a blank line as an (empty,
    quarantined) row and pads a short one. Such files are read through Polars: same result."""
    rows = [ticket_row(f"C{n}") for n in range(1, 6)]
    header = TICKET_HEADER
    if case == "blank_line":
        rows.insert(2, "")
    elif case == "short_row":
        rows[3] = ",".join(rows[3].split(",")[:13])  # stops after created_at: updated_at is missing
    else:
        header = "\ufeff" + header
    csv = write(tmp_path / "in" / "tickets.csv", header + "\n" + "\n".join(rows) + "\n")
    both = _load_both_ways(tmp_path, masters, csv, monkeypatch)
    assert both["duckdb-scan"] == both["polars"]
    rows_read, quarantined, quarantine, tickets = both["duckdb-scan"]
    expected = {"blank_line": (6, 1, 5), "short_row": (5, 0, 5), "bom": (5, 0, 5)}[case]
    assert (rows_read, quarantined, len(tickets)) == expected
    if case == "blank_line":
        assert {q[0] for q in quarantine} == {3} and "key_present" in {q[2] for q in quarantine}


def test_utf8_head_with_gbk_later_is_read_as_gb18030(db_path, masters, tmp_path):
    """The encoding is guessed from the first 256 KB; GBK bytes after an ASCII head make DuckDB's
    scan fail part-way, and the file is then read as GB18030, as before."""
    rows = [ticket_row(f"D{n:05d}").replace("张三", "Zhang") for n in range(1, 2_001)]
    rows.append(ticket_row("D99999"))  # 张三 in GBK, beyond the sample
    csv = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + "\n".join(rows) + "\n", encoding="gbk")
    assert csv.stat().st_size > 256 * 1024
    res = _load(db_path, *masters, csv)[-1]
    assert (res.rows_read, res.inserted, res.quarantined) == (2_001, 2_001, 0)
    assert table_rows(db_path, "SELECT customer_name FROM tickets WHERE ticket_id = 'D99999'") == [("张三",)]
