"""Event logs (`mode: log`): one record built from every row of its key, the same however the log
was split into files and in whatever order they were loaded (docs/MAPPING.md, "Event logs").

Each valid row of a log file is kept, as an event, in the table `log_<table>` (the canonical
columns typed, plus the source texts the conditions read), one set per source. A load re-derives
the record of every key the file touches from all the stored events of that key and the file's
new ones, so loading the log whole, or in pieces in any order, stores the same events and derives
the same records. Events are a set: a row repeated (in one file, or in a later export that
overlaps an earlier one) is one event.

A column's aggregation (`take`):
- `last` (the default): the latest non-empty value; `first`: the earliest;
- `min` / `max` of the value;
- `count`: rows (matching `where`), `transitions`: how often the value of `of` moves from a value
  in `from` to one outside it (or in `to`), e.g. resolved → open = a reopening.
`where` narrows any of them to the rows matching conditions on canonical columns (their mapped
codes) or on a source column's text.

Order of a key's rows: the mapping's `version` (e.g. the event time), then `tie_order` (the rank
of a column's value in a list, e.g. closed after in_progress), then the rows' values (canonical
columns in model order, then the condition texts): rows with equal versions get the same order
in every split, unlike file order, which a split changes.

SQL identifiers are canonical names (model allow-list) and `log_<table>` for a canonical table;
every value, code list and source header is a bound parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from aftersales import model
from aftersales.db import fetch_one
from aftersales.errors import UserError

TAKES = ("last", "first", "min", "max", "count", "transitions")
COUNT_TAKES = ("count", "transitions")
KEPT_NOTE = (" (after folding every event of this key; its events are kept and the record is derived again "
             "when more of its log is loaded)")
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")


@dataclass(frozen=True)
class Cond:
    """A row condition: canonical `column`'s value (as text) or source `header`'s text is (not) in `values`."""

    values: tuple[str, ...]
    column: str | None = None
    header: str | None = None
    negate: bool = False


@dataclass(frozen=True)
class Aggregate:
    take: str = "last"
    where: tuple[Cond, ...] = ()
    of: Cond | None = None  # transitions: the subject (values = the `from` list)
    to: tuple[str, ...] | None = None  # transitions: target values (None: any value not in `from`)


def _codes(raw: Any, what: str, fail: Callable[[str], Exception]) -> tuple[str, ...]:
    if isinstance(raw, (str, int, float, bool)):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise fail(f"{what} must be a list of values")
    return tuple("true" if v is True else "false" if v is False else str(v).strip() for v in raw)


def _cond(raw: Any, table: model.Table, fail: Callable[[str], Exception], what: str) -> tuple[Cond, ...]:
    """`{status: [resolved, closed]}`, `{status: {not_in: [...]}}` or `{column: HEADER, in: [...]}`."""
    if not isinstance(raw, dict) or not raw:
        raise fail(f"{what} must map a canonical column to a list of codes, or be {{column: HEADER, in: [...]}}")
    if "column" in raw:
        bad = set(raw) - {"column", "in", "not_in"}
        if bad or ("in" in raw) == ("not_in" in raw):
            raise fail(f"{what}: write {{column: HEADER, in: [...]}} or {{column: HEADER, not_in: [...]}}")
        key = "in" if "in" in raw else "not_in"
        return (Cond(_codes(raw[key], f"{what}.{key}", fail), header=str(raw["column"]).strip(), negate=key == "not_in"),)
    out = []
    for col, vals in raw.items():
        if col not in table.column_names:
            raise fail(f"{what}: {col!r} is not a column of {table.name}; valid: {', '.join(table.column_names)}")
        negate = isinstance(vals, dict)
        if negate:
            if set(vals) != {"not_in"}:
                raise fail(f"{what}.{col}: write a list of codes, or {{not_in: [...]}}")
            vals = vals["not_in"]
        out.append(Cond(_codes(vals, f"{what}.{col}", fail), column=col, negate=negate))
    return tuple(out)


def parse_take(spec: dict, target: str, table: model.Table, mode: str,
               fail: Callable[[str], Exception]) -> Aggregate | None:
    """The aggregation of one column entry of a mapping (None outside `mode: log`)."""
    keys = {"take", "where", "of", "from", "to"} & set(spec)
    if mode != "log":
        if keys:
            raise fail(f"column {target!r}: {sorted(keys)} need `mode: log` (or `events`: an event log, one row per change)")
        return None
    take = str(spec.get("take", "last"))
    if take not in TAKES:
        raise fail(f"column {target!r}: take {take!r} is not one of {', '.join(TAKES)}")
    has_source = "column" in spec or "constant" in spec
    if take in COUNT_TAKES:
        if has_source:
            raise fail(f"column {target!r}: take {take} counts rows; it takes no `column` or `constant`")
        if table.column(target).type.upper() not in INTEGER_TYPES:
            raise fail(f"column {target!r} is {table.column(target).type}, not an integer: it cannot hold a {take}")
    elif not has_source:
        raise fail(f"column {target!r}: take {take} needs the source `column:` it reads")
    where = _cond(spec["where"], table, fail, f"column {target!r}: where") if "where" in spec else ()
    of, to = None, None
    if take == "transitions":
        if "of" not in spec or "from" not in spec:
            raise fail(f"column {target!r}: take transitions needs `of:` (a canonical column, or "
                       "{column: HEADER}) and `from:` (the values left), e.g. of: status, from: [resolved, closed]")
        subject = spec["of"]
        frm = _codes(spec["from"], f"column {target!r}: from", fail)
        if isinstance(subject, dict) and set(subject) == {"column"}:
            of = Cond(frm, header=str(subject["column"]).strip())
        elif isinstance(subject, str) and subject in table.column_names:
            of = Cond(frm, column=subject)
        else:
            raise fail(f"column {target!r}: of must be a column of {table.name} or {{column: HEADER}}")
        if "to" in spec:
            to = _codes(spec["to"], f"column {target!r}: to", fail)
    elif "of" in spec or "from" in spec or "to" in spec:
        raise fail(f"column {target!r}: of/from/to belong to take transitions")
    return Aggregate(take, where, of, to)


def parse_tie_order(raw: Any, table: model.Table, mode: str,
                    fail: Callable[[str], Exception]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`tie_order: {status: [open, in_progress, resolved, closed]}`: rows of one key with the same
    version are ordered by the rank of their value in the list (values not listed come first)."""
    if raw is None:
        return ()
    if mode != "log":
        raise fail("tie_order belongs to mode log")
    if not isinstance(raw, dict) or not raw:
        raise fail("tie_order must map canonical columns to lists of values, e.g. {status: [open, closed]}")
    out = []
    for col, vals in raw.items():
        if col not in table.column_names:
            raise fail(f"tie_order: {col!r} is not a column of {table.name}; valid: {', '.join(table.column_names)}")
        out.append((col, _codes(vals, f"tie_order.{col}", fail)))
    return tuple(out)


def condition_headers(mapping: Any) -> list[str]:
    """Source headers the mapping's conditions read, in a stable order."""
    seen: list[str] = []
    for spec in mapping.columns:
        agg = spec.agg
        if agg is None:
            continue
        for cond in agg.where + ((agg.of,) if agg.of else ()):
            if cond.header and cond.header not in seen:
                seen.append(cond.header)
    return seen


def store_name(table: model.Table) -> str:
    if table.name not in model.TABLES:  # allow-list: the name becomes an identifier
        raise ValueError(table.name)
    return f"log_{table.name}"


def _ensure_store(con: duckdb.DuckDBPyConnection, table: model.Table) -> str:
    name = store_name(table)
    cols = ", ".join(f"{c.name} {c.type}" for c in table.columns)
    con.execute(f"CREATE TABLE IF NOT EXISTS {name} (source VARCHAR NOT NULL, _v BIGINT, {cols}, "
                "_aux MAP(VARCHAR, VARCHAR), _load_id BIGINT)")
    return name


class _Binder:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f"${name}"


def _value(cond: Cond, bind: _Binder) -> str:
    if cond.column:
        return f"CAST(v_{cond.column} AS VARCHAR)"
    return f"map_extract_value(_aux, {bind(cond.header)})"


def _test(cond: Cond, bind: _Binder, value: str | None = None) -> str:
    expr = f"list_contains({bind(list(cond.values))}, {value or _value(cond, bind)})"
    return f"coalesce(NOT {expr}, FALSE)" if cond.negate else f"coalesce({expr}, FALSE)"


def aggregate_sql(mapping: Any, table: model.Table, events: str, bind: _Binder) -> str:
    """SELECT one record per key from relation `events` (key columns, _v, v_<col>..., _aux, _ord)."""
    keys = ", ".join(f"v_{k}" for k in table.key)
    specs = {s.target: s for s in mapping.columns}
    items, outer, lists = [], [], []
    for col in table.columns:
        if col.name in table.key:
            continue
        spec = specs.get(col.name)
        v = f"v_{col.name}"
        if spec is None:
            items.append(f"CAST(NULL AS {col.type}) AS {v}")
            continue
        agg = spec.agg
        where = " AND ".join(_test(c, bind) for c in agg.where) or "TRUE"
        if agg.take == "count":
            items.append(f"CAST(count(*) FILTER (WHERE {where}) AS {col.type}) AS {v}")
        elif agg.take == "transitions":
            # The subject's non-empty values in order (list s_<col>); a transition is a value in
            # `from` followed by one outside it (or, with `to`, by one in `to`).
            assert agg.of is not None
            subject = _value(agg.of, bind)
            items.append(f"list({subject} ORDER BY _ord) FILTER (WHERE {where} AND {subject} IS NOT NULL) AS s_{col.name}")
            frm, seq = bind(list(agg.of.values)), f"coalesce(s_{col.name}, [])"
            nxt = (f"list_contains({bind(list(agg.to))}, {seq}[i + 1])" if agg.to is not None
                   else f"NOT list_contains({frm}, {seq}[i + 1])")
            outer.append(f"CAST(len(list_filter(range(1, len({seq})), lambda i: list_contains({frm}, {seq}[i]) "
                         f"AND {nxt})) AS {col.type}) AS {v}")
            lists.append(f"s_{col.name}")
        elif agg.take in ("min", "max"):
            items.append(f"{agg.take}({v}) FILTER (WHERE {where}) AS {v}")
        else:
            fn = "arg_min" if agg.take == "first" else "arg_max"
            items.append(f"{fn}({v}, _ord) FILTER (WHERE {v} IS NOT NULL AND {where}) AS {v}")
    inner = f"SELECT {keys}, {', '.join(items)}, max(_v) AS _v FROM {events} GROUP BY {keys}"
    if not lists:
        return inner
    return f"SELECT * EXCLUDE ({', '.join(lists)}), {', '.join(outer)} FROM ({inner})"


def fold_log(
    con: duckdb.DuckDBPyConnection,
    mapping: Any,
    table: model.Table,
    post_checks: list[tuple[Any, str]],
    n_checks: int,
    load_id: int,
    append_check: Callable[[duckdb.DuckDBPyConnection, Any, int], None],
    path: Any = None,
) -> str:
    """Create temp table `final` (one row per key the file touches, `_n` = the file's valid rows
    of it) from the stored events and the file's, and store the file's new events. Keys failing a
    rule that holds only after folding (`post_checks`) are left out, their rows quarantined."""
    store = _ensure_store(con, table)
    cols = [c.name for c in table.columns]
    vcols = ", ".join(f"v_{c}" for c in cols)
    keys = ", ".join(f"v_{k}" for k in table.key)
    bind = _Binder()
    headers = condition_headers(mapping)
    present = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw)").fetchall()]
    missing = [h for h in headers if h not in present]
    if missing:
        raise UserError(f"{path}: column(s) {missing} named in a `where` or `of` of mapping {mapping.source!r} are "
                        f"missing; the file has {[c for c in present if not c.startswith('_')]}. Fix the export, or "
                        f"the mapping ({mapping.path})")
    nulls = [m.strip() for m in mapping.null_values]
    aux = "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    if headers:
        texts = []
        for h in headers:
            t = f"trim(CAST(r.{_quote(h)} AS VARCHAR))"
            texts.append(f"CASE WHEN list_contains({bind(nulls)}, {t}) THEN NULL ELSE {t} END" if nulls else t)
        aux = f"MAP({bind(headers)}, [{', '.join(texts)}])"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE log_new AS
        SELECT s._rid, s._v, {', '.join(f's.v_{c}' for c in cols)}, {aux} AS _aux
        FROM staged s {'JOIN raw r ON r._rid = s._rid' if headers else ''}
        WHERE NOT s._bad AND s._rid NOT IN (SELECT _rid FROM failed)""", bind.params)
    bind = _Binder()  # the next statement's parameters
    src = bind(mapping.source)
    on = " AND ".join(f"e.{k} = n.v_{k}" for k in table.key)
    stored = (f"SELECT e._v, {', '.join(f'e.{c} AS v_{c}' for c in cols)}, e._aux FROM {store} e "
              f"WHERE e.source = {src} AND EXISTS (SELECT 1 FROM log_new n WHERE {on})")
    ranks = "".join(f"coalesce(list_position({bind(list(vals))}, CAST(v_{col} AS VARCHAR)), 0), "
                    for col, vals in mapping.tie_order)
    events = (f"(SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY _v NULLS FIRST, {ranks}"
              f"{', '.join(f'v_{c} NULLS FIRST' for c in cols)}, CAST(_aux AS VARCHAR) NULLS FIRST) AS _ord "
              f"FROM (SELECT DISTINCT * FROM ({stored} UNION ALL SELECT _v, {vcols}, _aux FROM log_new)))")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE final AS
        SELECT a.*, CAST(NULL AS BIGINT) AS _t, n._n, n._rids
        FROM ({aggregate_sql(mapping, table, events, bind)}) a
        JOIN (SELECT {keys}, count(*) AS _n, list(_rid) AS _rids FROM log_new GROUP BY {keys}) n
          USING ({keys})""", bind.params)
    # A record breaking a rule only its folded fields can break (created after resolved, a required
    # field still empty) is not written (a record stored before keeps its state), and the file's
    # rows of it are quarantined; its events are stored all the same, so that the rest of its log,
    # loaded later, derives it whole: a split load ends where the whole load does. (Withdrawing
    # the stored record instead would leave the metrics' derived tables, which are patched from
    # the rows loaded, not the rows removed, holding it.)
    for i, (check, cond) in enumerate(post_checks):
        idx = n_checks + 1 + i
        append_check(con, dataclasses.replace(check, message=check.message + KEPT_NOTE), idx)
        con.execute(f"INSERT INTO failed SELECT unnest(_rids), {idx} FROM final WHERE {cond}")
        con.execute(f"DELETE FROM final WHERE {cond}")
    # The file's new events; an event already stored is not stored twice.
    con.execute(f"""
        INSERT INTO {store} (source, _v, {', '.join(cols)}, _aux, _load_id)
        SELECT DISTINCT $src, _v, {vcols}, _aux, $load FROM log_new
        EXCEPT
        SELECT source, _v, {', '.join(cols)}, _aux, $load FROM {store} WHERE source = $src""",
                {"src": mapping.source, "load": load_id})
    con.execute("ALTER TABLE final DROP COLUMN _rids")
    con.execute("DROP TABLE log_new")
    return "final"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stored_events(con: duckdb.DuckDBPyConnection, table: str, source: str) -> int:
    """How many events of `source` the database holds for canonical `table` (0 if none yet)."""
    name = store_name(model.TABLES[table])
    exists = fetch_one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = $n", {"n": name})[0]
    if not exists:
        return 0
    return int(fetch_one(con, f"SELECT count(*) FROM {name} WHERE source = $s", {"s": source})[0])
