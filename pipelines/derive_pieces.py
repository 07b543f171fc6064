"""The pieces a derived table is rebuilt in, so that a rebuild's memory follows the budget, not
the data's size.

Each piece is a condition on the table's sort key with its values as bound parameters; the pieces
follow each other in that key's order, so appending them one after the other stores the rows
exactly as one whole ``ORDER BY`` would:

- ticket_facts (sorted by created quarter, outlet, created_at): whole quarters together while
  they fit, a quarter too large for one piece split at outlet boundaries (tickets without an
  outlet sort last, with the quarter's last piece);
- survey_facts, part_facts (sorted by responded_at, the visit's started_at): runs of whole days.

A piece's size is its row count; one outlet's quarter, or one day, is never split, so that is
the smallest piece there is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import duckdb

# Memory one ticket's row takes while its piece of ticket_facts is built (the joins, the sort and
# the output), with room to spare: ~1.5 KB per ticket measured at 1M tickets in pieces of 180k-350k
# (bench_rebuild.py, the process's baseline included), and the whole rebuild at 10M peaked the same.
ROW_BYTES = 2560
# Memory one repair ticket takes in the next-repair lookup run before the pieces (five narrow
# columns sorted by the ASOF join), with room to spare: ~340 bytes measured at 10M tickets (3.0M
# repair tickets, one pass, peak RSS 1.1 GB with the process's baseline).
NEXT_ROW_BYTES = 512
MIN_PIECE_ROWS = 10_000  # below this the per-statement overhead outweighs any memory saved

Piece = tuple[str, dict]  # (condition, its parameters); ("", {}) is the whole table

_UNIT = {"bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
         "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The session's DuckDB memory limit in bytes (DuckDB shows it as e.g. "6.7 GiB")."""
    text = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    m = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", str(text))
    if not m or m.group(2).lower() not in _UNIT:
        raise ValueError(f"DuckDB memory_limit {text!r} is not a size this module reads")
    return int(float(m.group(1)) * _UNIT[m.group(2).lower()])


def piece_rows(con: duckdb.DuckDBPyConnection) -> int:
    """How many rows one piece may have under the session's memory limit."""
    return max(MIN_PIECE_ROWS, memory_limit_bytes(con) // ROW_BYTES)


def next_passes(con: duckdb.DuckDBPyConnection) -> int:
    """How many passes (shares of the customer and model pairs) the next-repair lookup of a
    rebuild takes, so that each keeps to the session's memory limit."""
    n = con.execute("SELECT count(*) FROM tickets WHERE service_type = 'repair'").fetchall()[0][0]
    return max(1, -(-n * NEXT_ROW_BYTES // memory_limit_bytes(con)))


def ticket_range(con: duckdb.DuckDBPyConnection, cond: str, params: dict) -> dict:
    """The smallest and largest ticket_id of a ticket_facts piece (``cond`` on tickets ``t``), as
    the parameters ``tid_lo``/``tid_hi`` that bound its scans of the visits, parts and surveys."""
    lo, hi = con.execute(f"SELECT min(t.ticket_id), max(t.ticket_id) FROM tickets t WHERE {cond}", params).fetchall()[0]
    return {"tid_lo": lo, "tid_hi": hi}


def _next_quarter(q: dt.datetime) -> dt.datetime:
    month = q.month + 3
    return q.replace(year=q.year + (month > 12), month=month - 12 if month > 12 else month)


def ticket_pieces(con: duckdb.DuckDBPyConnection, rows: int) -> list[Piece]:
    """ticket_facts' pieces: conditions on tickets ``t``."""
    counts = con.execute("SELECT date_trunc('quarter', created_at) AS q, outlet_id, count(*) FROM tickets"
                         " GROUP BY ALL ORDER BY q NULLS LAST, outlet_id NULLS LAST").fetchall()
    by_quarter: dict[dt.datetime | None, list[tuple[str | None, int]]] = {}
    for q, outlet, n in counts:
        by_quarter.setdefault(q, []).append((outlet, n))
    if sum(n for _, _, n in counts) <= rows:
        return [("", {})]
    out: list[Piece] = []
    run: list[dt.datetime] = []  # consecutive whole quarters collected into one piece
    run_rows = 0

    def close_run() -> None:
        nonlocal run, run_rows
        if run:
            out.append(("t.created_at >= $lo AND t.created_at < $hi", {"lo": run[0], "hi": _next_quarter(run[-1])}))
        run, run_rows = [], 0

    for q, outlets in by_quarter.items():
        total = sum(n for _, n in outlets)
        if q is None:  # no creation time (a source that lets one through): they sort last
            close_run()
            out.append(("t.created_at IS NULL", {}))
        elif run_rows + total <= rows:
            run.append(q)
            run_rows += total
        elif total <= rows:
            close_run()
            run, run_rows = [q], total
        else:
            close_run()
            out.extend(_split_quarter(q, outlets, rows))
    close_run()
    return out


_NULLS = object()  # a cut before the tickets without an outlet (they sort after every outlet)


def _split_quarter(q: dt.datetime, outlets: list[tuple[str | None, int]], rows: int) -> list[Piece]:
    """One quarter cut at outlet boundaries into runs of at most ``rows`` tickets (an outlet
    larger than that, or the tickets without one, is a piece of its own)."""
    cuts: list = []  # each piece after the first starts at one of these outlets (or _NULLS)
    acc = 0
    for outlet, n in outlets:
        if acc and acc + n > rows:
            cuts.append(_NULLS if outlet is None else outlet)
            acc = 0
        acc += n
    span = "t.created_at >= $lo AND t.created_at < $hi"
    bounds = [None, *cuts, None]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        params = {"lo": q, "hi": _next_quarter(q)}
        if lo is _NULLS:
            out.append((f"{span} AND t.outlet_id IS NULL", params))
            continue
        cond = []
        if lo is not None:
            cond.append("t.outlet_id >= $olo")
            params["olo"] = lo
        if hi is _NULLS:
            cond.append("t.outlet_id IS NOT NULL")
        elif hi is not None:
            cond.append("t.outlet_id < $ohi")
            params["ohi"] = hi
        elif lo is not None:  # the quarter's last piece also takes the tickets without an outlet
            cond = ["(t.outlet_id >= $olo OR t.outlet_id IS NULL)"]
        out.append((" AND ".join([span, *cond]), params))
    return out


def _day_pieces(con: duckdb.DuckDBPyConnection, rows: int, count_sql: str, column: str) -> list[Piece]:
    """Runs of whole days of ``column`` (fixed text) with at most ``rows`` rows each (one day more
    than that is a piece of its own); ``count_sql`` gives (day, rows) in day order, NULL last."""
    counts = con.execute(count_sql).fetchall()
    if sum(n for _, n in counts) <= rows:
        return [("", {})]
    cuts: list[dt.date] = []
    acc = 0
    for day, n in counts:
        if acc and acc + n > rows and day is not None:
            cuts.append(day)
            acc = 0
        acc += n
    bounds = [None, *cuts, None]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if lo is None:
            out.append((f"{column} < $hi", {"hi": hi}))
        elif hi is None:  # NULL times sort last: they go with the last piece
            out.append((f"({column} >= $lo OR {column} IS NULL)", {"lo": lo}))
        else:
            out.append((f"{column} >= $lo AND {column} < $hi", {"lo": lo, "hi": hi}))
    return out


def survey_pieces(con: duckdb.DuckDBPyConnection, rows: int) -> list[Piece]:
    """survey_facts' pieces: conditions on surveys ``s``."""
    return _day_pieces(con, rows, "SELECT CAST(responded_at AS DATE) AS d, count(*) FROM surveys"
                                  " GROUP BY d ORDER BY d NULLS LAST", "s.responded_at")


def part_pieces(con: duckdb.DuckDBPyConnection, rows: int) -> list[Piece]:
    """part_facts' pieces: conditions on the parts' visits ``v``."""
    return _day_pieces(con, rows, "SELECT CAST(v.started_at AS DATE) AS d, count(*) FROM parts_used pu"
                                  " JOIN visits v ON v.visit_id = pu.visit_id GROUP BY d ORDER BY d NULLS LAST",
                       "v.started_at")


PIECES: dict[str, Callable[[duckdb.DuckDBPyConnection, int], list[Piece]]] = {
    "ticket_facts": ticket_pieces, "survey_facts": survey_pieces, "part_facts": part_pieces}
