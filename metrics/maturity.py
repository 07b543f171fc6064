"""Provisional numbers: which KPI × period is not yet final, when it will be, and how much of it is.

A number is final once the data reach its ``final_on`` date (the period's end plus its KPI's
maturity delay, ``registry.Maturity``). Until then its status is ``provisional`` (never met or
missed) and its completeness says how much of it is settled. "The data reach" is the observed
horizon: the end of the last day with data loaded (``data_horizon``), or the caller's explicit
as-of; never the wall clock, so a sample ending months ago behaves as it did on its last day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from metrics import registry as R
from metrics.registry import KpiDef

# The latest timestamp loaded: tickets' own times, survey responses and visits (fixed SQL). A loader
# quarantines dates past tomorrow, so a typing slip cannot push the horizon into the future.
HORIZON_SQL = ("SELECT greatest((SELECT greatest(max(created_at), max(resolved_at), max(closed_at)) FROM tickets), "
               "(SELECT max(responded_at) FROM surveys), (SELECT max(started_at) FROM visits))")


def data_horizon(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """Where the data end: midnight after the day of the latest timestamp loaded (None for an empty
    database). Exports are taken by the day, and a day's last record seldom falls at 23:59:59: the
    day of the latest record counts as observed whole (a sample ending on 2026-10-31 has October
    over, not 99.999% of it)."""
    value = con.execute(HORIZON_SQL).fetchall()[0][0]
    if value is None:
        return None
    day = value.date() if isinstance(value, dt.datetime) else value
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def as_horizon(as_of: dt.datetime | dt.date) -> dt.datetime:
    """An explicit as-of as a horizon: a time as it is; a date means the data through that day."""
    if isinstance(as_of, dt.datetime):
        return as_of
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def measured_lag(con: duckdb.DuckDBPyConnection, lag: str, horizon: dt.datetime) -> int:
    """A lag of ``registry.LAGS`` in whole days: its 95th percentile over the data's last
    ``LAG_SPAN_DAYS``, rounded up, at most ``LAG_CAP_DAYS``; 0 where nothing measures it.
    Remembered per database file version and horizon (the survey join is ~0.5 s at 2M tickets)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    file = Path(path[0][0]) if path and path[0][0] else None
    if file is None or not file.exists():  # in memory: small, measured each time
        return _measure(con, lag, horizon)
    key = (str(file.resolve()), file.stat().st_mtime_ns, horizon, lag)
    if key not in _LAG_CACHE:
        while len(_LAG_CACHE) >= _LAG_CACHE_SIZE:
            _LAG_CACHE.pop(next(iter(_LAG_CACHE)))
        from metrics import rollup  # measured by the last load for the data's own horizon

        stored = rollup.stored_lag(con, lag, horizon)
        _LAG_CACHE[key] = stored if stored is not None else _measure(con, lag, horizon)
    return _LAG_CACHE[key]


_LAG_CACHE: dict[tuple, int] = {}
_LAG_CACHE_SIZE = 64


def _measure(con: duckdb.DuckDBPyConnection, lag: str, horizon: dt.datetime) -> int:
    since = horizon - dt.timedelta(days=R.LAG_SPAN_DAYS)
    params = {"since": since}
    if "$since_cap" in R.LAGS[lag]:
        params["since_cap"] = since - dt.timedelta(days=R.LAG_CAP_DAYS)
    value = con.execute(R.LAGS[lag], params).fetchall()[0][0]
    if value is None or not math.isfinite(value) or value <= 0:
        return 0
    return min(R.LAG_CAP_DAYS, math.ceil(value))


def delays(con: duckdb.DuckDBPyConnection, kpis: Sequence[KpiDef], horizon: dt.datetime) -> dict[str, int]:
    """Each KPI's delay after a period's end, in days, before its number is final (lags measured once)."""
    measured: dict[str, int] = {}
    out = {}
    for k in kpis:
        m = k.maturity
        lag = 0
        if m.lag is not None:
            if m.lag not in measured:
                measured[m.lag] = measured_lag(con, m.lag, horizon)
            lag = measured[m.lag]
        out[k.id] = m.days + lag
    return out


def matured_before(kpi_delays: dict[str, int], horizon: dt.datetime, scan_end: dt.datetime) -> dict[str, dt.datetime]:
    """For KPIs with a delay whose scan reaches a period not yet final: records dated before
    ``horizon − delay`` have had their whole window observed."""
    out = {}
    for kpi_id, days in kpi_delays.items():
        if days > 0 and scan_end + dt.timedelta(days=days) > horizon:
            out[kpi_id] = horizon - dt.timedelta(days=days)
    return out


def apply(df: pl.DataFrame, horizon: dt.datetime | None, kpi_delays: dict[str, int]) -> pl.DataFrame:
    """Adds ``final_on`` (the date from which the number is final, set only while it is not) and
    ``_provisional``; scales ``completeness`` by the share of the number that is settled: records
    whose own window has closed (``matured`` ÷ records) times the share of the period observed."""
    # no delays: the plan found every period final (an empty mapping also trips polars, which
    # folds the replace to a one-row literal that does not broadcast)
    if horizon is None or df.is_empty() or not kpi_delays:
        return df.with_columns(final_on=pl.lit(None, pl.Date), _provisional=pl.lit(False))
    delay = pl.col("kpi").replace_strict(kpi_delays, default=0, return_dtype=pl.Int64)
    final = pl.col("period_end") + pl.duration(days=delay)
    pending = pl.lit(horizon) < final.cast(pl.Datetime("us"))
    start = pl.col("period_start").cast(pl.Datetime("us"))
    end = pl.col("period_end").cast(pl.Datetime("us"))
    observed = ((pl.lit(horizon) - start).dt.total_seconds() / (end - start).dt.total_seconds()).clip(0.0, 1.0)
    settled = pl.lit(1.0)
    if "matured" in df.columns:
        settled = pl.when(pl.col("matured").is_not_null() & (pl.col("n_records") > 0)) \
            .then((pl.col("matured") / pl.col("n_records")).clip(0.0, 1.0)).otherwise(1.0)
    return df.with_columns(
        final_on=pl.when(pending).then(final),
        _provisional=pending,
        completeness=pl.when(pending).then(pl.col("completeness") * settled * observed)
        .otherwise(pl.col("completeness")),
    )
