"""Cleaning a raw value in SQL before it is parsed: white space of every kind trimmed at both
ends, and Unicode NFKC for the values that are compared or parsed (docs/MAPPING.md, "Keys and
values"); and the date horizon past which a date is a typing slip (docs/MAPPING.md, "Dates")."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from aftersales import model
from pipelines.mapping import WHITESPACE, ColumnSpec

NFKC_FUNCTION = "aftersales_nfkc"
_WS_SQL = "'" + WHITESPACE + "'"  # our own constant (no quote in it), so written into the SQL
# Code points above ASCII that WHITESPACE holds (those at or below 32 are tested by range).
_WS_HIGH = sorted(ord(c) for c in WHITESPACE if ord(c) > 32)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """The SQL functions the staging query calls (once per connection)."""
    def nfkc(values: pa.Array) -> pa.Array:
        return pc.utf8_normalize(values, form="NFKC")

    found = con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = $n",
                        {"n": NFKC_FUNCTION}).fetchall()[0][0]
    if not found:
        # Created inside a transaction that is later rolled back, a function leaves the catalog
        # but stays registered (DuckDB then refuses to create it again): the loader registers
        # it before its first transaction.
        con.create_function(NFKC_FUNCTION, nfkc, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"), type="arrow")


def default_horizon(business_tz: str, future_days: int = 1) -> dt.datetime:
    """The first moment too late to be loaded: midnight after `future_days` days from today, in
    business time (default: anything after the end of tomorrow)."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(business_tz)).date()
    return dt.datetime.combine(today + dt.timedelta(days=future_days + 1), dt.time())


def normalised_column(col: model.Column, spec: ColumnSpec, table: model.Table) -> bool:
    """Whether a column's text is compared or parsed rather than kept as written: numbers, dates,
    flags, codes, keys, references and identifiers (`*_id`, `*_no`) are Unicode-NFKC normalised
    (full-width １２３ → 123); names, phone numbers and comments keep the characters the file has."""
    return (col.type.upper() != "VARCHAR" or bool(col.allowed) or bool(spec.values) or col.name in table.key
            or col.references is not None or col.name.endswith(("_id", "_no")))


def _high_ws(x: str) -> str:
    """Whether code point `x` (above 132) is one of WHITESPACE's."""
    return f"(({x} BETWEEN {_WS_HIGH[0]} AND 12288 AND list_contains({_WS_HIGH}, {x})) OR {x} = 65279)"


def trimmed(source: str, nfkc: bool = False) -> str:
    """Text of a raw column without white space of any kind at either end (docs/MAPPING.md, "Keys
    and values"), and NFKC-normalised with `nfkc`. trim() copies every string; most values have
    nothing to cut, so it runs only on those that start or end with white space, and the
    normalisation (a Python function) only on values that are not plain ASCII."""
    c = f"CAST(r.{quote_ident(source)} AS VARCHAR)"
    # The first and last characters' code points; both plain ASCII (33..132) is the usual case,
    # and the cheapest test (measured: about 50 ns a value, against 16 for spaces only).
    first, last = f"ord({c}[1])", f"ord({c}[-1])"
    edge = (f"least({first}, {last}) < 33 OR (greatest({first}, {last}) > 132 "
            f"AND ({_high_ws(first)} OR {_high_ws(last)}))")
    trimmed = f"CASE WHEN {edge} THEN trim({c}, {_WS_SQL}) ELSE {c} END"
    if not nfkc:
        return trimmed
    # Plain ASCII (the usual key, code, number or date) can only carry ASCII white space.
    return (f"CASE WHEN strlen({c}) <> length({c}) THEN trim({NFKC_FUNCTION}({c}), {_WS_SQL}) "
            f"WHEN least({first}, {last}) < 33 THEN trim({c}, {_WS_SQL}) ELSE {c} END")
