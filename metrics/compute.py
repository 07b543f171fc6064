"""`query()`: every KPI number the product shows, in long format.

One row per KPI × period × breakdown value, with the measures it rests on, its 95% interval,
the previous period's and last year's values (环比/同比), its status against target, and how
complete it is. The previous and last-year values come from the same statement: the scan is
widened to cover them, never re-queried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import numpy as np
import polars as pl

from aftersales import config as cfg
from aftersales import model
from aftersales.db import connect_readonly
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import cost, maturity, periods, rollup, stats
from metrics import registry as R
from metrics import scope as scoping
from metrics import sql as S
from metrics.registry import KpiDef
from pipelines import derive

DbLike = str | os.PathLike[str] | duckdb.DuckDBPyConnection | None

RESULT_COLUMNS = [
    "kpi", "period_start", "period_end", "<dims>", "value", "numerator", "denominator", "n_records",
    "ci_low", "ci_high", "prev_value", "prev_change", "prev_change_pct", "yoy_value", "yoy_change",
    "yoy_change_pct", "target", "status", "final_on", "small_sample", "completeness", "n_excluded", "excluded_reason",
    "unit", "basis",
]


@contextlib.contextmanager
def connection(db: DbLike) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection from a path (closed afterwards) or the caller's own connection."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        yield db
        return
    con = connect_readonly(cfg.resolve_db_path(db))
    try:
        yield con
    finally:
        con.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run one statement and return its rows as a polars frame.

    A relation's ``.pl()``, not ``execute(...).to_arrow_table()``: the DB-API result copies the rows
    once more and warns about it on stderr (cron mails every line), and silencing that warning with
    ``warnings.catch_warnings`` is not thread-safe (the report fetches on a thread pool). The text is
    parsed here once and handed over parsed: ``con.sql(text)`` would parse it a second time (about
    as long as the whole fetch of a small KPI statement)."""
    statements = con.extract_statements(sql)
    out = con.sql(statements[0] if len(statements) == 1 else sql, params=params or None).pl()
    assert isinstance(out, pl.DataFrame)
    return out


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [s.strip() for s in x.split(",") if s.strip()]
    return list(x)


def _orders_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        return bool(con.execute("SELECT EXISTS (SELECT 1 FROM orders_daily)").fetchall()[0][0])
    except duckdb.CatalogException:
        return False


def resolve_kpis(con: duckdb.DuckDBPyConnection | None, metrics: Sequence[str] | str | None,
                 dims: Sequence[str]) -> list[KpiDef]:
    """The KPIs to compute. Explicitly named ones must fit the breakdown (else UserError); with
    none named, every KPI that fits the breakdown (and whose data is loaded) is computed."""
    names = _as_list(metrics)
    if names and names != ["all"]:
        kpis = [R.get(n) for n in dict.fromkeys(names)]
        for k in kpis:
            bad = [d for d in dims if d not in k.allowed_dims()]
            if bad:
                raise UserError(f"KPI {k.id} cannot be broken down or filtered by {', '.join(bad)}; "
                                f"it allows: {', '.join(k.allowed_dims())}")
        if con is not None and any(k.base == "orders" for k in kpis) and not _orders_loaded(con):
            raise UserError("complaints_per_1k_orders needs orders: load an orders_daily file first "
                            "(see docs/DATA_MODEL.md), or ask for complaint_rate")
        return kpis
    kpis = [k for k in R.KPIS.values() if all(d in k.allowed_dims() for d in dims)]
    if con is not None and not _orders_loaded(con):
        kpis = [k for k in kpis if k.base != "orders"]
    if not kpis:
        raise UserError(f"no KPI can be broken down by {', '.join(dims)}")
    return kpis


def check_dims(by: Sequence[str]) -> list[str]:
    out = []
    for d in by:
        if d not in R.DIMENSIONS:
            raise UserError(f"unknown breakdown {d!r}; valid breakdowns: {', '.join(R.DIMENSIONS)}")
        if d not in out:
            out.append(d)
    return out


def dimension_values(db: DbLike, dim: str, *, scope: DataScope) -> pl.DataFrame:
    """The values a breakdown takes (for filter pickers): columns ``value``, ``label``.

    Coded dimensions list every code with its Chinese label; the others list what the master
    data (outlets, technicians, products) and the records hold. ``scope``: region, outlet type,
    city, outlet and technician list only what lies inside it (the outlets of the scope and their
    technicians); the other breakdowns are code lists and catalogues, the same for everyone.
    """
    scoping.check(scope)
    d = R.DIMENSIONS.get(dim)
    if d is None:
        raise UserError(f"unknown breakdown {dim!r}; valid breakdowns: {', '.join(R.DIMENSIONS)}")
    labels = model.extended(d.labels)  # with the codes the config adds
    restricted = not scope.whole_company and dim in SCOPED_DIMS
    if labels and not restricted:
        return pl.DataFrame({"value": list(labels), "label": list(labels.values())})
    cond, params = scoping.outlet_conditions(scope, "o")
    queries = {
        "region": "SELECT DISTINCT o.region, o.region FROM outlets o WHERE TRUE",
        "outlet_type": "SELECT DISTINCT o.outlet_type, o.outlet_type FROM outlets o WHERE TRUE",
        "city": "SELECT DISTINCT o.city AS value, o.city AS label FROM outlets o WHERE TRUE",
        "outlet": "SELECT o.outlet_id AS value, any_value(o.outlet_name) AS label FROM outlets o WHERE TRUE",
        "technician": "SELECT tc.technician_id AS value, any_value(tc.technician_name) AS label FROM technicians tc "
                      "LEFT JOIN outlets o ON o.outlet_id = tc.outlet_id WHERE TRUE",
        "product_model": "SELECT product_model AS value, product_model AS label FROM products WHERE TRUE",
        "part_no": "SELECT DISTINCT part_no AS value, part_no AS label FROM parts_used WHERE TRUE",
    }
    group = " GROUP BY 1" if dim in ("outlet", "technician") else ""
    fallback = {"region": "region", "outlet_type": "outlet_type", "city": "city", "outlet": "outlet_id",
                "technician": "technician_id", "product_model": "product_model"}
    with connection(db) as con:
        rows = con.execute(queries[dim] + (cond if dim in SCOPED_DIMS else "") + group + " ORDER BY 1",
                           params if dim in SCOPED_DIMS else None).fetchall()
        if not rows and dim in fallback:  # master data not loaded: what the tickets carry
            col = fallback[dim]
            facts = facts_source(con)["ticket_facts"]
            tcond, tparams = scoping.outlet_conditions(scope, "t")
            rows = con.execute(f"SELECT DISTINCT t.{col}, t.{col} FROM {facts} t WHERE t.{col} IS NOT NULL{tcond} "
                               "ORDER BY 1", tparams or None).fetchall()
    if labels:  # a coded breakdown inside a scope: its codes that occur there, labelled
        present = {r[0] for r in rows}
        return pl.DataFrame({"value": [c for c in labels if c in present],
                             "label": [v for c, v in labels.items() if c in present]},
                            schema={"value": pl.String, "label": pl.String})
    return pl.DataFrame(rows, schema=["value", "label"], orient="row")


# The breakdowns a data scope restricts the values of: its own, and those hanging off an outlet.
SCOPED_DIMS = ("region", "outlet_type", "city", "outlet", "technician")


# Where the records themselves carry a non-coded dimension (identifiers from this allow-list only).
RECORD_COLUMNS = {"outlet": ("tickets", "outlet_id"), "technician": ("tickets", "technician_id"),
                  "product_model": ("tickets", "product_model")}


def check_where(con: duckdb.DuckDBPyConnection, where: dict[str, Any] | None) -> dict[str, list[str]]:
    """Filters as {dim: [codes]}; unknown dimensions or values raise a UserError listing the valid ones.
    Coded dimensions also accept their Chinese label (华东 for east)."""
    out: dict[str, list[str]] = {}
    for dim, raw in (where or {}).items():
        d = R.DIMENSIONS.get(dim)
        if d is None:
            raise UserError(f"unknown filter {dim!r}; valid filters: {', '.join(R.DIMENSIONS)}")
        values = _as_list(raw) if not isinstance(raw, (list, tuple)) else [str(v) for v in raw]
        if not values:
            raise UserError(f"filter {dim}= has no value")
        labels = model.extended(d.labels)
        if labels:
            by_label = {v: k for k, v in labels.items()}
            values = [by_label.get(v, v) for v in values]
            valid = set(labels)
        else:
            # validated against the whole company: a value outside a user's scope is no typo, it
            # selects nothing (``scope.narrowed``)
            valid = set(dimension_values(con, dim, scope=DataScope())["value"].to_list())
        unknown = [v for v in values if v not in valid]
        if unknown and dim in RECORD_COLUMNS:  # in the records but missing from the master data
            table, col = RECORD_COLUMNS[dim]
            unknown = [v for v in unknown
                       if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {col} = ?)", [v]).fetchall()[0][0]]
        if unknown:
            listed = sorted(valid)
            more = f" … and {len(listed) - 30} more (`aftersales kpi --values {dim}`)" if len(listed) > 30 else ""
            raise UserError(f"unknown {dim} {', '.join(map(repr, unknown))}; valid values: "
                            f"{', '.join(listed[:30])}{more}")
        out[dim] = list(dict.fromkeys(values))
    return out


def facts_source(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Where the metrics read ticket, survey and part facts: the tables every load refreshes
    (``pipelines.derive``), or, where they are missing (hand-built or test data) or lag the ledger
    (a rebuild still running after its load published), the same rows computed inline from the
    SELECTs defining them, so the numbers never depend on which one is read."""
    have = derive.current(con)
    present = derive.present_columns(con)
    return {name: name if name in have else f"({select(present=present)})" for name, select in derive.TABLES.items()}


def is_stored(source: str) -> bool:
    """A ``facts_source`` value is a stored table (a name, with row ids), not an inline SELECT."""
    return source.isidentifier()


# The dates each base counts its records by (fixed SQL over the canonical tables): a default
# window runs from the earliest to the latest of them, so nothing is left out of a number by the
# window (what a number leaves out is counted in its exclusions).
_TICKET_DATES = "SELECT min(created_at), greatest(max(created_at), max(resolved_at), max(closed_at)) FROM tickets"
BASE_DATES: dict[str, str] = {
    "created": "SELECT min(created_at), max(created_at) FROM tickets",
    # tickets marked done without their time are placed in their created period
    "resolved": "SELECT least(min(resolved_at), min(created_at)), max(resolved_at) FROM tickets",
    "repair": "SELECT least(min(resolved_at), min(created_at)), max(resolved_at) FROM tickets "
              "WHERE service_type = 'repair'",
    "closed": "SELECT least(min(closed_at), min(created_at)), max(closed_at) FROM tickets",
    "backlog": _TICKET_DATES,
    "responses": "SELECT min(responded_at), max(responded_at) FROM surveys",
    "parts": "SELECT min(v.started_at), max(v.started_at) FROM parts_used pu JOIN visits v ON v.visit_id = pu.visit_id",
    "cost": "SELECT least(min(resolved_at), min(created_at)), max(resolved_at) FROM tickets",
    "orders": "SELECT least((SELECT min(created_at) FROM tickets), min(order_date)), "
              "greatest((SELECT max(created_at) FROM tickets), max(order_date)) FROM orders_daily",
}


def data_window(con: duckdb.DuckDBPyConnection, kpis: Sequence[KpiDef], sla_hours: dict) -> tuple[dt.date, dt.date]:
    """The default window of ``kpis``: from the earliest to the latest date any of them counts a
    record by (created, resolved, closed, responded, due, visit ...). SLA KPIs count a ticket at
    its due time, up to the longest configured limit after its creation."""
    lows, highs = [], []
    for base in dict.fromkeys(k.base for k in kpis):
        if base.startswith("sla_"):
            longest = max((float(h) for stage in sla_hours.values() for h in stage.values()), default=0.0)
            lo, hi = con.execute("SELECT min(created_at), max(created_at) FROM tickets").fetchall()[0]
            hi = None if hi is None else hi + dt.timedelta(hours=longest)
        else:
            lo, hi = con.execute(BASE_DATES[base]).fetchall()[0]
        lows += [lo] if lo is not None else []
        highs += [hi] if hi is not None else []
    if not lows or not highs:
        names = ", ".join(k.id for k in kpis)
        raise UserError(f"nothing loaded yet that {names} can count: load data with `aftersales load PATH`")
    as_date = [x if isinstance(x, dt.date) and not isinstance(x, dt.datetime) else x.date() for x in lows + highs]
    return min(as_date[:len(lows)]), max(as_date[len(lows):])


def plan(con: duckdb.DuckDBPyConnection | None, metrics=None, by=None, grain: str | None = "month",
         start: dt.date | None = None, end: dt.date | None = None, where=None,
         config: dict | None = None, as_of: dt.datetime | None = None,
         compare: bool | str = True, *, scope: DataScope) -> tuple[S.Plan, dt.date, dt.date]:
    """Validate a request and turn it into a ``metrics.sql.Plan`` (plus the requested [lo, hi)).
    ``scope``: the data scope, ANDed with ``where`` (a filter outside it selects nothing)."""
    scoping.check(scope)
    by = check_dims(_as_list(by))
    grain = periods.check_grain(grain)
    where_dims = list((where or {}).keys())
    for d in where_dims:
        if d not in R.DIMENSIONS:
            raise UserError(f"unknown filter {d!r}; valid filters: {', '.join(R.DIMENSIONS)}")
    scope_dims = [d for d, _ in scope.where()]
    named = [n for n in _as_list(metrics) if n != "all"]
    for n in named:
        scoping.refuse_unfit(n, scope, R.get(n).allowed_dims())
    kpis = resolve_kpis(con, metrics, by + [d for d in [*where_dims, *scope_dims] if d not in by])
    where_checked = check_where(con, where) if con is not None else {k: _as_list(v) for k, v in (where or {}).items()}
    where_checked = scoping.narrowed(scope, where_checked)
    if compare not in (True, False, "last"):
        raise UserError(f"compare must be True, False or 'last', not {compare!r}")
    conf = config if config is not None else cfg.load_config()
    if start is None or end is None:
        if con is not None:
            first, last = data_window(con, kpis, conf.get("sla_hours") or {})
        else:
            last = dt.date.today()
            first = periods.shift(last, "year", -1) + dt.timedelta(days=1)
        end = last if end is None else end
        start = min(first, end) if start is None else start
    lo, hi, wins = periods.windows(start, end, grain)
    if not compare:
        wins = [(lo, hi)]
    elif compare == "last" and grain is not None:
        wins = periods.last_windows(lo, hi, grain)
    p = S.Plan(kpis=kpis, by=by, grain=grain, windows=[(periods.to_ts(a), periods.to_ts(b)) for a, b in wins],
               where=where_checked, sla_hours=conf.get("sla_hours") or {}, as_of=as_of,
               source_verdict=_source_verdict(conf))
    if any(k.base == "cost" for k in kpis):
        p.cost = cost.rates(conf)
    if con is not None:
        p.facts = facts_source(con)
        if p.as_of is None and any(k.base.startswith(("sla_", "backlog")) for k in kpis):
            p.as_of = data_as_of(con, p.facts)
        # provisional numbers: the horizon is the explicit as-of, else the latest timestamp loaded
        p.horizon = maturity.as_horizon(as_of) if as_of is not None else maturity.data_horizon(con)
        reach = max(k.maturity.days + (R.LAG_CAP_DAYS if k.maturity.lag else 0) for k in kpis)
        if p.horizon is not None and periods.to_ts(hi) + dt.timedelta(days=reach) > p.horizon:  # else all final
            p.delays = maturity.delays(con, kpis, p.horizon)
            p.matured_before = maturity.matured_before(p.delays, p.horizon, max(b for _, b in p.windows))
        p.rollup = rollup.choose(con, p)  # whole months from the rollup tables where they hold them
    return p, lo, hi


def _source_verdict(conf: dict) -> bool:
    """Config ``sla_verdict``: "source" (default: a ticket's own verdict decides where it carries
    one, the configured limits elsewhere) or "limits" (the configured limits judge every ticket)."""
    choice = conf.get("sla_verdict", "source")
    if choice not in ("source", "limits"):
        raise UserError(f"config sla_verdict = {choice!r}: write \"source\" (the export's own SLA verdict where a "
                        "ticket carries one) or \"limits\" (the configured sla_hours for every ticket)")
    return choice == "source"


def data_as_of(con: duckdb.DuckDBPyConnection, facts: dict[str, str]) -> dt.datetime | None:
    """The default as-of (the latest created_at), bound as a value: as a scalar subquery inside
    the SLA and backlog filters DuckDB plans a nested-loop join over every row."""
    return con.execute(f"SELECT max(created_at) FROM {facts['ticket_facts']}").fetchall()[0][0]


def sql_for(db: DbLike = None, *, scope: DataScope, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters ``query`` would run (same arguments), for --show-sql and snapshots."""
    with connection(db) as con:
        p, _, _ = plan(con, scope=scope, **kwargs)
    return S.build(p)


def query(db: DbLike = None, metrics: Sequence[str] | str | None = None, by: Sequence[str] | str | None = None,
          grain: str | None = "month", start: dt.date | None = None, end: dt.date | None = None,
          where: dict[str, Any] | None = None, config: dict | None = None,
          as_of: dt.datetime | None = None, compare: bool | str = True, *, scope: DataScope) -> pl.DataFrame:
    """KPI values in long format.

    db: database path (None: the configured one) or an open DuckDB connection.
    metrics: KPI ids (see ``metrics.KPIS``); None or "all": every KPI that fits ``by``/``where``.
    by: breakdowns from ``metrics.DIMENSIONS`` (region, city, outlet, outlet_type, technician,
        channel, service_type, product_category, product_model, priority, part_no).
    grain: day | week | month | quarter | year, or None for the whole range as one period.
    start, end: inclusive dates; with a grain, widened to whole periods. Default: from the earliest
        to the latest date the KPIs count a record by (``data_window``).
    where: {dim: value or [values]}; values are codes (Chinese labels accepted for coded dims).
    config: loaded configuration (targets, sla_hours); default: ``aftersales.config.load_config()``.
    as_of: the "now" for SLA due times and backlog ages; default: the latest created_at. It is also
        the horizon for provisional numbers (default: the latest timestamp loaded): a KPI × period
        not final by then has status "provisional" and the date it becomes final in ``final_on``.
    compare: also compute the previous period and the same period last year (环比/同比); False
        leaves those columns empty and scans only the requested periods (faster drill-downs);
        "last" scans the requested periods plus the last one's previous and last-year periods
        (cards over a trend: a year of months scans 13 months instead of 24). Without them a
        period's comparisons are still given where the compared period is in the scan (a
        period's 环比 when the period before it is in the result).
    scope: the data scope (``aftersales.principal.DataScope``; ``DataScope()`` is the whole
        company), ANDed with ``where``: only tickets inside it are counted, and a filter wholly
        outside it counts nothing. KPIs that cannot be restricted by the scope's breakdowns (per
        1,000 orders) are left out, or refused when named.

    Returns one row per KPI × period × breakdown value; see ``RESULT_COLUMNS`` and README.
    Empty (null) values mean the denominator was zero, never zero.
    """
    return run(db, metrics, by, grain, start, end, where, config, as_of, compare, scope=scope)[0]


def run(db: DbLike = None, metrics=None, by=None, grain: str | None = "month", start: dt.date | None = None,
        end: dt.date | None = None, where=None, config: dict | None = None,
        as_of: dt.datetime | None = None, compare: bool | str = True, *,
        scope: DataScope) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``query``'s result and the raw measures it came from (with ``sumsq``, ``aux`` for
    promoters/detractors, ``quantiles``), for callers that need more than the value."""
    conf = config if config is not None else cfg.load_config()
    with connection(db) as con:
        p, lo, hi = plan(con, metrics, by, grain, start, end, where, conf, as_of, compare, scope=scope)
        sql, params = S.build(p)
        raw = fetch(con, sql, params)
    return finish(raw, p, lo, hi, conf), raw.rename({f"d_{d}": d for d in p.by})


def _values_and_ci(raw: pl.DataFrame) -> pl.DataFrame:
    """value, ci_low, ci_high per row, by each KPI's kind (vectorised over the whole frame)."""
    n_rows = len(raw)
    if n_rows == 0:
        return raw.with_columns(value=pl.lit(None, pl.Float64), ci_low=pl.lit(None, pl.Float64),
                                ci_high=pl.lit(None, pl.Float64))
    defs = [R.KPIS[k] for k in raw["kpi"].to_list()]
    kind = np.array([k.kind for k in defs])
    scale = np.array([k.scale for k in defs])
    num = raw["numerator"].to_numpy().astype(float)
    den = raw["denominator"].to_numpy().astype(float)
    n = raw["n_records"].to_numpy().astype(float)
    value = np.full(n_rows, np.nan)
    lo = np.full(n_rows, np.nan)
    hi = np.full(n_rows, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.isin(kind, ("count", "sum"))
        value[m] = num[m]
        m = kind == "ratio"
        if m.any():
            value[m] = np.where(den[m] > 0, scale[m] * num[m] / den[m], np.nan)
            wl, wh = stats.wilson(num[m], den[m])
            lo[m], hi[m] = wl * scale[m], wh * scale[m]
        m = kind == "mean"
        if m.any():
            value[m] = np.where(den[m] > 0, num[m] / den[m], np.nan)
            lo[m], hi[m] = stats.mean_ci(num[m], den[m], raw["sumsq"].to_numpy().astype(float)[m])
        m = kind == "nps"
        if m.any():
            aux = [a for a, keep in zip(raw["aux"].to_list(), m, strict=True) if keep]
            prom = np.array([a[0] if a else np.nan for a in aux], dtype=float)
            det = np.array([a[1] if a else np.nan for a in aux], dtype=float)
            value[m] = np.where(den[m] > 0, 100 * num[m] / den[m], np.nan)
            lo[m], hi[m] = stats.nps_ci(prom, det, den[m])
        m = kind == "quantile"
        if m.any():
            grids = raw["quantiles"].to_list()
            for p in {k.quantile for k in defs if k.kind == "quantile"}:
                rows = np.flatnonzero(np.array([k.kind == "quantile" and k.quantile == p for k in defs]))
                g = [grids[r] for r in rows]
                value[rows] = [x[0] if x and x[0] is not None else np.nan for x in g]
                lo[rows], hi[rows] = stats.quantile_ci(S.quantile_levels(p), g, n[rows], p)
    return raw.with_columns(pl.Series("value", value, dtype=pl.Float64, nan_to_null=True),
                            pl.Series("ci_low", lo, dtype=pl.Float64, nan_to_null=True),
                            pl.Series("ci_high", hi, dtype=pl.Float64, nan_to_null=True))


def _excluded_text(kpi_ids: list[str], excluded: list[list[int] | None]) -> tuple[list[int], list[str | None]]:
    totals, texts = [], []
    for kpi_id, counts in zip(kpi_ids, excluded, strict=True):
        k = R.KPIS[kpi_id]
        pairs = [(e.reason, c) for e, c in zip(k.exclusions, counts or [], strict=False) if c]
        totals.append(sum(c for _, c in pairs))
        texts.append("; ".join(f"{r}: {c}" for r, c in pairs) or None)
    return totals, texts


def _basis_text(kpi_ids: list[str], counts: list[list[int] | None]) -> list[str | None]:
    """How the records were counted, where a KPI has several ways: "source_verdict: 120; sla_hours: 8"."""
    out = []
    for kpi_id, c in zip(kpi_ids, counts, strict=True):
        pairs = [(b.code, n) for b, n in zip(R.KPIS[kpi_id].basis, c or [], strict=False) if n]
        out.append("; ".join(f"{code}: {n}" for code, n in pairs) or None)
    return out


def _without_evidence(df: pl.DataFrame) -> pl.DataFrame:
    """KPIs whose records nowhere in the scan carry the fields they rest on (``KpiDef.evidence``)
    have no value: an export without reopen information is no 0% reopen rate."""
    if "evidence" not in df.columns or df.is_empty():
        return df
    totals = df.group_by("kpi").agg(pl.col("evidence").sum().alias("_ev"),
                                    pl.col("evidence").is_not_null().any().alias("_has"))
    blind = totals.filter(pl.col("_has") & (pl.col("_ev") == 0))["kpi"].to_list()
    if not blind:
        return df
    gone = pl.col("kpi").is_in(blind)
    return df.with_columns(*(pl.when(gone).then(None).otherwise(pl.col(c)).alias(c)
                             for c in ("value", "ci_low", "ci_high")))


def finish(raw: pl.DataFrame, p: S.Plan, lo: dt.date, hi: dt.date, conf: dict) -> pl.DataFrame:
    """Raw measures → the documented result frame (values, intervals, comparisons, status)."""
    dims = list(p.by)
    df = raw.rename({f"d_{d}": d for d in dims})
    df = _without_evidence(_values_and_ci(df))
    keys = ["kpi", *dims]
    if p.grain is not None and len(df):
        one, year = periods.polars_offsets(p.grain)
        base = df.select([*keys, "period_start", "value"])
        prev = base.with_columns(pl.col("period_start").dt.offset_by(one)).rename({"value": "prev_value"})
        yoy = base.with_columns(pl.col("period_start").dt.offset_by(year)).rename({"value": "yoy_value"})
        df = df.filter((pl.col("period_start") >= lo) & (pl.col("period_start") < hi))
        df = df.join(prev, on=[*keys, "period_start"], how="left", nulls_equal=True)
        df = df.join(yoy, on=[*keys, "period_start"], how="left", nulls_equal=True)
        df = df.with_columns(pl.col("period_start").dt.offset_by(one).alias("period_end"))
    else:
        df = df.with_columns(prev_value=pl.lit(None, pl.Float64), yoy_value=pl.lit(None, pl.Float64),
                             period_end=pl.lit(hi, pl.Date))
    kpi_ids = df["kpi"].to_list()
    n_excl, texts = _excluded_text(kpi_ids, df["excluded"].to_list())
    targets = {k: R.target_for(R.KPIS[k], conf) for k in set(kpi_ids)}
    meta = pl.DataFrame({
        "kpi": list(R.KPIS),
        "_order": list(range(len(R.KPIS))),
        "unit": [k.unit for k in R.KPIS.values()],
        "_min_sample": [k.min_sample for k in R.KPIS.values()],
        "_higher": [k.higher_is_better for k in R.KPIS.values()],
        "target": [targets.get(k) for k in R.KPIS],
    }, schema_overrides={"target": pl.Float64, "_higher": pl.Boolean})
    basis = _basis_text(kpi_ids, df["basis"].to_list() if "basis" in df.columns else [None] * len(kpi_ids))
    df = df.with_columns(pl.Series("n_excluded", n_excl, dtype=pl.Int64),
                         pl.Series("excluded_reason", texts, dtype=pl.String),
                         pl.Series("basis", basis, dtype=pl.String)).join(meta, on="kpi", how="left")
    v = pl.col("value")
    df = df.with_columns(
        prev_change=v - pl.col("prev_value"),
        prev_change_pct=pl.when(pl.col("prev_value") != 0).then(v / pl.col("prev_value") - 1),
        yoy_change=v - pl.col("yoy_value"),
        yoy_change_pct=pl.when(pl.col("yoy_value") != 0).then(v / pl.col("yoy_value") - 1),
        small_sample=pl.col("n_records") < pl.col("_min_sample"),
        completeness=pl.when(pl.col("n_records") + pl.col("n_excluded") > 0)
        .then(pl.col("n_records") / (pl.col("n_records") + pl.col("n_excluded"))),
    )
    df = maturity.apply(df, p.horizon, p.delays)  # final_on; completeness of numbers not yet final
    met = pl.when(pl.col("_higher")).then(v >= pl.col("target")).otherwise(v <= pl.col("target"))
    df = df.with_columns(status=pl.when(v.is_null()).then(pl.lit("no_data"))
                         .when(pl.col("_provisional")).then(pl.lit("provisional"))
                         .when(pl.col("target").is_null() | pl.col("_higher").is_null()).then(pl.lit("no_target"))
                         .when(pl.col("small_sample")).then(pl.lit("too_small"))
                         .when(met).then(pl.lit("met")).otherwise(pl.lit("missed")))
    cols = ["kpi", "period_start", "period_end", *dims, "value", "numerator", "denominator", "n_records",
            "ci_low", "ci_high", "prev_value", "prev_change", "prev_change_pct", "yoy_value", "yoy_change",
            "yoy_change_pct", "target", "status", "final_on", "small_sample", "completeness", "n_excluded",
            "excluded_reason", "unit", "basis"]
    return df.sort(["_order", *dims, "period_start"], nulls_last=True).select(cols)
