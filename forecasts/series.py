"""Reading what the forecasts need: series in long format (``unique_id, ds, y``) from the
database or from a planner's file, and the master data staffing and reorder policies use.

Workload series ids are ``{region}/{service_type}``, ``{region}/all`` and ``all/all``;
tickets not yet dispatched to an outlet have no region and count under ``unassigned``.
Part series ids are part numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from aftersales.errors import UserError

TOTAL = "all/all"
UNASSIGNED = "unassigned"
SCHEMA = {"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64}


def split_id(unique_id: str) -> tuple[str, str]:
    """``'east/repair'`` -> ``('east', 'repair')``; ids without a slash -> ``(id, 'all')``."""
    region, _, service = unique_id.partition("/")
    return region, service or "all"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):  # noqa: ANN202
    rows = con.sql(sql, params=params).fetchall()
    return rows[0][0] if rows else None


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(_scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = $n", {"n": name}))


def data_cutoff(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The last day with tickets: the forecasts' data cut-off."""
    day = _scalar(con, "SELECT max(created_at)::DATE FROM tickets")
    if day is None:
        raise UserError("the tickets table is empty: load tickets (`aftersales load`) before forecasting")
    return day


def workload_series(con: duckdb.DuckDBPyConnection, levels: list[str] | tuple[str, ...] = ("region_service", "region", "total"),
                    cutoff: dt.date | None = None) -> pl.DataFrame:
    """Daily ticket arrivals (by creation day) per series, zero-filled from the first ticket day
    to ``cutoff`` (default: the last ticket day). ``levels`` picks region × service type,
    region totals and the grand total."""
    cutoff = cutoff or data_cutoff(con)
    daily = con.sql(
        """
        SELECT created_at::DATE AS ds, coalesce(o.region, $unassigned) AS region, t.service_type,
               count(*)::DOUBLE AS y
        FROM tickets t LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
        WHERE t.created_at IS NOT NULL AND t.created_at::DATE <= $cutoff
        GROUP BY ALL
        """, params={"cutoff": cutoff, "unassigned": UNASSIGNED}).pl()
    if daily.is_empty():
        raise UserError(f"no tickets created on or before {cutoff}: nothing to forecast")
    parts = []
    if "region_service" in levels:
        parts.append(daily.select(pl.concat_str("region", pl.lit("/"), "service_type").alias("unique_id"), "ds", "y"))
    if "region" in levels:
        parts.append(daily.group_by("region", "ds").agg(pl.col("y").sum())
                     .select(pl.concat_str("region", pl.lit("/all")).alias("unique_id"), "ds", "y"))
    if "total" in levels:
        parts.append(daily.group_by("ds").agg(pl.col("y").sum()).select(pl.lit(TOTAL).alias("unique_id"), "ds", "y"))
    if not parts:
        raise UserError(f"forecast.series = {list(levels)} names no known level; use region_service, region, total")
    long = pl.concat(parts).group_by("unique_id", "ds").agg(pl.col("y").sum())
    return fill_daily(long, end=cutoff)


def fill_daily(long: pl.DataFrame, start: dt.date | None = None, end: dt.date | None = None) -> pl.DataFrame:
    """Every series on every day from its own first day (or from ``start`` where that is later)
    to ``end`` (default: the frame's last day), missing days 0. A series is never padded back
    before its own first day: a region opened last year has no years of zeros."""
    end = end or long["ds"].max()
    firsts = long.group_by("unique_id").agg(pl.col("ds").min().alias("first"))
    if start is not None:
        firsts = firsts.with_columns(pl.max_horizontal("first", pl.lit(start)).alias("first"))
    grid = firsts.with_columns(pl.date_ranges("first", pl.lit(end), "1d").alias("ds")).explode("ds").drop("first")
    return (grid.join(long, on=["unique_id", "ds"], how="left")
            .with_columns(pl.col("y").fill_null(0.0)).sort("unique_id", "ds").cast(SCHEMA))


def part_series(con: duckdb.DuckDBPyConnection, cutoff: dt.date | None = None) -> pl.DataFrame:
    """Weekly quantity used per part (weeks start on Monday; ``ds`` is the Monday), complete
    weeks only, zero-filled from the part's first week of use."""
    if cutoff is None:
        cutoff = _scalar(con, "SELECT max(started_at)::DATE FROM visits")
    if cutoff is None:
        raise UserError("the visits table is empty: parts demand comes from visits and parts_used; load them first")
    last_week = cutoff - dt.timedelta(days=(cutoff.weekday() + 1) % 7)  # the last Sunday on or before
    last_monday = last_week - dt.timedelta(days=6)
    weekly = con.sql(
        """
        SELECT p.part_no AS unique_id, date_trunc('week', v.started_at)::DATE AS ds, sum(p.quantity)::DOUBLE AS y
        FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id
        WHERE v.started_at::DATE <= $last AND p.part_no IS NOT NULL
        GROUP BY ALL
        """, params={"last": last_week}).pl()
    if weekly.is_empty():
        raise UserError("no parts were used in complete weeks up to the cut-off: nothing to forecast")
    return fill_weekly(weekly, end=last_monday)


def fill_weekly(long: pl.DataFrame, end: dt.date | None = None) -> pl.DataFrame:
    """Each series on every week from its own first week to ``end`` (default: the last week
    in the frame), missing weeks 0."""
    end = end or long["ds"].max()
    firsts = long.group_by("unique_id").agg(pl.col("ds").min().alias("first"))
    grid = firsts.with_columns(pl.date_ranges("first", pl.lit(end), "1w").alias("ds")).explode("ds").drop("first")
    return (grid.join(long, on=["unique_id", "ds"], how="left")
            .with_columns(pl.col("y").fill_null(0.0)).sort("unique_id", "ds").cast(SCHEMA))


def parts_master(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``part_no, part_name, lead_time_days, on_hand, as_of, unit_cost`` (empty without the optional table)."""
    cols = {"part_no": pl.String, "part_name": pl.String, "lead_time_days": pl.Int64, "on_hand": pl.Int64,
            "as_of": pl.Date, "unit_cost": pl.Float64}
    if not _table_exists(con, "parts_inventory"):
        return pl.DataFrame(schema=cols)
    return con.sql("SELECT part_no, part_name, lead_time_days::BIGINT AS lead_time_days, on_hand::BIGINT AS on_hand, "
                       "as_of, unit_cost::DOUBLE AS unit_cost FROM parts_inventory").pl().cast(cols)


def parts_used_since(con: duckdb.DuckDBPyConnection, since: dt.date) -> pl.DataFrame:
    """Quantity used per part and day from ``since`` on (to bring a stock count forward)."""
    return con.sql(
        """
        SELECT p.part_no, v.started_at::DATE AS day, sum(p.quantity)::DOUBLE AS qty
        FROM parts_used p JOIN visits v ON v.visit_id = p.visit_id
        WHERE v.started_at::DATE >= $since GROUP BY ALL
        """, params={"since": since}).pl()


def visit_stats(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per service type, over finished tickets (open ones may not have had their visits yet):
    ``tickets``, ``visited_tickets`` (with at least one visit), ``visits``, mean on-site
    ``work_hours`` per visit (ended − started; visits over 24 h are ignored as data errors) and
    mean ``travel_hours`` per visit (null where no visit records travel)."""
    return con.sql(
        """
        WITH done AS (
            SELECT ticket_id, service_type FROM tickets
            WHERE status NOT IN ('open', 'dispatched', 'in_progress')
        ), v AS (
            SELECT d.service_type, v.ticket_id,
                   CASE WHEN v.ended_at > v.started_at AND date_diff('minute', v.started_at, v.ended_at) <= 1440
                        THEN date_diff('minute', v.started_at, v.ended_at) / 60.0 END AS work_hours,
                   v.travel_minutes / 60.0 AS travel_hours
            FROM visits v JOIN done d ON d.ticket_id = v.ticket_id
        ), vs AS (
            SELECT service_type, count(*) AS visits, count(DISTINCT ticket_id) AS visited_tickets,
                   avg(work_hours) AS work_hours, avg(travel_hours) AS travel_hours
            FROM v GROUP BY service_type
        ), ts AS (
            SELECT service_type, count(*) AS tickets FROM done GROUP BY service_type
        )
        SELECT ts.service_type, ts.tickets::BIGINT AS tickets,
               coalesce(vs.visited_tickets, 0)::BIGINT AS visited_tickets, coalesce(vs.visits, 0)::BIGINT AS visits,
               vs.work_hours::DOUBLE AS work_hours, vs.travel_hours::DOUBLE AS travel_hours
        FROM ts LEFT JOIN vs ON vs.service_type = ts.service_type
        ORDER BY ts.service_type
        """).pl()


def technicians_by_region(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Active technicians per region (``active`` empty counts as active)."""
    if not _table_exists(con, "technicians"):
        return pl.DataFrame(schema={"region": pl.String, "technicians": pl.Int64})
    return con.sql(
        """
        SELECT coalesce(o.region, 'unassigned') AS region, count(*)::BIGINT AS technicians
        FROM technicians t LEFT JOIN outlets o ON o.outlet_id = t.outlet_id
        WHERE coalesce(t.active, TRUE) GROUP BY ALL ORDER BY region
        """).pl()


def read_series_file(path: str | Path) -> pl.DataFrame:
    """A planner's own series file (``unique_id, ds, y``), checked by ``forecasts.inputs``:
    the rows with a value, sorted. ``inputs.prepare`` also detects the frequency and screens
    the series; use it to forecast a file."""
    from forecasts import inputs

    frame, _ = inputs.read_file(path)
    return frame.filter(pl.col("y").is_not_null()).select("unique_id", "ds", "y").sort("unique_id", "ds").cast(SCHEMA)
