"""What the pipeline has recorded about the database, for readers (the dashboard's Data page,
the CLI): the load ledger, quarantined rows and their counts by rule, how fresh each table is,
the range of ticket data, and the master-data attributes tickets reach through a join.

Every function takes a path or an open DuckDB connection (used as given, not closed). Values
reach SQL only as bound parameters; table and column names only from ``aftersales.model`` and
the pipeline's own ledger tables (``schema.sql``), checked when this module is imported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from aftersales import model, privacy
from aftersales.db import connect_readonly
from aftersales.errors import UserError

DbLike = str | Path | duckdb.DuckDBPyConnection

LEDGER_COLUMNS = ("load_id", "file_name", "source", "table_name", "status", "rows_read", "inserted", "updated",
                  "unchanged", "quarantined", "started_at", "finished_at", "message")
QUARANTINE_COLUMNS = ("load_id", "file_name", "sheet", "row_number", "column_name", "source_column", "rule", "message")
# Quarantine filters a caller may give (column -> bound parameter).
QUARANTINE_FILTERS = ("load_id", "file_name", "rule")

# Per data table, the column that says how recent its data is (None: master data without one).
FRESHNESS_COLUMNS: dict[str, str | None] = {
    "tickets": "created_at", "visits": "started_at", "surveys": "responded_at", "parts_used": None,
    "orders_daily": "order_date", "parts_inventory": "as_of", "outlets": None, "technicians": None, "products": None,
}
# Breakdowns the tickets reach through a master table: dim -> (table, key column, attribute
# column); the key is the ticket column of the same name (as ``metrics`` joins them).
MASTER_ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "region": ("outlets", "outlet_id", "region"),
    "outlet_type": ("outlets", "outlet_id", "outlet_type"),
    "city": ("outlets", "outlet_id", "city"),
    "product_category": ("products", "product_model", "product_category"),
}


def _check_identifiers() -> None:
    # The allow-lists above must name real model columns: a typo fails at import, not in a query.
    for table, column in FRESHNESS_COLUMNS.items():
        cols = model.TABLES[table].column_names
        if column is not None and column not in cols:
            raise AssertionError(f"FRESHNESS_COLUMNS: {table} has no column {column}")
    tickets = model.TABLES["tickets"].column_names
    for dim, (table, key, attr) in MASTER_ATTRIBUTES.items():
        cols = model.TABLES[table].column_names
        if key not in cols or attr not in cols or key not in tickets:
            raise AssertionError(f"MASTER_ATTRIBUTES[{dim}] names a column the model does not have")


_check_identifiers()


@contextlib.contextmanager
def _connection(db: DbLike) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(db, duckdb.DuckDBPyConnection):
        yield db
        return
    con = connect_readonly(Path(db))
    try:
        yield con
    finally:
        con.close()


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or None).pl()


def _limit(limit: int | None) -> int | None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise UserError(f"limit must be a whole number >= 0 or None, not {limit!r}")
    return limit


def ledger(db: DbLike, limit: int | None = 500) -> pl.DataFrame:
    """The load ledger, newest first: one row per file the pipeline applied."""
    lim = _limit(limit)
    sql = f"SELECT {', '.join(LEDGER_COLUMNS)} FROM loads ORDER BY load_id DESC"
    with _connection(db) as con:
        if lim is None:
            return _frame(con, sql)
        return _frame(con, sql + " LIMIT $n", {"n": lim})


def _quarantine_where(filters: dict[str, object]) -> tuple[str, dict[str, object]]:
    unknown = sorted(set(filters) - set(QUARANTINE_FILTERS))
    if unknown:
        raise UserError(f"cannot filter quarantined rows by {', '.join(unknown)}; "
                        f"valid: {', '.join(QUARANTINE_FILTERS)}")
    given = {k: v for k, v in filters.items() if v is not None}
    clause = " AND ".join(f"{k} = ${k}" for k in given)  # names from QUARANTINE_FILTERS only
    return (f" WHERE {clause}" if clause else ""), given


def quarantine(db: DbLike, limit: int | None = 1000, raw: bool = True, newest_first: bool = True,
               unmask: bool = False, **filters: object) -> pl.DataFrame:
    """Quarantined rows with their rule and message (and the raw values read, as JSON text),
    newest load first (or oldest, as ``aftersales rejects`` lists them); ``filters``: load_id,
    file_name, rule (exact values). Personal values (customers' names and phones) are masked in
    the raw values and the message unless ``unmask`` (``aftersales rejects --unmask``)."""
    lim = _limit(limit)
    where, params = _quarantine_where(filters)
    # the raw values are read for masking the message even when they are not returned
    cols = ", ".join(QUARANTINE_COLUMNS) + ", CAST(raw AS VARCHAR) AS raw"
    cols += ", (SELECT any_value(l.source) FROM loads l WHERE l.load_id = quarantine.load_id) AS _source"
    order = "load_id DESC" if newest_first else "load_id"
    sql = f"SELECT {cols} FROM quarantine{where} ORDER BY {order}, file_name, sheet, row_number"
    if lim is not None:
        sql += " LIMIT $n"
        params = {**params, "n": lim}
    with _connection(db) as con:
        df = _frame(con, sql, params)
    sources = df["_source"].to_list()
    df = df.drop("_source")
    if not unmask:
        df = _mask_quarantine(df, sources)
    return df if raw else df.drop("raw")


@functools.lru_cache(maxsize=1)
def _header_roles() -> dict[str, dict[str, str | None]]:
    """Per source (mapping), every header it names with the role of the column it maps onto
    (None: not personal), so that a raw value is masked by what its column is, not guessed."""
    from pipelines.mapping import all_mappings

    try:
        mappings = list(all_mappings(None).values())
    except UserError:  # a broken mapping file: fall back on what the headers read like
        mappings = []
    out = {}
    for m in mappings:
        named = [(spec.source, privacy.ROLES.get(spec.target)) for spec in m.columns if spec.source]
        out[m.source] = privacy.header_roles({h: r for h, r in named if r}, [h for h, r in named if not r])
    return out


def _mask_quarantine(df: pl.DataFrame, sources: list[str | None]) -> pl.DataFrame:
    if df.is_empty():
        return df
    roles = _header_roles()
    # a source whose mapping is not known here (given with --mappings): headers are judged by name
    raws, replaced = privacy.mask_raws(df["raw"].to_list(), [roles.get(s or "", {}) for s in sources])
    messages = [privacy.mask_text(m, r) for m, r in zip(df["message"].to_list(), replaced, strict=True)]
    return df.with_columns(pl.Series("raw", raws, dtype=pl.String), pl.Series("message", messages, dtype=pl.String))


def quarantine_counts(db: DbLike, **filters: object) -> pl.DataFrame:
    """Quarantined values per rule (``rule``, ``count``), most frequent first."""
    where, params = _quarantine_where(filters)
    with _connection(db) as con:
        return _frame(con, f"SELECT rule, count(*) AS count FROM quarantine{where} GROUP BY rule "
                           "ORDER BY count DESC, rule", params)


def freshness(db: DbLike) -> pl.DataFrame:
    """Per data table: ``rows``, ``latest`` (its newest data time; null for master data) and
    ``last_load`` (when a file last landed in it)."""
    out = []
    with _connection(db) as con:
        last = dict(con.execute("SELECT table_name, max(finished_at) FROM loads GROUP BY 1").fetchall())
        for table, column in FRESHNESS_COLUMNS.items():  # identifiers from the checked allow-list
            expr = f"CAST(max({column}) AS TIMESTAMP)" if column else "CAST(NULL AS TIMESTAMP)"
            n, latest = con.execute(f"SELECT count(*), {expr} FROM {table}").fetchall()[0]
            out.append({"table": table, "rows": n, "latest": latest, "last_load": last.get(table)})
    return pl.DataFrame(out, schema={"table": pl.String, "rows": pl.Int64, "latest": pl.Datetime("us"),
                                     "last_load": pl.Datetime("us")})


def data_range(db: DbLike) -> tuple[dt.date, dt.date, dt.datetime] | None:
    """(first day a ticket was created, last such day, the latest ``created_at``), or None when
    there are no tickets."""
    with _connection(db) as con:
        lo, hi = con.execute("SELECT min(created_at), max(created_at) FROM tickets").fetchall()[0]
    if lo is None:
        return None
    return lo.date(), hi.date(), hi


def open_tickets(db: DbLike) -> int:
    """Tickets open now: the backlog KPI's definition at the data's end (``model.open_now``): an
    open status and no resolution time; cancelled, resolved and closed tickets are not open, with
    or without their times."""
    with _connection(db) as con:
        return int(con.execute(f"SELECT count(*) FROM tickets WHERE {model.open_now()}").fetchall()[0][0])


def has_rows(db: DbLike, table: str) -> bool:
    """Whether a data table holds any row (e.g. ``orders_daily``, which is optional)."""
    if table not in model.TABLES:
        raise UserError(f"unknown table {table!r}; valid: {', '.join(model.TABLES)}")
    with _connection(db) as con:
        return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchall()[0][0])


def master_attribute(db: DbLike, dim: str) -> pl.DataFrame:
    """The master-data attribute a breakdown reads for each key, as ``metrics`` joins it:
    columns (key column, ``dim``); e.g. outlet_id -> region. Tickets whose key is missing here
    have no value for ``dim``."""
    if dim not in MASTER_ATTRIBUTES:
        raise UserError(f"{dim!r} is not read through master data; valid: {', '.join(MASTER_ATTRIBUTES)}")
    table, key, attr = MASTER_ATTRIBUTES[dim]
    with _connection(db) as con:
        return _frame(con, f"SELECT {key}, any_value({attr}) AS {dim} FROM {table} GROUP BY {key} ORDER BY {key}")
