"""Rollup tables: every KPI's additive measures pre-aggregated by month × breakdown.

What BI engines call pre-aggregations (Cube) or rollups (Druid): the counts and sums every
rate, mean, NPS and interval is made of (numerators, denominators, sums of squares, promoters
and detractors, exclusions by reason, basis counts, evidence, records whose window has closed)
are stored per base, month and breakdown value, as ``metrics.sql`` computes them from the facts
(the stored rows *are* the facts query's aggregate at month grain). A query over whole months
then sums a few thousand rows instead of scanning millions of tickets, and since every stored
measure is a count or a sum the result is the same number the facts give (parity:
tests/test_rollup.py). What is not additive stays on the facts: quantiles (MTTR median, p90:
exact on the filtered facts), the cost KPIs (priced at the config's rates when asked), the
orders base, and breakdowns or filters no rollup carries (technician, product model, ...).

Three rollups, the smallest that carries a query's breakdowns and filters answers it (rows per
base at 10M tickets over three years: ~40, ~270,000 and ~9,000, plus the current month's days):

- ``total``: month only (the unfiltered default view),
- ``coded``: month × region × outlet type × channel × service type × product category (every
  coded filter of the sidebar and any combination of them),
- ``outlet``: month × outlet (with its region, city and outlet type: a data scope).

Which rows a query may read from them (``choose``): the months wholly inside its windows and,
for a month only partly inside (a whole-range query ending on the data's last day), its days,
as long as the row cannot change with the query's "now": bases whose records count by their own
date (created, resolved, closed, responded, visit) hold every month and the current month's
days as loaded; the SLA bases hold the months and days whose end has passed by the as-of of the
last load (every ticket due then has passed its due time or been done) and are read where that
end has also passed by the query's as-of; the backlog (monthly only) holds every month end
before the as-of, and the month of the as-of aged at it (read when the query's as-of is that
one). A provisional KPI's `matured` count is stored as every counted record: a row wholly before
the KPI's matured-before time counts it whole, a row wholly after counts none, a row across it
is read from the facts. The rest of a window (the as-of's own day for the SLA, a day or week
grain, a row across a matured-before time) is read from the facts and summed with it.

Kept current by the pipeline (``refresh``, called by ``pipelines.derive`` after the derived
tables): a rebuild builds them whole from the facts; a patch recomputes the complete months the
patched tickets touch (their old and new rows' months, from creation to their last date, open
tickets up to now), the months the horizon moved past, and the current month's rows when the
as-of moved or a patched ticket counts in it. A rollup whose state does not match the facts
(another load since, other definitions, another SLA configuration) is not read: the metrics
read the facts, same numbers, slower.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

import duckdb

from aftersales import config as cfg
from metrics import registry as R
from metrics import sql as S

CODED = ("region", "outlet_type", "channel", "service_type", "product_category")
# name -> breakdowns, smallest first: ``choose`` takes the first that carries a query's dimensions.
# "total" is summed from "coded" (same measures, fewer rows), the others from the facts.
ROLLUPS: dict[str, tuple[str, ...]] = {"total": (), "coded": CODED, "outlet": ("outlet", "region", "outlet_type", "city")}
FROM_FACTS = ("coded", "outlet")
BASES = ("created", "resolved", "repair", "closed", "responses", "parts", "backlog",
         "sla_first_response", "sla_resolution", "sla_onsite")
KINDS = ("count", "sum", "ratio", "nps", "mean")  # not quantile; mean in yuan is the cost base only
TIME_BOUND = ("sla_first_response", "sla_resolution", "sla_onsite", "backlog")  # depend on the as-of
FAR = dt.datetime(9999, 1, 1)  # the matured-before time that counts every record (stored `__mat`)
EARLY = dt.datetime(1900, 1, 1)
STATE = {"load": "rollup.load_id", "code": "rollup.code", "sla": "rollup.sla", "horizon": "rollup.horizon",
         "days": "rollup.days", "as_of": "rollup.as_of"}


def table(rollup: str, base: str) -> str:
    """A rollup table's name (both parts from the fixed lists above)."""
    assert rollup in ROLLUPS and base in BASES
    return f"rollup_{rollup}_{base}"


def kpis_of(base: str) -> list[R.KpiDef]:
    """The KPIs of ``base`` a rollup holds."""
    return [k for k in R.KPIS.values() if k.base == base and k.kind in KINDS]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The definitions the stored measures were computed by: the KPI registry and the SQL."""
    h = hashlib.sha256()
    for f in ("registry.py", "sql.py", "rollup.py"):
        h.update((Path(__file__).parent / f).read_bytes())
    return h.hexdigest()[:16]


def sla_version(sla_hours: dict, source_verdict: bool) -> str:
    """The configuration the SLA bases' stored measures depend on."""
    return json.dumps([sla_hours, source_verdict], sort_keys=True, default=str)


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT key, value FROM meta WHERE key IN (SELECT unnest($keys))",
                       {"keys": list(STATE.values())}).fetchall()
    by_key = dict(rows)
    return {name: by_key[key] for name, key in STATE.items() if key in by_key}


def _facts_load(con: duckdb.DuckDBPyConnection) -> str | None:
    from pipelines import derive  # the pipeline imports this module: import it when called

    rows = con.execute("SELECT value FROM meta WHERE key = $k", {"k": derive.STATE_KEY}).fetchall()
    return rows[0][0] if rows else None


# -- reading -------------------------------------------------------------------------------------


def _next_month(d: dt.datetime) -> dt.datetime:
    return dt.datetime(d.year + d.month // 12, d.month % 12 + 1, 1)


def _periods(ranges: list[tuple[dt.datetime, dt.datetime]], lo: dt.datetime, hi: dt.datetime, step,
             usable) -> list[tuple[dt.datetime, dt.datetime]]:
    """The periods [s, step(s)) (months or days) from ``lo`` to ``hi`` that lie wholly inside
    ``ranges`` and that ``usable(s, e)`` accepts."""
    out = []
    for a, b in ranges:
        s = _ceil(max(a, lo), step)
        while step(s) <= min(b, hi):
            if usable(s, step(s)):
                out.append((s, step(s)))
            s = step(s)
    return out


def _ceil(x: dt.datetime, step) -> dt.datetime:
    floor = dt.datetime(x.year, x.month, 1 if step is _next_month else x.day)
    return floor if floor == x else step(floor)


def _next_day(d: dt.datetime) -> dt.datetime:
    return d + dt.timedelta(days=1)


def _merged(periods: list[tuple[dt.datetime, dt.datetime]]) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    out: list[list[dt.datetime]] = []
    for a, b in sorted(periods):
        if out and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def _as_ranges(months: list[dt.datetime]) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    return _merged([(m, _next_month(m)) for m in months])


def choose(con: duckdb.DuckDBPyConnection, plan: S.Plan) -> dict[str, S.Rolled]:
    """Which of ``plan``'s bases read which months and days from which rollup table (see the
    module docstring); empty where none can (no rollup, or one that does not match the facts)."""
    if plan.grain not in (None, "month", "quarter", "year") or not all(_stored(v) for v in plan.facts.values()):
        return {}
    needed = set(plan.by) | set(plan.where)
    name = next((n for n, dims in ROLLUPS.items() if needed <= set(dims)), None)
    if name is None:
        return {}
    try:
        state = _state(con)
    except duckdb.CatalogException:  # no meta table: hand-built data
        return {}
    if (not state or state.get("code") != code_version() or state.get("load") is None
            or state.get("load") != _facts_load(con) or "days" not in state):
        return {}
    horizon, days = dt.datetime.fromisoformat(state["horizon"]), dt.datetime.fromisoformat(state["days"])
    built_as_of = dt.datetime.fromisoformat(state["as_of"]) if state.get("as_of") else None
    ranges = S._Builder(plan).ranges()
    out: dict[str, S.Rolled] = {}
    for base in dict.fromkeys(k.base for k in plan.kpis):
        if base not in BASES or (base == "backlog" and plan.grain != "month"):
            continue
        if base.startswith("sla_") and state.get("sla") != sla_version(plan.sla_hours, plan.source_verdict):
            continue
        ids = tuple(k.id for k in plan.kpis if k.base == base and k.kind in KINDS)
        cuts = [plan.matured_before[i] for i in ids if i in plan.matured_before]
        as_of = plan.as_of

        def usable(s: dt.datetime, e: dt.datetime, base=base, cuts=cuts, as_of=as_of) -> bool:
            if base in TIME_BOUND and (as_of is None or e > as_of):
                return False  # a due time or a period end not yet passed: depends on the as-of
            return all(e <= c or s >= c for c in cuts)  # its records all matured, or none

        # Bases whose records count by their own date hold every month and the current month's days
        # as loaded; the SLA bases and the backlog only what no later as-of can change.
        top_month, top_day = (horizon, days) if base in TIME_BOUND else (FAR, FAR)
        months = _periods(ranges, EARLY, top_month, _next_month, usable)
        if base == "backlog" and as_of is not None and as_of == built_as_of:
            # the month of the as-of, its backlog aged at that as-of (stored by the last load)
            months += _periods(ranges, horizon, _next_month(horizon), _next_month, lambda s, e: True)
        day_rows = [] if base == "backlog" else _periods(_subtract_ranges(ranges, months), horizon, top_day, _next_day,
                                                         usable)
        if ids and (months or day_rows):
            out[base] = S.Rolled(table(name, base), _merged(months), _merged(day_rows), ids)
    return out


def _subtract_ranges(ranges, minus):
    return S._subtract(list(ranges), list(minus))


def _stored(source: str) -> bool:
    """A facts source is a stored table (``metrics.compute.is_stored``), not an inline SELECT."""
    return source.isidentifier()


# -- building ------------------------------------------------------------------------------------


def _build_plan(base: str, dims: tuple[str, ...], windows: list[tuple[dt.datetime, dt.datetime]],
                as_of: dt.datetime, conf: dict, grain: str = "month") -> S.Plan:
    from metrics.compute import _source_verdict

    kpis = kpis_of(base)
    return S.Plan(kpis=kpis, by=list(dims), grain=grain, windows=windows, sla_hours=conf.get("sla_hours") or {},
                  as_of=as_of, source_verdict=_source_verdict(conf), matured_before={k.id: FAR for k in kpis})


def _aggregate_sql(base: str, dims: tuple[str, ...], span: str, windows: list[tuple[dt.datetime, dt.datetime]],
                   as_of: dt.datetime, conf: dict) -> tuple[str, dict]:
    """The facts' ``span`` (month or day) × ``dims`` aggregate of ``base``'s rolled-up KPIs over ``windows``."""
    b = S._Builder(_build_plan(base, dims, windows, as_of, conf, span))
    b.add_base(base, kpis_of(base), select=False)
    return "WITH " + ",\n".join(b.ctes) + f"\nSELECT '{span}' AS span, * FROM a_{base}", b.p.values


def _summed_sql(base: str, source: str, dims: tuple[str, ...], where: str) -> str:
    b = S._Builder(_build_plan(base, dims, [(EARLY, FAR)], FAR, {}))
    sums = ", ".join(f"sum({c}) AS {c}" for c in b.measure_names(kpis_of(base)))
    group = "".join(f", d_{d}" for d in dims)
    return f"SELECT span, period_start{group}, {sums} FROM {source} WHERE {where} GROUP BY ALL"


def config_for(con: duckdb.DuckDBPyConnection) -> dict:
    """The configuration that applies to the database ``con`` has open (as ``aftersales`` resolves it)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    path = Path(rows[0][0]) if rows and rows[0][0] else None
    return cfg.load_config(None, path)


def _as_of(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    return con.execute("SELECT max(created_at) FROM ticket_facts").fetchall()[0][0]


def _horizons(as_of: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """(the first month not complete, the first day not complete) by ``as_of``."""
    if as_of is None:
        return EARLY, EARLY
    return dt.datetime(as_of.year, as_of.month, 1), dt.datetime(as_of.year, as_of.month, as_of.day)


def _pieces(base: str, months: list[tuple[dt.datetime, dt.datetime]], horizon: dt.datetime,
            days: dt.datetime) -> list[tuple[str, list[tuple[dt.datetime, dt.datetime]]]]:
    """What to compute for ``base``: the month ranges asked, the complete days of the horizon's
    month, and for the backlog its month of the as-of (aged at the as-of; see ``choose``)."""
    out = [("month", months)] if months else []
    if base == "backlog":
        out.append(("month", [(horizon, _next_month(horizon))]))
    elif base in TIME_BOUND:
        if days > horizon:
            out.append(("day", [(horizon, days)]))
    else:  # rows counted by their own date: the current month and its days as loaded so far
        out += [("month", [(horizon, FAR)]), ("day", [(horizon, FAR)])]
    return out


def _write(con: duckdb.DuckDBPyConnection, base: str, months: list[tuple[dt.datetime, dt.datetime]],
           as_of: dt.datetime, conf: dict, create: bool, where: str, params: dict) -> None:
    horizon, days = _horizons(as_of)
    for name in FROM_FACTS:
        t = table(name, base)
        if not create:
            con.execute(f"DELETE FROM {t} WHERE {where}", params)
        pieces = list(_pieces(base, months, horizon, days))
        if create and not pieces:  # no data yet: the table still exists, empty, for later patches and reads
            pieces = [("month", [(EARLY, EARLY)])]
        for i, (span, windows) in enumerate(pieces):
            sql, values = _aggregate_sql(base, ROLLUPS[name], span, windows, as_of, conf)
            head = f"CREATE OR REPLACE TABLE {t} AS" if create and i == 0 else f"INSERT INTO {t} BY NAME"
            con.execute(f"{head} {sql} ORDER BY period_start", values)  # zone maps by month
    t = table("total", base)
    if create:
        con.execute(f"CREATE OR REPLACE TABLE {t} AS {_summed_sql(base, table('coded', base), (), 'TRUE')}")
    else:
        con.execute(f"DELETE FROM {t} WHERE {where}", params)
        con.execute(f"INSERT INTO {t} BY NAME {_summed_sql(base, table('coded', base), (), where)}", params)


def build(con: duckdb.DuckDBPyConnection, conf: dict | None = None) -> int:
    """Every rollup table built whole from the derived tables on ``con`` (a writer session, the
    facts current); returns the rows written."""
    conf = conf if conf is not None else config_for(con)
    as_of = _as_of(con) or EARLY
    horizon, _ = _horizons(as_of)
    rows = 0
    for base in BASES:
        _write(con, base, [(EARLY, horizon)] if horizon > EARLY else [], as_of, conf, True, "TRUE", {})
        rows += sum(con.execute(f"SELECT count(*) FROM {table(n, base)}").fetchall()[0][0] for n in ROLLUPS)
    _publish(con, conf, as_of)
    return rows


def _publish(con: duckdb.DuckDBPyConnection, conf: dict, as_of: dt.datetime) -> None:
    from metrics.compute import _source_verdict

    horizon, days = _horizons(as_of)
    values = {"load": _facts_load(con) or "0", "code": code_version(), "horizon": horizon.isoformat(),
              "days": days.isoformat(), "as_of": as_of.isoformat(),
              "sla": sla_version(conf.get("sla_hours") or {}, _source_verdict(conf))}
    for name, key in STATE.items():
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ($k, $v)", {"k": key, "v": values[name]})
    _store_lags(con, values["load"])


# The survey and first-response lags (metrics.maturity) are quantiles over the data's last 90 days,
# measured by every provisional query's plan (a join of surveys and tickets: ~0.3 s CPU at 10M):
# measured here once per load for the data's own horizon, and read back by maturity.measured_lag.
LAG_KEY = "rollup.lag."


def _store_lags(con: duckdb.DuckDBPyConnection, load: str) -> None:
    from metrics import maturity

    horizon = maturity.data_horizon(con)
    if horizon is None:
        return
    for lag in R.LAGS:
        value = json.dumps({"load": load, "horizon": horizon.isoformat(), "days": maturity._measure(con, lag, horizon)})
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ($k, $v)", {"k": LAG_KEY + lag, "v": value})


def stored_lag(con: duckdb.DuckDBPyConnection, lag: str, horizon: dt.datetime) -> int | None:
    """The lag the last load measured, if it was measured for ``horizon`` on the data as they are."""
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = $k", {"k": LAG_KEY + lag}).fetchall()
    except duckdb.CatalogException:
        return None
    if not rows:
        return None
    got = json.loads(rows[0][0])
    last = con.execute("SELECT coalesce(max(load_id), 0) FROM loads").fetchall()[0][0]
    if got.get("horizon") != horizon.isoformat() or got.get("load") != str(last):
        return None
    return int(got["days"])


def patch(con: duckdb.DuckDBPyConnection, months: list[dt.datetime], conf: dict | None = None) -> int:
    """Recompute the complete ``months`` touched (plus every month the horizon moved past) and, when
    the as-of moved or a touched month is the current one, the current month's rows, in every
    rollup table; returns how many months were recomputed (0: nothing to do)."""
    conf = conf if conf is not None else config_for(con)
    state = _state(con)
    as_of = _as_of(con)
    if as_of is None:
        return 0
    horizon, _ = _horizons(as_of)
    old = dt.datetime.fromisoformat(state["horizon"])
    todo = {m for m in months if m < horizon}
    m = old
    while m < horizon:
        todo.add(m)
        m = _next_month(m)
    current = any(m >= horizon for m in months) or state.get("as_of") != as_of.isoformat()
    if not todo and not current:
        return 0
    ordered = sorted(todo)
    # the touched months, and whatever lies past the horizon (the current month's rows) whenever
    # anything changed: the day rows and the backlog's month of the as-of
    params = {"months": [m.date() for m in ordered], "horizon": horizon.date()}
    where = ("(span = 'month' AND period_start IN (SELECT unnest(CAST($months AS DATE[])))) OR span = 'day'"
             " OR period_start >= $horizon")
    for base in BASES:
        _write(con, base, list(_as_ranges(ordered)), as_of, conf, False, where, params)
    _publish(con, conf, as_of)
    return len(ordered) + 1


# -- kept current by the pipeline ---------------------------------------------------------------

TOUCHED = "rollup_touched_months"


def note_touched(con: duckdb.DuckDBPyConnection) -> None:
    """Remember the months the tickets in ``facts_touched`` (``pipelines.derive``'s patch) count in,
    as their derived rows are now: called before the patch replaces the rows and after."""
    conf = config_for(con)
    longest = max((float(h) for stage in (conf.get("sla_hours") or {}).values() for h in stage.values()), default=0.0)
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {TOUCHED} (month DATE)")
    # From creation to the ticket's last date (its due times, resolution, closing, first visit;
    # open tickets count in the backlog up to now), and its surveys' and parts' own dates.
    con.execute(f"""
        INSERT INTO {TOUCHED}
        SELECT DISTINCT CAST(unnest(generate_series(date_trunc('month', lo), date_trunc('month', hi),
                                                   INTERVAL 1 MONTH)) AS DATE)
        FROM (
            SELECT least(t.created_at, t.resolved_at, t.closed_at) AS lo,
                   greatest(t.created_at + $slack, t.resolved_at, t.closed_at, t.visit1_started_at,
                            t.first_response_at,
                            CASE WHEN t.resolved_at IS NULL THEN (SELECT max(created_at) FROM tickets) END) AS hi
            FROM ticket_facts t WHERE t.ticket_id IN (SELECT ticket_id FROM facts_touched)
            UNION ALL
            SELECT responded_at, responded_at FROM survey_facts
            WHERE ticket_id IN (SELECT ticket_id FROM facts_touched) AND responded_at IS NOT NULL
            UNION ALL
            SELECT started_at, started_at FROM part_facts
            WHERE ticket_id IN (SELECT ticket_id FROM facts_touched) AND started_at IS NOT NULL
        ) WHERE lo IS NOT NULL""", {"slack": dt.timedelta(hours=longest)})


def refresh(con: duckdb.DuckDBPyConnection, rebuilt: bool, since: int | None = None) -> str | None:
    """Bring the rollups up to date with the derived tables (called by ``pipelines.derive`` once
    they reflect every load): built whole after a rebuild, when missing or stale, or when they
    did not reflect the load ``since`` the patch started from; else the noted months patched."""
    touched: list[dt.datetime] = []
    try:
        touched = [dt.datetime.combine(r[0], dt.time()) for r in
                   con.execute(f"SELECT DISTINCT month FROM {TOUCHED}").fetchall()]
        con.execute(f"DROP TABLE {TOUCHED}")
    except duckdb.CatalogException:
        pass
    state = _state(con)
    conf = config_for(con)
    from metrics.compute import _source_verdict

    stale = (not state or state.get("code") != code_version() or "horizon" not in state
             or state.get("sla") != sla_version(conf.get("sla_hours") or {}, _source_verdict(conf))
             or state.get("load") != str(since)
             or not all(t in _tables(con) for t in (table(n, b) for n in ROLLUPS for b in BASES)))
    if rebuilt or stale:
        return f"rollups built ({build(con, conf):,} rows)"
    n = patch(con, touched, conf)
    return f"rollups patched ({n} months)" if n else None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
