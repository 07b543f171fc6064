"""The derived tables rebuilt piece by piece (pipelines/derive_pieces.py) equal the whole rebuild,
row for row and in the same stored order; a writer holds DuckDB to the memory budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from aftersales import config
from aftersales.db import spill_dir, writer
from aftersales.errors import UserError
from pipelines import derive, derive_pieces
from pipelines.generate import generate
from pipelines.load import load_paths

TABLES = ["tickets", "visits", "parts_used", "surveys"]
MASTERS = ["outlets", "technicians", "products"]
# (the stored order of each derived table: the sort key, read back in storage order)
ORDER_KEYS = {"ticket_facts": "date_trunc('quarter', created_at), outlet_id, created_at",
              "survey_facts": "responded_at", "part_facts": "started_at"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """Six quarters of generated data, plus a ticket without an outlet (it sorts last)."""
    tmp = tmp_path_factory.mktemp("pieces")
    generate(tmp / "src", tickets=4000, seed=11, start="2024-01-01", end="2025-06-30", progress=False)
    db = tmp / "db.duckdb"
    load_paths(db, [tmp / "src" / f"{t}.parquet" for t in MASTERS + TABLES], show_progress=False)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO tickets BY NAME SELECT * REPLACE ('NOOUTLET1' AS ticket_id, NULL AS outlet_id) "
                "FROM tickets ORDER BY ticket_id LIMIT 1")
    # Ticket ids out of creation order (a piece's ticket_id range bounds its scans of the visits,
    # parts and surveys): the id sorting first made in the last quarter, the id sorting last in
    # the first; each with its source's visits, parts and survey, and the late one a repair after
    # another repair of its customer and model (it becomes that one's next repair).
    _copy_ticket(con, "A0LATE", "SELECT ticket_id, created_at FROM tickets WHERE service_type = 'repair' AND ticket_id IN "
                                "(SELECT ticket_id FROM visits) ORDER BY created_at DESC LIMIT 1")
    _copy_ticket(con, "ZZEARLY", "SELECT ticket_id, created_at FROM tickets WHERE ticket_id IN (SELECT v.ticket_id FROM "
                                 "parts_used pu JOIN visits v USING (visit_id)) AND ticket_id IN (SELECT ticket_id FROM "
                                 "surveys) ORDER BY created_at LIMIT 1")
    con.execute("UPDATE tickets SET customer_id = e.customer_id, product_model = e.product_model, "
                "created_at = e.resolved_at + INTERVAL 1 MINUTE FROM (SELECT * FROM tickets WHERE service_type = "
                "'repair' AND resolved_at IS NOT NULL AND ticket_id NOT IN ('A0LATE', 'ZZEARLY') ORDER BY resolved_at DESC LIMIT 1 "
                "OFFSET 50) e WHERE tickets.ticket_id = 'A0LATE'")
    derive.refresh(con, full=True)
    con.close()
    return db


def _copy_ticket(con: duckdb.DuckDBPyConnection, new_id: str, source: str) -> None:
    """A copy of the ticket ``source`` picks (``ticket_id, created_at``) under ``new_id``, with
    copies of its visits, their parts and its surveys."""
    old = con.execute(source).fetchall()[0][0]
    p = {"old": old, "new": new_id}
    con.execute("INSERT INTO tickets BY NAME SELECT * REPLACE ($new AS ticket_id) FROM tickets WHERE ticket_id = $old", p)
    con.execute("INSERT INTO parts_used BY NAME SELECT * REPLACE ($new || visit_id AS visit_id, $new AS ticket_id) "
                "FROM parts_used WHERE visit_id IN (SELECT visit_id FROM visits WHERE ticket_id = $old)", p)
    con.execute("INSERT INTO visits BY NAME SELECT * REPLACE ($new || visit_id AS visit_id, $new AS ticket_id) "
                "FROM visits WHERE ticket_id = $old", p)
    con.execute("INSERT INTO surveys BY NAME SELECT * REPLACE ($new || survey_id AS survey_id, $new AS ticket_id) "
                "FROM surveys WHERE ticket_id = $old", p)


def _rebuilt(src: Path, dest: Path, rows: int) -> duckdb.DuckDBPyConnection:
    shutil.copyfile(src, dest)
    con = duckdb.connect(str(dest))
    derive.refresh(con, full=True, piece_rows=rows)
    return con


def test_edge_cases_are_in_the_sample(loaded):
    """What a piece boundary could get wrong is present: tickets resolved, visited and surveyed in
    a later quarter than created, and a repeat repair whose next ticket is in another quarter."""
    con = duckdb.connect(str(loaded), read_only=True)
    q = "date_trunc('quarter', {})"
    assert con.execute(f"SELECT count(*) FROM tickets WHERE {q.format('resolved_at')} > {q.format('created_at')}"
                       ).fetchall()[0][0] > 0
    for table in ("visits", "surveys"):
        col = "started_at" if table == "visits" else "responded_at"
        assert con.execute(f"SELECT count(*) FROM {table} x JOIN tickets t USING (ticket_id) "
                           f"WHERE {q.format('x.' + col)} <> {q.format('t.created_at')}").fetchall()[0][0] > 0
    assert con.execute(f"SELECT count(*) FROM parts_used pu JOIN visits v USING (visit_id) JOIN tickets t "
                       f"ON t.ticket_id = v.ticket_id WHERE {q.format('v.started_at')} <> {q.format('t.created_at')}"
                       ).fetchall()[0][0] > 0
    assert con.execute(f"SELECT count(*) FROM ticket_facts WHERE {q.format('next_repair_at')} "
                       f"> {q.format('created_at')}").fetchall()[0][0] > 0
    # ids out of creation order: the first id created late (a repair's next repair), the last early
    late, early = (con.execute(f"SELECT created_at FROM tickets WHERE ticket_id = '{i}'").fetchall()[0][0]
                   for i in ("A0LATE", "ZZEARLY"))
    assert late > early and con.execute("SELECT count(*) FROM ticket_facts WHERE next_repair_at = $c",
                                         {"c": late}).fetchall()[0][0] == 1
    for table in ("visits", "surveys", "parts_used"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE ticket_id = 'ZZEARLY'").fetchall()[0][0] > 0


# quarters split at outlets (without one: a piece of its own, or with the last); two quarters a
# piece; the next repairs looked up in one pass, or in three shares of the customers
@pytest.mark.parametrize("rows, passes", [(150, 1), (450, 3), (1500, 1)])
def test_piecewise_equals_whole(loaded, tmp_path, monkeypatch, rows, passes):
    monkeypatch.setattr(derive_pieces, "next_passes", lambda con: passes)
    whole = _rebuilt(loaded, tmp_path / "whole.duckdb", rows=10**12)
    parts = _rebuilt(loaded, tmp_path / "parts.duckdb", rows=rows)
    n_tickets = whole.execute("SELECT count(*) FROM tickets").fetchall()[0][0]
    quarters = whole.execute("SELECT count(DISTINCT date_trunc('quarter', created_at)) FROM tickets").fetchall()[0][0]
    assert quarters == 6
    pieces = derive_pieces.ticket_pieces(parts, rows)
    # the case the parameter is for: more pieces than quarters, or fewer
    assert (len(pieces) > quarters) if rows < n_tickets / quarters else (1 < len(pieces) < quarters)
    if rows < n_tickets / quarters:
        assert len(derive_pieces.survey_pieces(parts, rows)) > 1 and len(derive_pieces.part_pieces(parts, rows)) > 1
    assert derive_pieces.ticket_pieces(whole, 10**12) == [("", {})]
    whole.close()
    parts.execute(f"ATTACH '{tmp_path / 'whole.duckdb'}' AS w (READ_ONLY)")
    for name, key in ORDER_KEYS.items():
        counts = parts.execute(f"SELECT (SELECT count(*) FROM {name}), (SELECT count(*) FROM w.{name})").fetchall()[0]
        assert counts[0] == counts[1] > 0
        # row for row: no row of one is missing from the other, duplicates counted
        for a, b in ((name, f"w.{name}"), (f"w.{name}", name)):
            assert parts.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchall()[0][0] == 0, name
        # stored in the whole build's order (what zone-map pruning relies on)
        keys = parts.execute(f"SELECT {key} FROM {name} ORDER BY rowid").fetchall()
        assert keys == sorted(keys, key=lambda k: tuple((v is None, v) for v in k)), name
    assert parts.execute("SELECT outlet_id IS NULL FROM ticket_facts WHERE ticket_id = 'NOOUTLET1'"
                         ).fetchall() == [(True,)]


def test_next_repairs_in_passes_equal_the_whole_lookup(loaded):
    """The next repairs looked up once before the pieces, in one pass or in shares of the customer
    and model pairs, are the whole rebuild's next_repair_at, ticket for ticket."""
    con = duckdb.connect(str(loaded), read_only=True)
    whole = sorted(con.execute("SELECT ticket_id, next_repair_at FROM ticket_facts WHERE next_repair_at IS NOT NULL"
                               ).fetchall())
    assert len(whole) > 10
    for passes in (1, 4):
        derive.build_next(con, passes)
        assert sorted(con.execute(f"FROM {derive.NEXT_TABLE}").fetchall()) == whole, passes


def test_next_passes_follow_the_memory_limit(loaded, monkeypatch):
    con = duckdb.connect(str(loaded), read_only=True)
    repairs = con.execute("SELECT count(*) FROM tickets WHERE service_type = 'repair'").fetchall()[0][0]
    con.execute("SET memory_limit = '64MiB'")
    assert derive_pieces.next_passes(con) == 1
    monkeypatch.setattr(derive_pieces, "NEXT_ROW_BYTES", 2**20)
    assert derive_pieces.next_passes(con) == -(-repairs // 64)


def test_a_piece_bounds_its_scans_by_its_ticket_ids(loaded):
    """The range bounds every id of the piece (ids out of creation order included), and the
    piece's SELECT applies it to the visits, parts and surveys it reads."""
    con = duckdb.connect(str(loaded), read_only=True)
    for cond, params in derive_pieces.ticket_pieces(con, 450):
        r = derive_pieces.ticket_range(con, cond, params)
        ids = [i for (i,) in con.execute(f"SELECT ticket_id FROM tickets t WHERE {cond}", params).fetchall()]
        assert (r["tid_lo"], r["tid_hi"]) == (min(ids), max(ids))
    sql = derive.facts_select(piece="t.created_at >= $lo")
    assert sql.count("BETWEEN $tid_lo AND $tid_hi") == 4 and f"FROM {derive.NEXT_TABLE}" in sql


def test_pieces_respect_the_row_bound(loaded):
    con = duckdb.connect(str(loaded), read_only=True)
    for rows in (100, 700):
        sizes = [con.execute(f"SELECT count(*) FROM tickets t WHERE {cond or 'TRUE'}", params).fetchall()[0][0]
                 for cond, params in derive_pieces.ticket_pieces(con, rows)]
        biggest = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM tickets "
                              "GROUP BY date_trunc('quarter', created_at), outlet_id)").fetchall()[0][0]
        assert sum(sizes) == con.execute("SELECT count(*) FROM tickets").fetchall()[0][0]
        assert max(sizes) <= max(rows, biggest)  # one outlet's quarter is never split


def test_piece_rows_follow_the_memory_limit():
    con = duckdb.connect()
    con.execute("SET memory_limit = '400MiB'")
    assert derive_pieces.memory_limit_bytes(con) == 400 * 2**20
    assert derive_pieces.piece_rows(con) == 400 * 2**20 // derive_pieces.ROW_BYTES


def test_writer_sets_the_budget_and_removes_its_spill_dir(tmp_path):
    db = tmp_path / "x.duckdb"
    with writer(db, memory_budget=1000 * 2**20) as con:
        limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                                  ).fetchall()[0]
        assert derive_pieces.memory_limit_bytes(con) == pytest.approx(700 * 2**20, rel=0.01)
        assert Path(temp) == spill_dir(db.with_name(f".{db.name}.work"))
        # force a spill: a sort larger than a tiny limit
        con.execute("SET memory_limit = '64MiB'")
        con.execute("CREATE TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(3000000) ORDER BY h")
        assert Path(temp).is_dir()  # it spilled there
    assert not Path(temp).exists()
    assert db.exists()


@pytest.mark.parametrize("value, expected", [("40%", int(config.machine_memory() * 0.4)), ("8GB", 8 * 10**9),
                                             ("512MiB", 512 * 2**20), (2_000_000_000, 2_000_000_000)])
def test_memory_budget_values(value, expected):
    assert config.memory_budget_bytes(value) == expected


@pytest.mark.parametrize("value", ["lots", "0%", "150%", "100KB"])
def test_memory_budget_refuses_nonsense(value):
    with pytest.raises(UserError, match="memory_budget"):
        config.memory_budget_bytes(value)


def _touch(db: Path) -> duckdb.DuckDBPyConnection:
    """A load's changes made by hand: repair tickets moved to another model (their customers'
    next repairs change) and first visits with another outcome, under a new load id."""
    con = duckdb.connect(str(db))
    new = con.execute("SELECT max(load_id) + 1 FROM loads").fetchall()[0][0]
    con.execute("INSERT INTO loads (load_id, file_name, file_path, sha256, source, table_name, started_at, "
                "finished_at, rows_read, inserted, updated, unchanged, quarantined, status) VALUES "
                "($id, 'x', 'x', 'x', 'test', 'tickets', now(), now(), 0, 0, 0, 0, 0, 'loaded')", {"id": new})
    con.execute("UPDATE tickets SET product_model = (SELECT min(product_model) FROM tickets), _load_id = $id "
                "WHERE ticket_id IN (SELECT ticket_id FROM tickets WHERE service_type = 'repair' "
                "ORDER BY hash(ticket_id) LIMIT 120)", {"id": new})
    con.execute("UPDATE visits SET outcome = 'fixed', _load_id = $id WHERE visit_id IN "
                "(SELECT visit_id FROM visits WHERE visit_no = 1 ORDER BY hash(visit_id) LIMIT 120)", {"id": new})
    return con


def test_a_patch_in_chunks_equals_the_whole_rebuild(loaded, tmp_path):
    shutil.copyfile(loaded, tmp_path / "whole.duckdb")
    shutil.copyfile(loaded, tmp_path / "patched.duckdb")
    whole = _touch(tmp_path / "whole.duckdb")
    derive.refresh(whole, full=True, piece_rows=10**12)
    whole.close()
    patched = _touch(tmp_path / "patched.duckdb")
    what = derive.refresh(patched, piece_rows=100)
    n = int(what.split()[1])
    assert what.startswith("patched") and n > 2 * 100  # three chunks or more
    patched.execute(f"ATTACH '{tmp_path / 'whole.duckdb'}' AS w (READ_ONLY)")
    for name in ORDER_KEYS:
        for a, b in ((name, f"w.{name}"), (f"w.{name}", name)):
            assert patched.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchall()[0][0] == 0, name


def test_a_load_says_its_peak_and_budget(loaded, tmp_path):
    messages: list[str] = []
    outlets = loaded.parent / "src" / "outlets.parquet"
    load_paths(tmp_path / "db.duckdb", [outlets], show_progress=False, echo=messages.append,
               memory_budget=1000 * 2**20)
    assert messages[-1].startswith("peak memory ") and "budget 1,000 MB" in messages[-1]
    assert 0 < int(messages[-1].split()[2].replace(",", "")) < 10**6  # MB
