"""The one place the dashboard meets the database: every number comes through here, from
``metrics``, ``forecasts`` and ``pipelines.status`` (no SQL of its own), cached.

Data scope. Every read that returns tickets or numbers made from them takes, second, ``scope``:
the signed-in user's ``aftersales.principal.DataScope`` (no default; pages pass
``state.Scope.data_scope``, the warmer the whole company's ``DataScope()``). It goes down to
``metrics``/``forecasts.store``, which AND it with the filters in SQL, and it is part of every
cache key, in memory and on disk, so a result computed for one scope is never served to another.
The shortcuts below (a one-value filter answered from its breakdown; the open and breaching lists
filtered in memory) start from a result read inside the same scope.

Caching. Every cached function takes small hashable arguments and, first, ``ver``: the live
database file's identity (inode, mtime, size) and the config file's mtime. A load publishes a
new file by renaming it over the live one (``aftersales.db.writer``), so a new load (or a stored
forecast run) changes ``ver`` and every page recomputes on its next run; old entries age out
by ``ttl``/``max_entries``. Reading ``ver`` is one ``stat`` call: no database open per rerun.
The costly results (KPIs, rankings, records, distributions, the breaching list, stored forecast
tables) are also kept on disk per ``ver`` (``dashboard.persist``), so a server restarted over the
same data starts warm; a new load is a new ``ver`` and computes.

Snapshots. A query opens the live file read-only through its own file descriptor
(``/proc/self/fd/N``): DuckDB caches open databases by path, so a plain second open of the same
path while another session still holds the old file would silently return the *old* data after
a load, and would then be cached under the new ``ver``. Opening by descriptor pins exactly the
file that was live at open time, so numbers are never half old and half new, and a load never
meets a lock (readers never touch the file the writer works on).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import datetime as dt
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

import metrics
from aftersales import config as cfg
from aftersales.db import DatabaseMissing
from aftersales.principal import DataScope
from dashboard import persist
from metrics import complaints as complaint_metrics
from metrics import periods
from metrics import registry as R
from pipelines import status

TTL = dt.timedelta(hours=1)
MAX_ENTRIES = 256
_PROC_FD = Path("/proc/self/fd").is_dir()

Where = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Settings:
    db: Path
    config_path: str | None
    config: dict[str, Any]

    @property
    def language(self) -> str:
        lang = str(self.config.get("language") or "zh")
        return lang if lang in ("zh", "en") else "zh"


@functools.lru_cache(maxsize=16)
def _paths(argv: tuple[str, ...], env_db: str | None, env_config: str | None) -> tuple[Path, str | None, Path]:
    """(database, explicit config file or None, the config file that applies if it exists)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db")
    p.add_argument("--config")
    args = p.parse_known_args(list(argv))[0]
    db = cfg.resolve_db_path(args.db or env_db)
    explicit = args.config or env_config or None
    return db, explicit, Path(explicit) if explicit else db.with_name("aftersales.toml")


def _config_mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=16)
def _settings(db: Path, config_path: str | None, config_mtime: int) -> Settings:
    return Settings(db, config_path, cfg.load_config(config_path, db))


def _current() -> tuple[Path, str | None, Path]:
    return _paths(tuple(sys.argv[1:]), os.environ.get("AFTERSALES_DB"), os.environ.get("AFTERSALES_CONFIG"))


def settings() -> Settings:
    """The database and configuration: ``-- --db PATH --config FILE`` after the script (as
    ``aftersales dashboard`` passes them), else ``AFTERSALES_DB``/``AFTERSALES_CONFIG``, else the
    defaults. Cheap: re-read only when the arguments, environment or config file change."""
    db, explicit, config_file = _current()
    return _settings(db, explicit, _config_mtime(config_file))


def version() -> str:
    """Cache key for the data and configuration as they are now (see the module docstring):
    the database file's identity and the config file's mtime; 'missing' if no database."""
    db, _, config_file = _current()
    try:
        st_ = os.stat(db)
    except FileNotFoundError:
        return "missing"
    return f"{st_.st_ino}:{st_.st_mtime_ns}:{st_.st_size}:{_config_mtime(config_file)}"


@contextlib.contextmanager
def pinned_path() -> Iterator[str]:
    """A path naming exactly the database file live at this moment (see the module docstring),
    for readers that open their own connection (``forecasts.store``)."""
    db = settings().db
    if not db.exists():
        raise DatabaseMissing(f"database {db} does not exist yet: run `aftersales load PATH` first")
    if not _PROC_FD:
        yield str(db)
        return
    fd = os.open(db, os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{fd}"  # the caller closes its connections before we close the fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def snapshot() -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the database file live at this moment."""
    with pinned_path() as path:
        con = duckdb.connect(path, read_only=True)
        try:
            yield con
        finally:
            con.close()  # before the descriptor: its path must not be reused while DuckDB holds it


def together(*calls: tuple[Callable[..., Any], ...]) -> list[Any]:
    """Run independent reads at once: each ``(fn, *args)`` in its own thread (the first in this
    one), results in order. DuckDB releases the GIL while a query runs, and a page's reads are
    mostly small queries whose planning, connection and single-threaded tails would otherwise
    queue behind one another (Overview with two filters: 0.8 -> 0.45 s for its four queries).
    The cached functions keep their per-key lock, so a read the warmer or another session is
    already computing is waited for, not repeated. The first exception is raised (after all
    have finished)."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        fn, *args = calls[i]
        try:
            results[i] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            errors[i] = exc

    # each thread runs in a copy of the caller's context (``computing_breakdowns`` holds in it)
    threads = [add_script_run_ctx(threading.Thread(target=contextvars.copy_context().run, args=(run, i),
                                                   name="dashboard-read", daemon=True))
               for i in range(1, len(calls))]
    for t in threads:
        t.start()
    if calls:
        run(0)
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


def _kept(ver: str, name: str, args: tuple, compute: Callable[[], Any]) -> Any:
    """A result also kept on disk for this database version (``dashboard.persist``): a server
    restarted over the same data reads it back instead of computing it."""
    return persist.remember(settings().db, ver, name, args, compute)


def where_tuple(where: dict[str, list[str]]) -> Where:
    return tuple(sorted((k, tuple(v)) for k, v in where.items() if v))


def unsupported_dims(kpi: str, where: Where, by: tuple[str, ...] = (), scope: DataScope | None = None) -> list[str]:
    """Filters/breakdowns the KPI cannot take (e.g. complaints per 1,000 orders by region), the
    data scope's breakdowns included (a regional manager's scope is a filter by region)."""
    allowed = R.KPIS[kpi].allowed_dims()
    scoped = [k for k, _ in scope.where() if k not in by and k not in dict(where)] if scope is not None else []
    return [d for d in [*by, *(k for k, _ in where), *scoped] if d not in allowed]


def _fits(kpis: tuple[str, ...], where: Where, by: tuple[str, ...], scope: DataScope) -> list[str]:
    return [k for k in kpis if not unsupported_dims(k, where, by, scope)]


def in_scope(scope: DataScope, dim: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """The values of a filter (a URL parameter, a stale selection) inside the data scope; a
    breakdown the scope does not restrict keeps them all."""
    allowed = dict(scope.where()).get(dim)
    return values if allowed is None else tuple(v for v in values if v in allowed)


# -- metrics ----------------------------------------------------------------------------------
# A filter on one value of a breakdown (region = east) is answered from the breakdown by that
# dimension (every region at once), cached: the rows for east are exactly what the filtered
# query returns (same records, same measures, the previous and last-year values joined per
# region), and every other region is then a cache hit. Several values (east or north) need
# their records re-aggregated, so those go to metrics as a filter.
# Only once the breakdown is computed (the warmer computes them all after the default views):
# until then the filtered query is far cheaper than the breakdown it would wait for (the SLA
# page's KPIs at 10M: 0.6 s CPU for one region against 2.3 s by region; 0.7 against 2.2 s for
# one channel), so a filter changed before the warmer got there answers with it.
# Only when it is the sole filter: that breakdown is what the warmer computed. With a second
# filter (channel = Tmall and region = east) nothing is cached either way, and the breakdown by
# region of every Tmall ticket costs 2.5x the query filtered by both (Overview's headline at
# 10M: 1.2 s against 0.45 s).
# (Not outlets: ticket_facts is sorted by quarter and outlet, so metrics reads only that outlet's
# row groups for a one-outlet filter.)
DERIVE_ORDER = ("region", "outlet_type", "channel", "service_type", "product_category")


_WARMING = contextvars.ContextVar("dashboard_computing_breakdowns", default=False)
# version -> keys of the breakdowns computed in this process ({(name, args)}), latest versions only
_COMPUTED: dict[str, set[tuple]] = {}


@contextlib.contextmanager
def computing_breakdowns() -> Iterator[None]:
    """One-value filters read in this block are answered from their breakdowns, computing them
    when needed (the cache warmer's last passes)."""
    token = _WARMING.set(True)
    try:
        yield
    finally:
        _WARMING.reset(token)


def _computed(ver: str, name: str, args: tuple) -> None:
    if ver not in _COMPUTED:
        for old in list(_COMPUTED)[:-3]:  # a few versions may be served at once around a load
            del _COMPUTED[old]
        _COMPUTED[ver] = set()
    _COMPUTED[ver].add((name, args))


def _breakdown_ready(ver: str, name: str, args: tuple) -> bool:
    """Answer a one-value filter from this breakdown: it was computed (in memory or on disk) or
    the warmer is computing the breakdowns."""
    return (_WARMING.get() or (name, args) in _COMPUTED.get(ver, ())
            or persist.kept(settings().db, ver, name, args))


def _split(where: Where) -> tuple[str, str, Where] | None:
    if len(where) != 1:
        return None
    dim, values = where[0]
    if dim not in DERIVE_ORDER or len(values) != 1:
        return None
    return dim, values[0], ()


def _pick(df: pl.DataFrame, dim: str, value: str, keep: bool) -> pl.DataFrame:
    if df.is_empty() or dim not in df.columns:
        return df
    df = df.filter(pl.col(dim) == value)
    return df if keep else df.drop(dim)


def _with(by: tuple[str, ...], dim: str) -> tuple[str, ...]:
    return by if dim in by else (*by, dim)


def kpis(ver: str, scope: DataScope, kpi_ids: tuple[str, ...], grain: str | None, start: dt.date, end: dt.date,
         where: Where,
         by: tuple[str, ...] = (), compare: bool | str = True) -> pl.DataFrame:
    """``metrics.query`` for the KPIs that fit the filters (the others are left out: ask
    ``unsupported_dims`` why). Empty frame when none fit. ``compare`` as ``metrics.query``'s
    ("last": cards showing the last period's changes over a trend of values)."""
    split = _split(where)
    if split is not None and _fits(kpi_ids, where, by, scope):
        dim, value, rest = split
        args = (scope, kpi_ids, grain, start, end, rest, _with(by, dim), compare)  # _kpis' own key
        if _breakdown_ready(ver, "kpis", args):
            return _pick(_kpis(ver, *args), dim, value, dim in by)
    return _kpis(ver, scope, kpi_ids, grain, start, end, where, by, compare)


def card_kpis(ver: str, scope: DataScope, kpi_ids: tuple[str, ...], grain: str | None, start: dt.date, end: dt.date,
              where: Where) -> pl.DataFrame:
    """``kpis`` for cards over a trend: every period's value and the last period's 环比/同比, with
    ``compare="last"`` (a year of months scans 13 months instead of 24: the SLA page's KPIs at
    10M 2.2 -> 1.3 s CPU, Overview's 2.1 -> 1.1 s). Should no KPI have a value in the last
    period asked (a filter with no records then), the last one shown lies before it and its
    comparisons were not scanned: then every comparison is computed."""
    df = kpis(ver, scope, kpi_ids, grain, start, end, where, (), "last")
    if grain is not None and not df.is_empty() and df["period_start"].max() < periods.trunc(end, grain):
        return kpis(ver, scope, kpi_ids, grain, start, end, where)
    return df


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _kpis(ver: str, scope: DataScope, kpi_ids: tuple[str, ...], grain: str | None, start: dt.date, end: dt.date,
          where: Where,
          by: tuple[str, ...] = (), compare: bool | str = True) -> pl.DataFrame:
    fit = _fits(kpi_ids, where, by, scope)
    if "complaints_per_1k_orders" in fit and not has_orders(ver):
        fit.remove("complaints_per_1k_orders")
    if not fit:
        return pl.DataFrame()

    def compute() -> pl.DataFrame:
        with snapshot() as con:
            return metrics.query(con, metrics=fit, by=list(by), grain=grain, start=start, end=end,
                                 where={k: list(v) for k, v in where}, config=settings().config, compare=compare,
                                 scope=scope)

    # keyed by what was asked: which of those fit is decided by the version, scope and filters
    key = (scope, kpi_ids, grain, start, end, where, by, compare)
    out = _kept(ver, "kpis", key, compute)
    _computed(ver, "kpis", key)
    return out


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def rank(ver: str, scope: DataScope, kpi: str, level: str, start: dt.date, end: dt.date, where: Where) -> pl.DataFrame:
    if unsupported_dims(kpi, where, (level,), scope):
        return pl.DataFrame()

    def compute() -> pl.DataFrame:
        with snapshot() as con:
            return metrics.rank(con, kpi, level=level, start=start, end=end, where=dict_where(where),
                                config=settings().config, scope=scope)

    return _kept(ver, "rank", (scope, kpi, level, start, end, where), compute)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def records(ver: str, scope: DataScope, kpi: str, start: dt.date, end: dt.date, where: Where,
            period_start: dt.date | None = None,
            grain: str | None = None, only: str | None = None, limit: int | None = 1000) -> pl.DataFrame:
    """The records behind a value (personal data masked by ``metrics``): one period of a grain,
    or the whole [start, end] when ``period_start`` is None."""
    if unsupported_dims(kpi, where, (), scope):
        return pl.DataFrame()

    def compute() -> pl.DataFrame:
        with snapshot() as con:
            if period_start is not None:
                return metrics.records(con, kpi, period_start=period_start, grain=grain, where=dict_where(where),
                                       config=settings().config, limit=limit, only=only, scope=scope)
            return metrics.records(con, kpi, grain=None, start=start, end=end, where=dict_where(where),
                                   config=settings().config, limit=limit, only=only, scope=scope)

    return _kept(ver, "records", (scope, kpi, start, end, where, period_start, grain, only, limit), compute)


def distribution(ver: str, scope: DataScope, kind: str, start: dt.date, end: dt.date, where: Where,
                 grain: str | None = None,
                 by: tuple[str, ...] = ()) -> pl.DataFrame:
    """``metrics.distribution``; one-value filters answered from the breakdown once it is
    computed (see ``kpis``)."""
    split = _split(where)
    if split is not None and not unsupported_dims(metrics.DISTRIBUTIONS[kind][0], where, by, scope):
        dim, value, rest = split
        args = (scope, kind, start, end, rest, grain, _with(by, dim))  # _distribution's own key
        if _breakdown_ready(ver, "distribution", args):
            return _pick(_distribution(ver, *args), dim, value, dim in by)
    return _distribution(ver, scope, kind, start, end, where, grain, by)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def _distribution(ver: str, scope: DataScope, kind: str, start: dt.date, end: dt.date, where: Where,
                  grain: str | None = None,
                  by: tuple[str, ...] = ()) -> pl.DataFrame:
    kpi = metrics.DISTRIBUTIONS[kind][0]
    if unsupported_dims(kpi, where, by, scope):
        return pl.DataFrame()

    def compute() -> pl.DataFrame:
        with snapshot() as con:
            return metrics.distribution(con, kind, grain=grain, start=start, end=end, where=dict_where(where),
                                        by=list(by), config=settings().config, scope=scope)

    key = (scope, kind, start, end, where, grain, by)
    out = _kept(ver, "distribution", key, compute)
    _computed(ver, "distribution", key)
    return out


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def dimension_values(ver: str, scope: DataScope, dim: str) -> pl.DataFrame:
    """The values a filter offers: inside ``scope`` only (``metrics.dimension_values``)."""
    with snapshot() as con:
        return metrics.dimension_values(con, dim, scope=scope)


def dict_where(where: Where) -> dict[str, list[str]]:
    return {k: list(v) for k, v in where}


def complaint_reasons(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where) -> pl.DataFrame:
    """Complaints by reason: ``complaint_reason``, ``count`` (complaints with that reason; null =
    no reason recorded), ``share`` of all complaints, ``rate`` = count ÷ every ticket created.

    From the complaint rate broken down by reason: its numerator per reason is the count (its
    denominator, tickets carrying that reason, is not a useful base, so the rate is taken over
    the sum of the denominators: every ticket created)."""
    df = kpis(ver, scope, ("complaint_rate",), None, start, end, where, ("complaint_reason",))
    if df.is_empty():
        return df
    total = df["denominator"].sum()
    out = df.filter(pl.col("numerator") > 0).select(
        "complaint_reason", count=pl.col("numerator").cast(pl.Int64),
        share=pl.col("numerator") / pl.col("numerator").sum(), rate=pl.col("numerator") / total)
    return out.sort("count", descending=True)


# Every open ticket (as of the data's latest time) is one small list (about 22,000 tickets at
# 10M) and every global filter is a test on its own columns or on its outlet's or product's
# master data, so one query for all of them answers every filter exactly (a filtered metrics
# query takes about 2 s at 10M: it scans the tickets again).
OPEN_COLUMNS = {"channel": "channel", "service_type": "service_type", "outlet": "outlet_id"}


def open_tickets(ver: str, scope: DataScope, where: Where) -> pl.DataFrame:
    """The backlog's records at the data's latest time (every open ticket, personal data
    masked), filtered: the tickets ``metrics.records`` gives for the backlog with ``where``."""
    rng = data_range(ver)
    if rng is None or unsupported_dims("backlog", where, (), scope):
        return pl.DataFrame()
    day = rng[2].date()
    if not _filters_in_memory(where):
        return records(ver, scope, "backlog", day, day, where, None, None, None, None)
    # the whole list read inside the scope; the filters only narrow it further
    return _filter_tickets(records(ver, scope, "backlog", day, day, (), None, None, None, None), ver, where)


def _filters_in_memory(where: Where) -> bool:
    return all(dim in OPEN_COLUMNS or dim in status.MASTER_ATTRIBUTES for dim, _ in where)


def _filter_tickets(df: pl.DataFrame, ver: str, where: Where) -> pl.DataFrame:
    """Rows of ticket lists (open tickets, breaching tickets) kept by ``where``, using the ticket's
    own columns or its outlet's and product's master data (order kept)."""
    for dim, values in where:
        if dim in OPEN_COLUMNS:
            df = df.filter(pl.col(OPEN_COLUMNS[dim]).is_in(list(values)))
        else:
            key = status.MASTER_ATTRIBUTES[dim][1]
            attr = master_attribute(ver, dim)
            df = df.filter(pl.col(key).is_in(attr.filter(pl.col(dim).is_in(list(values)))[key].implode()))
    return df


def breaching(ver: str, scope: DataScope, where: Where) -> pl.DataFrame:
    """``metrics.breaching``: open tickets past their first-response, on-site or resolution limit
    as of the data's latest time, one row per ticket and stage, most overdue first (all of them:
    the page counts them). The whole list is read once per database version and filtered in
    memory like ``open_tickets`` (a filter change then costs no query: ~1.2 s at 10M tickets)."""
    if data_range(ver) is None or unsupported_dims("backlog", where, (), scope):
        return pl.DataFrame()
    if not _filters_in_memory(where):
        return _breaching(ver, scope, where)
    return _filter_tickets(_breaching(ver, scope, ()), ver, where)


# The ticket columns the SLA page lists (and filters on, with the master data of outlet_id and
# product_model): each column costs a read of every row group holding an open ticket.
BREACHING_COLUMNS = ("created_at", "status", "service_type", "channel", "priority", "outlet_id", "technician_id",
                     "product_model", "customer_name", "customer_phone")


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def _breaching(ver: str, scope: DataScope, where: Where) -> pl.DataFrame:
    def compute() -> pl.DataFrame:
        with snapshot() as con:
            return metrics.breaching(con, where=dict_where(where), config=settings().config, limit=None,
                                     columns=BREACHING_COLUMNS, scope=scope)

    return _kept(ver, "breaching", (scope, where), compute)


# -- database facts (ledger, quarantine, freshness): read through ``pipelines.status`` --------


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def data_range(ver: str) -> tuple[dt.date, dt.date, dt.datetime] | None:
    """(first created day, last created day, latest created_at) or None when no tickets."""
    with snapshot() as con:
        return status.data_range(con)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def has_orders(ver: str) -> bool:
    with snapshot() as con:
        return status.has_rows(con, "orders_daily")


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def ledger(ver: str, limit: int = 500) -> pl.DataFrame:
    with snapshot() as con:
        return status.ledger(con, limit)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def quarantine(ver: str, limit: int = 1000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with their reasons, counts by rule)."""
    with snapshot() as con:
        return status.quarantine(con, limit), status.quarantine_counts(con)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def freshness(ver: str) -> pl.DataFrame:
    """Per table: rows, latest data time, last load time."""
    with snapshot() as con:
        return status.freshness(con)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def master_attribute(ver: str, dim: str) -> pl.DataFrame:
    with snapshot() as con:
        return status.master_attribute(con, dim)


# -- forecasts --------------------------------------------------------------------------------


class ForecastMissing(Exception):
    """The forecasts package has no such read function (yet): ``api`` names it."""

    def __init__(self, api: str) -> None:
        super().__init__(api)
        self.api = api


def _store_fn(name: str):
    try:
        from forecasts import store
    except ImportError:
        raise ForecastMissing(name) from None
    fn = getattr(store, name, None)
    if fn is None:
        raise ForecastMissing(name)
    return fn


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def latest_run(ver: str, kind: str) -> dict[str, Any] | None:
    """The newest stored forecast run of ``kind`` (workload, parts, backtest_workload,
    backtest_parts), or None when there is none."""
    fn = _store_fn("latest_run")
    with pinned_path() as path:
        return fn(path, kind)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def list_runs(ver: str, kind: str) -> pl.DataFrame:
    """Stored runs of ``kind``, newest first, for the run picker (``run_id, created_at,
    data_cutoff, source, source_sha256, freq, n_series``; no JSON)."""
    fn = _store_fn("list_runs")
    with pinned_path() as path:
        out = fn(path, kind)
    return out.drop("params", "summary", strict=False) if not out.is_empty() else out


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def get_run(ver: str, run_id: str) -> dict[str, Any] | None:
    """One stored run (params and summary parsed), or None."""
    fn = _store_fn("get_run")
    with pinned_path() as path:
        return fn(path, run_id)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def store_read(ver: str, scope: DataScope, name: str, run_id: str, **kwargs: Any) -> pl.DataFrame:
    """``forecasts.store.<name>(db, run_id, scope=scope, **kwargs)``: a stored run's table, the
    rows inside ``scope`` (a region's workload series and staffing; see ``forecasts.store``)."""
    fn = _store_fn(name)

    def compute() -> pl.DataFrame:
        with pinned_path() as path:
            out = fn(path, run_id, scope=scope, **kwargs)
        return out if out is not None else pl.DataFrame()

    return _kept(ver, f"store_{name}", (scope, run_id, tuple(sorted(kwargs.items()))), compute)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def events(start: dt.date, end: dt.date) -> pl.DataFrame:
    """Holidays and shopping-festival peaks between start and end, from the forecasts' business
    calendar: one row per event (name, first, last day)."""
    from dashboard.i18n import EVENTS
    from forecasts import calendar

    table = pl.from_pandas(calendar.holiday_table(start, end)).select(
        name=pl.col("holiday"), ds=pl.col("ds").cast(pl.Date))
    table = table.filter(pl.col("name").is_in(list(EVENTS)) & (pl.col("ds") >= start) & (pl.col("ds") <= end))
    runs = table.sort("name", "ds").with_columns(
        run=(pl.col("ds").diff().over("name") != pl.duration(days=1)).fill_null(True).cum_sum())
    return runs.group_by("name", "run").agg(first=pl.col("ds").min(), last=pl.col("ds").max()).drop("run").sort("first")


# --- alerts (issue 16): the alert state file beside the database, keyed by its own identity ---------
def alerts_version() -> str:
    from alerts import board

    return board.version(settings().db)


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def alerts_frame(aver: str, name: str) -> pl.DataFrame:
    """``name``: firing | history | last_values (``alerts.board``)."""
    from alerts import board

    return {"firing": board.firing, "history": board.history, "last_values": board.last_values}[name](settings().db)


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def alerts_rules(ver: str, lang: str) -> pl.DataFrame:
    from alerts import board

    return board.rules_table(settings().config, lang)


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def alerts_pages(aver: str) -> dict[str, int]:
    from alerts import board

    return board.firing_pages(settings().db)
# -- scorecards (metrics.scorecard, metrics.losses; reports.scorecard for the printable page) -----


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def scorecard(ver: str, scope: DataScope, level: str, grain: str, period: dt.date, where: Where) -> Any:
    """``metrics.scorecard`` of every ``level`` unit for the period starting ``period``."""
    from metrics.scorecard import scorecard as build

    def compute() -> Any:
        with snapshot() as con:
            return build(con, level, period=period, grain=grain, where=dict_where(where), config=settings().config,
                         scope=scope)

    return _kept(ver, "scorecard", (scope, level, grain, period, where), compute)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def ftf_losses(ver: str, scope: DataScope, by: tuple[str, ...], grain: str, period: dt.date,
               where: Where) -> pl.DataFrame:
    """``metrics.losses.ftf_losses`` for one period by ``by``."""
    from metrics.losses import ftf_losses as losses

    def compute() -> pl.DataFrame:
        with snapshot() as con:
            return losses(con, by=list(by), grain=grain, start=period, end=period, where=dict_where(where),
                          config=settings().config, scope=scope)

    return _kept(ver, "ftf_losses", (scope, by, grain, period, where), compute)


def scorecard_page(ver: str, scope: DataScope, outlet: str, grain: str, period: dt.date, lang: str) -> bytes:
    """One outlet's printable scorecard (``aftersales scorecard``'s HTML), made when downloaded."""
    from reports.scorecard import build

    with snapshot() as con:
        return build(con, outlet, period, grain, lang, settings().config, scope=scope).html.encode("utf-8")
# -- complaint insight (metrics.complaints): matrices, trend per reason, repeat complainants,
# themes and keywords of the complaint texts ----------------------------------------------------

@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def complaint_matrix(ver: str, scope: DataScope, by: str, start: dt.date, end: dt.date, where: Where) -> pl.DataFrame:
    """``metrics.complaints.matrix``: complaints by ``by`` × reason, counts and rates."""
    if unsupported_dims("complaint_rate", where, (by,), scope):
        return pl.DataFrame()
    with snapshot() as con:
        return complaint_metrics.matrix(con, by, start, end, dict_where(where), settings().config, scope=scope)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def complaint_reason_trend(ver: str, scope: DataScope, grain: str, start: dt.date, end: dt.date,
                           where: Where) -> pl.DataFrame:
    with snapshot() as con:
        return complaint_metrics.reason_trend(con, grain, start, end, dict_where(where), settings().config,
                                              scope=scope)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def complaint_records(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where) -> pl.DataFrame:
    """Every complaint ticket of the range (masked), newest first."""
    with snapshot() as con:
        return complaint_metrics.complaint_records(con, start, end, dict_where(where), config=settings().config,
                                                   scope=scope)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def repeat_complainants(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where,
                        min_complaints: int = 2) -> pl.DataFrame:
    with snapshot() as con:
        return complaint_metrics.repeat_complainants(con, start, end, dict_where(where), min_complaints,
                                                     settings().config, scope=scope)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def complaint_analysis(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where) -> pl.DataFrame:
    """The complaint texts of the range, each segmented and given its theme once
    (``metrics.complaints.analyse``); the themes and keywords below aggregate it."""
    with snapshot() as con:
        return complaint_metrics.analyse(con, start, end, dict_where(where), settings().config, scope=scope)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def complaint_themes(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where, grain: str | None = None,
                     by: tuple[str, ...] = ()) -> pl.DataFrame:
    return complaint_metrics.themes_of(complaint_analysis(ver, scope, start, end, where), grain, by)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def complaint_keywords(ver: str, scope: DataScope, start: dt.date, end: dt.date, where: Where, grain: str | None = None,
                       by: tuple[str, ...] = (), top: int = 20) -> pl.DataFrame:
    return complaint_metrics.keywords_of(complaint_analysis(ver, scope, start, end, where), grain, by, top)
