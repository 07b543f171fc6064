"""Derived tables the pipeline maintains after each load, so every metric base is one scan.

- ``ticket_facts``: one row per ticket, its columns plus what the metrics would otherwise join per
  query: the outlet's region/city/type, the product's category, visit 1's outcome and start, the
  customer's next repair ticket of the same model, whether a survey response exists;
- ``survey_facts``: each survey response with its ticket's breakdown columns;
- ``part_facts``: each spare part used with its visit's start and technician and the ticket's
  breakdown columns.

Each is sorted by its time column (tickets by quarter and outlet first; patches append theirs
sorted), so time windows and outlet filters prune by zone maps. Readers are read-only, so the
tables are built by writers. ``refresh`` is incremental: it recomputes only the tickets touched
since the last refresh (their own rows, visits, parts or surveys) and the earlier repair tickets
of the same customer and model, inside the load's writer session, published with the load.
Master-data changes (outlets, products), a first load or a large share of touched tickets
rebuild them whole; a load asks for that rebuild to be deferred (``defer_rebuild``) and runs it
in a writer session of its own right after its data are published: the rebuild takes longer than
loading 10M tickets, and the data should not wait for it. Until it lands the tables lag the
ledger, and ``current`` tells the metrics to compute the same rows inline instead.

A rebuild runs in pieces sized to the writer session's memory limit (``pipelines.derive_pieces``:
ranges of each table's sort key, appended in order, so the stored table is the same as one
whole statement's), and a patch larger than a piece in chunks of that size: the memory a rebuild
needs follows the budget (``[load] memory_budget``), not the number of tickets.
"""

from __future__ import annotations

import sys

import duckdb
from tqdm import tqdm

from aftersales import model
from pipelines import derive_pieces as pieces

STATE_KEY = "ticket_facts.load_id"  # meta: the last load_id the tables reflect
FULL_REBUILD_SHARE = 0.2  # above this share of touched tickets a rebuild is cheaper than a patch

# Tickets by quarter, then outlet: a time window still prunes to its quarters, and within them a
# one-outlet drill-down (and its open backlog, spread over all time) reads a row group or two.
# Measured at 10M tickets (2 cores, DuckDB 2.0): the ORDER BY is not redundant. Without it the
# joins' output is not in the tickets' insertion order (every ticket_facts row group spanned all
# three years, against ~13 days per row group in `tickets`), and the one-outlet one-month
# drill-down with comparisons went from ~340 ms to ~520 ms wall (CPU ~170 -> ~520 ms). The sort
# is ~30 s of the ~75 s ticket_facts build; a plain CREATE TABLE AS of `tickets` alone takes
# ~35 s wall / ~20 s CPU, so copying every ticket column bounds how cheap this build can get.
# EXISTS (mark join) for has_survey instead of the DISTINCT + LEFT JOIN was no cheaper (CPU
# +4 s, peak RSS +4 GB); a 3 GB memory_limit held RSS to 3.1 GB but doubled the wall time.
TICKET_ORDER = "date_trunc('quarter', t.created_at), t.outlet_id, t.created_at"

# The ticket columns the survey and part facts carry for breakdowns and filters.
DIM_COLUMNS = ("t.outlet_id", "t.channel", "t.service_type", "t.product_model", "t.priority", "t.complaint_reason",
               "o.region", "o.city", "o.outlet_type", "p.product_category")
_DIM_JOINS = ("LEFT JOIN outlets o ON o.outlet_id = t.outlet_id\n"
              "    LEFT JOIN products p ON p.product_model = t.product_model")


def _columns(table: str, alias: str, present: set[str] | None, skip: tuple[str, ...] = ()) -> str:
    """The canonical columns of ``table`` (names from aftersales.model), read from ``alias``; a
    column the database does not have yet (``present``: the columns it has; a reader of a database
    no writer has upgraded) reads as NULL."""
    out = []
    for c in model.TABLES[table].columns:
        if c.name in skip:
            continue
        out.append(f"{alias}.{c.name}" if present is None or c.name in present
                   else f"CAST(NULL AS {c.type}) AS {c.name}")
    return ", ".join(out)


def present_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The columns each canonical table has in this database."""
    rows = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal "
                       "AND schema_name = 'main'").fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def facts_select(only: str = "", present: dict[str, set[str]] | None = None, piece: str = "") -> str:
    """The SELECT producing ticket_facts rows. ``only``: a query of ``ticket_id`` (fixed text
    from this module) restricting the tickets computed; their repeat-repair lookups still see
    every repair ticket of their customer and model. ``piece``: instead, a condition on tickets
    ``t`` (fixed text, values bound by the caller) that prunes by the tickets' zone maps; the
    caller also binds the piece's ticket_id range ``$tid_lo``/``$tid_hi`` (``pieces.ticket_range``)
    and has built ``NEXT_TABLE`` (``build_next``): a piece reads only its own share of the
    visits, parts, surveys and repeat repairs, not the whole of each (issue 18)."""
    if piece:
        # A piece's tickets are read once (pt); the visits, parts and surveys scans also get the
        # piece's ticket_id range, which their zone maps prune (ids follow the order rows were
        # loaded in); the next repairs were computed once for every piece (build_next).
        only = "SELECT ticket_id FROM pt"
        tickets = f"pt AS MATERIALIZED (SELECT t.ticket_id FROM tickets t WHERE {piece}),\n    "
        cond = f" AND ticket_id BETWEEN $tid_lo AND $tid_hi AND ticket_id IN ({only})"
        parts_cond = f" AND v.ticket_id BETWEEN $tid_lo AND $tid_hi AND v.ticket_id IN ({only})"
        nx = f"nx AS (SELECT ticket_id, next_repair_at FROM {NEXT_TABLE})"
        where = f" AND {piece}"
    else:
        tickets = ""
        cond = f" AND ticket_id IN ({only})" if only else ""
        pairs = (f" AND (customer_id, product_model) IN (SELECT (customer_id, product_model) FROM tickets"
                 f" WHERE ticket_id IN ({only}))" if only else "")
        nx = _NEXT_SQL.format(rep=_REP_SQL.format(pairs=pairs), cond=cond)
        parts_cond = f" AND v.ticket_id IN ({only})" if only else ""
        where = f" AND t.ticket_id IN ({only})" if only else ""
    # visit_no = 1 is one visit per ticket in the model; min() keeps one row per ticket if a
    # source ever sends two.
    return f"""
    WITH {tickets}v1 AS (
        SELECT ticket_id, arg_min(outcome, started_at) AS visit1_outcome, min(started_at) AS visit1_started_at
        FROM visits WHERE visit_no = 1{cond} GROUP BY ticket_id),
    sv AS (SELECT DISTINCT ticket_id FROM surveys WHERE TRUE{cond}),
    -- what the cost KPIs price (metrics base "cost"): visit time in integer microseconds (an
    -- exact sum), visits without a valid end, on-site visits, travel minutes, parts at cost
    vc AS (
        SELECT ticket_id, count(*) AS visit_count,
               CAST(sum(epoch_us(ended_at) - epoch_us(started_at)) FILTER (WHERE ended_at >= started_at) AS BIGINT)
                   AS visit_us,
               count(*) FILTER (WHERE ended_at IS NULL OR ended_at < started_at) AS visits_unended,
               count(*) FILTER (WHERE visit_type IS DISTINCT FROM 'workshop') AS onsite_visits,
               CAST(sum(travel_minutes) AS BIGINT) AS visit_travel_minutes
        FROM visits WHERE TRUE{cond} GROUP BY ticket_id),
    pc AS (
        SELECT v.ticket_id, CAST(sum(pu.quantity * pu.unit_cost) AS DECIMAL(18, 2)) AS visit_parts_cost,
               count(*) FILTER (WHERE pu.unit_cost IS NULL) AS parts_uncosted
        FROM parts_used pu JOIN visits v ON v.visit_id = pu.visit_id
        WHERE TRUE{parts_cond} GROUP BY v.ticket_id),
    {nx}
    SELECT {_columns("tickets", "t", (present or {}).get("tickets"))}, o.region, o.city, o.outlet_type, p.product_category,
           v1.visit1_outcome, v1.visit1_started_at, v1.ticket_id IS NOT NULL AS has_visit1,
           nx.next_repair_at, sv.ticket_id IS NOT NULL AS has_survey,
           coalesce(vc.visit_count, 0) AS visit_count, coalesce(vc.visit_us, 0) AS visit_us,
           coalesce(vc.visits_unended, 0) AS visits_unended, coalesce(vc.onsite_visits, 0) AS onsite_visits,
           coalesce(vc.visit_travel_minutes, 0) AS visit_travel_minutes,
           coalesce(pc.visit_parts_cost, 0) AS visit_parts_cost, coalesce(pc.parts_uncosted, 0) AS parts_uncosted
    FROM tickets t
    LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
    LEFT JOIN products p ON p.product_model = t.product_model
    LEFT JOIN v1 ON v1.ticket_id = t.ticket_id
    LEFT JOIN sv ON sv.ticket_id = t.ticket_id
    LEFT JOIN nx ON nx.ticket_id = t.ticket_id
    LEFT JOIN vc ON vc.ticket_id = t.ticket_id
    LEFT JOIN pc ON pc.ticket_id = t.ticket_id
    WHERE TRUE{where}
    ORDER BY {TICKET_ORDER}"""


# The repair tickets a next-repair lookup searches ({pairs}: restricted to some customers' and
# models' pairs, fixed text) and the lookup itself ({cond}: the tickets it is for).
_REP_SQL = """rep AS (SELECT ticket_id, customer_id, product_model, resolved_at, created_at FROM tickets
            WHERE service_type = 'repair'{pairs}),"""
_NEXT_SQL = """{rep}
    -- the next repair ticket of the same customer and model created after this one's resolution
    nx AS (
        SELECT r.ticket_id, n.created_at AS next_repair_at
        FROM (SELECT * FROM rep WHERE resolved_at IS NOT NULL{cond}) r
        ASOF JOIN rep n ON n.customer_id = r.customer_id AND n.product_model = r.product_model
                       AND n.created_at > r.resolved_at)"""

# Every repair ticket's next repair, computed once before a rebuild's pieces (it is a lookup over
# all quarters: a piece doing it would scan every repair ticket again) in ``parts`` passes, each
# one share of the customer and model pairs (a ticket's next repair has its pair), so that a pass
# keeps to the memory limit. Only tickets that have a next repair get a row.
NEXT_TABLE = "facts_next"


def build_next(con: duckdb.DuckDBPyConnection, parts: int = 1) -> None:
    """Fill the temporary ``NEXT_TABLE`` (ticket_id, next_repair_at) for every repair ticket."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {NEXT_TABLE} (ticket_id VARCHAR, next_repair_at TIMESTAMP)")
    share = " AND hash(customer_id, product_model) % $parts = $part" if parts > 1 else ""
    for part in range(parts):
        con.execute(f"INSERT INTO {NEXT_TABLE} WITH {_NEXT_SQL.format(rep=_REP_SQL.format(pairs=share), cond='')}"
                    " SELECT ticket_id, next_repair_at FROM nx", {"parts": parts, "part": part} if share else {})


def surveys_select(only: str = "", present: dict[str, set[str]] | None = None, piece: str = "") -> str:
    """survey_facts rows: each response with its ticket's breakdown columns (``piece``: a
    condition on ``s.responded_at`` instead of ``only``)."""
    cond = f" WHERE {piece}" if piece else f" WHERE s.ticket_id IN ({only})" if only else ""
    return f"""
    SELECT {_columns("surveys", "s", (present or {}).get("surveys"))}, {', '.join(DIM_COLUMNS)}, t.technician_id
    FROM surveys s
    LEFT JOIN tickets t ON t.ticket_id = s.ticket_id
    {_DIM_JOINS}{cond}
    ORDER BY s.responded_at"""


def parts_select(only: str = "", present: dict[str, set[str]] | None = None, piece: str = "") -> str:
    """part_facts rows: each part used with its visit's start, the visit's technician (else the
    ticket's) and the ticket's breakdown columns (``piece``: a condition on ``v.started_at``
    instead of ``only``)."""
    cond = f" WHERE {piece}" if piece else f" WHERE v.ticket_id IN ({only})" if only else ""
    return f"""
    SELECT {_columns("parts_used", "pu", (present or {}).get("parts_used"), skip=("ticket_id",))}, v.ticket_id, v.started_at,
           {', '.join(DIM_COLUMNS)}, coalesce(v.technician_id, t.technician_id) AS technician_id
    FROM parts_used pu
    JOIN visits v ON v.visit_id = pu.visit_id
    LEFT JOIN tickets t ON t.ticket_id = v.ticket_id
    {_DIM_JOINS}{cond}
    ORDER BY v.started_at"""


# table -> the SELECT defining its rows (for the tickets in a subquery, or all)
TABLES = {"ticket_facts": facts_select, "survey_facts": surveys_select, "part_facts": parts_select}


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchall()[0][0]


# The canonical table whose every column a derived table carries.
SOURCE_OF = {"ticket_facts": "tickets", "survey_facts": "surveys", "part_facts": "parts_used"}


def existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Which derived tables the database holds with every column the model now declares (one
    built before a column was added is as good as missing: it is rebuilt, and read inline until)."""
    have = present_columns(con)
    return {name for name, source in SOURCE_OF.items()
            if name in have and set(model.TABLES[source].column_names) | derived_columns(name) <= have[name]}


def derived_columns(name: str) -> set[str]:
    """The columns a derived table adds to its source's (as ``aftersales.model.DERIVED`` lists them)."""
    return {c for names, _, _ in model.DERIVED[name][1] for c in names.split(", ")}


def current(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The derived tables that reflect every load in the ledger: present, and refreshed since the
    last load (a deferred rebuild not yet landed, or one that failed, leaves them behind)."""
    have = existing(con)
    if not have:
        return have
    state = con.execute(
        "SELECT (SELECT max(try_cast(value AS BIGINT)) FROM meta WHERE key = $k),"
        " (SELECT coalesce(max(load_id), 0) FROM loads)", {"k": STATE_KEY}).fetchall()[0]
    return have if state[0] is not None and state[0] >= state[1] else set()


DEFERRED = "deferred"  # refresh's answer when a rebuild is needed and the caller runs it later


def _rebuild(con: duckdb.DuckDBPyConnection, show_progress: bool = False, piece_rows: int | None = None) -> str:
    """Each derived table rebuilt whole, in pieces of at most ``piece_rows`` rows (default: what
    the session's memory limit holds, ``pieces.piece_rows``) appended in the table's own order."""
    rows = piece_rows or pieces.piece_rows(con)
    # Every statement below has its ORDER BY: DuckDB keeps that order and may drop the
    # order-preserving buffers of the joins beneath it.
    con.execute("SET preserve_insertion_order = false")
    try:
        for name, select in TABLES.items():  # names from the fixed list above
            parts = pieces.PIECES[name](con, rows)
            if name == "ticket_facts" and len(parts) > 1:
                build_next(con, pieces.next_passes(con))
            for i, (cond, params) in enumerate(tqdm(parts, desc=name, unit="piece", leave=False,
                                                    disable=not show_progress, file=sys.stderr)):
                head = f"CREATE OR REPLACE TABLE {name} AS" if i == 0 else f"INSERT INTO {name}"
                if name == "ticket_facts" and cond:
                    params = {**params, **pieces.ticket_range(con, cond, params)}
                con.execute(f"{head} {select(piece=cond)}", params)
    finally:
        con.execute("RESET preserve_insertion_order")
        con.execute(f"DROP TABLE IF EXISTS {NEXT_TABLE}")
    return "rebuilt"


def refresh(con: duckdb.DuckDBPyConnection, full: bool = False, defer_rebuild: bool = False,
            show_progress: bool = False, piece_rows: int | None = None) -> str:
    """Bring the derived tables up to date with the tables on ``con`` (a writer session). Returns
    what was done: "unchanged", "patched N tickets", "rebuilt", or DEFERRED (nothing done: a
    rebuild is needed and ``defer_rebuild`` asked to leave it to another session). A rebuild runs
    in pieces of at most ``piece_rows`` rows (default: sized to the session's memory limit)."""
    last = _one(con, "SELECT coalesce(max(load_id), 0) FROM loads")
    done = con.execute("SELECT value FROM meta WHERE key = $k", {"k": STATE_KEY}).fetchall()
    since = int(done[0][0]) if done else None
    exists = existing(con) == set(TABLES)
    if not full and exists and since is not None and since >= last:
        return _rollups(con, False, since, "unchanged")
    if not full and exists and since is not None:
        full = _one(con, "SELECT (SELECT count(*) FROM outlets WHERE _load_id > $s)"
                         " + (SELECT count(*) FROM products WHERE _load_id > $s)", {"s": since}) > 0
    if full or not exists or since is None:
        if defer_rebuild:
            return DEFERRED
        what = _rebuild(con, show_progress, piece_rows)
    else:
        what = _patch(con, since, defer_rebuild, show_progress, piece_rows)
        if what == DEFERRED:
            return what
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ($k, $v)", {"k": STATE_KEY, "v": str(last)})
    return _rollups(con, what == "rebuilt", since, what)


def _rollups(con: duckdb.DuckDBPyConnection, rebuilt: bool, since: int | None, what: str) -> str:
    """The metrics' rollup tables follow the derived tables (``metrics.rollup``)."""
    from metrics import rollup  # metrics imports this module

    done = rollup.refresh(con, rebuilt, since)
    return what if done is None else f"{what}; {done}"


def _patch(con: duckdb.DuckDBPyConnection, since: int, defer_rebuild: bool, show_progress: bool,
           piece_rows: int | None = None) -> str:
    # The tickets loaded since are touched whatever else is: when they alone pass the share, the
    # rebuild is decided before working out the rest (6 s at 10M, that the rebuild then redid).
    known = max(1, _one(con, "SELECT count(*) FROM ticket_facts"))
    if _one(con, "SELECT count(*) FROM tickets WHERE _load_id > $s", {"s": since}) > FULL_REBUILD_SHARE * known:
        return DEFERRED if defer_rebuild else _rebuild(con, show_progress, piece_rows)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE facts_touched AS
        SELECT ticket_id FROM tickets WHERE _load_id > $s
        UNION SELECT ticket_id FROM visits WHERE _load_id > $s
        UNION SELECT ticket_id FROM surveys WHERE _load_id > $s
        UNION SELECT v.ticket_id FROM parts_used pu JOIN visits v ON v.visit_id = pu.visit_id
              WHERE pu._load_id > $s
        -- a response or visit moved to another ticket: the ticket it left changes too
        UNION SELECT ticket_id FROM survey_facts WHERE survey_id IN (SELECT survey_id FROM surveys WHERE _load_id > $s)
        UNION SELECT ticket_id FROM part_facts WHERE visit_id IN (SELECT visit_id FROM visits WHERE _load_id > $s)""",
                {"s": since})
    # A new or changed repair ticket changes the next repair of its customer's earlier repairs of
    # the model, under its new and its previous customer and model. Those earlier tickets change
    # in nothing else: their next repair is updated in place (facts_earlier), and only the tickets
    # touched themselves are recomputed whole. Those are mostly a delta's new tickets, stored
    # together at the tables' end, so their lookups prune by zone maps; recomputing the earlier
    # tickets too, spread over every quarter, read the whole visits, surveys and parts (most of a
    # 1,000-ticket delta's load at 10M).
    con.execute("CREATE OR REPLACE TEMP TABLE facts_direct AS SELECT ticket_id FROM facts_touched")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE facts_rep AS
        WITH pairs AS (
            SELECT customer_id, product_model FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM facts_touched)
            UNION SELECT customer_id, product_model FROM ticket_facts WHERE ticket_id IN (SELECT ticket_id FROM facts_touched))
        SELECT t.ticket_id, t.customer_id, t.product_model, t.resolved_at, t.created_at FROM tickets t SEMI JOIN pairs p
          ON p.customer_id = t.customer_id AND p.product_model = t.product_model
        WHERE t.service_type = 'repair'""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE facts_earlier AS
        SELECT ticket_id FROM facts_rep WHERE resolved_at IS NOT NULL EXCEPT SELECT ticket_id FROM facts_direct""")
    con.execute("INSERT INTO facts_touched SELECT ticket_id FROM facts_earlier")
    n = _one(con, "SELECT count(*) FROM facts_touched")
    if n > FULL_REBUILD_SHARE * known:
        con.execute("DROP TABLE facts_touched")
        return DEFERRED if defer_rebuild else _rebuild(con, show_progress, piece_rows)
    # More touched tickets than one rebuild piece holds (up to FULL_REBUILD_SHARE of them) are
    # recomputed in chunks of that size, in creation order, so that a patch keeps to the budget too.
    rows = piece_rows or pieces.piece_rows(con)
    chunks = -(-_one(con, "SELECT count(*) FROM facts_direct") // rows)
    if chunks > 1:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE facts_chunks AS
            SELECT f.ticket_id, (row_number() OVER (ORDER BY t.created_at, f.ticket_id) - 1) // $rows AS chunk
            FROM facts_direct f LEFT JOIN tickets t ON t.ticket_id = f.ticket_id""", {"rows": rows})
    from metrics import rollup

    rollup.note_touched(con)  # the months the touched tickets counted in, before and after
    for name, select in TABLES.items():
        con.execute(f"DELETE FROM {name} WHERE ticket_id IN (SELECT ticket_id FROM facts_direct)")
        if chunks == 1:
            con.execute(f"INSERT INTO {name} {select('SELECT ticket_id FROM facts_direct')}")
            continue
        for chunk in range(chunks):
            con.execute(f"INSERT INTO {name} {select('SELECT ticket_id FROM facts_chunks WHERE chunk = $chunk')}",
                        {"chunk": chunk})
    # The earlier repairs' next repair, as facts_select's ASOF join finds it (none: NULL), among
    # every repair ticket of their customer and model (facts_rep holds them all).
    con.execute("""
        UPDATE ticket_facts SET next_repair_at = x.next_repair_at
        FROM (SELECT r.ticket_id, n.created_at AS next_repair_at
              FROM (SELECT * FROM facts_rep WHERE ticket_id IN (SELECT ticket_id FROM facts_earlier)) r
              ASOF LEFT JOIN facts_rep n ON n.customer_id = r.customer_id AND n.product_model = r.product_model
                                         AND n.created_at > r.resolved_at) x
        WHERE ticket_facts.ticket_id = x.ticket_id
          AND ticket_facts.next_repair_at IS DISTINCT FROM x.next_repair_at""")
    rollup.note_touched(con)  # and the months they count in now
    con.execute("DROP TABLE facts_direct")
    con.execute("DROP TABLE facts_rep")
    con.execute("DROP TABLE facts_earlier")
    con.execute("DROP TABLE facts_touched")
    con.execute("DROP TABLE IF EXISTS facts_chunks")
    return f"patched {n} tickets"
