"""The one place metric SQL is generated.

Identifiers come only from allow-lists (``registry.DIMENSIONS``, ``registry.GRAINS``, the KPI
declarations); every value (dates, filter values, SLA limits) is a bound ``$parameter``. The
statement computes every requested KPI sharing a base in one scan and one GROUP BY (measures as
``FILTER`` clauses) and returns one long row per KPI × period × breakdown, with the raw measures
only; values, intervals and comparisons are derived from those in ``metrics.query``.

Tickets are read from ``ticket_facts`` (``pipelines.derive``): one row per ticket with its
outlet, product, first-visit, next-repair and survey facts already joined, so each ticket base is
a single-table scan pruned by its time window; surveys and parts join it only for breakdowns.

``build(plan)`` returns ``(sql, params)``; ``aftersales kpi ... --show-sql`` prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aftersales import model
from metrics import registry as R
from metrics.cost import rates as cost_rates
from metrics.registry import KpiDef

OPEN = "(" + ", ".join(f"'{s}'" for s in model.OPEN_STATUSES) + ")"
# Quantile KPIs compute these levels around p in the same aggregate, for an order-statistic
# interval interpolated between them (see metrics.stats.quantile_ci).
QUANTILE_CI_OFFSETS = (0.02, 0.07, 0.2)

# How each dimension is read, per base (default: the ticket-level expression, on ticket_facts).
DIM_SQL = {
    "region": "t.region", "city": "t.city", "outlet": "t.outlet_id", "outlet_type": "t.outlet_type",
    "technician": "t.technician_id", "channel": "t.channel", "service_type": "t.service_type",
    "product_category": "t.product_category", "product_model": "t.product_model", "priority": "t.priority",
    "complaint_reason": "t.complaint_reason",
    "warranty": "(CASE WHEN t.in_warranty THEN 'in' WHEN NOT t.in_warranty THEN 'out' END)",
}
DIM_SQL_BY_BASE = {
    "parts": {"part_no": "t.part_no"},  # part_facts.technician_id: the visit's, else the ticket's
    "orders_side": {"channel": "od.channel", "product_category": "od.product_category"},
}
GRAIN_INTERVAL = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH",
                  "quarter": "INTERVAL 3 MONTH", "year": "INTERVAL 1 YEAR"}


@dataclass
class Plan:
    """What to compute: resolved and validated by ``metrics.query`` before SQL is built."""

    kpis: list[KpiDef]
    by: list[str]
    grain: str | None  # None: the whole window is one period
    windows: list[tuple[dt.datetime, dt.datetime]]  # [lo, hi) ranges of period starts to compute
    where: dict[str, list[str]] = field(default_factory=dict)
    sla_hours: dict[str, dict[str, float]] = field(default_factory=dict)
    as_of: dt.datetime | None = None  # None: the latest created_at in the data
    # The source's own resolution-SLA verdict (tickets.sla_met_source) decides where a ticket
    # carries one; False: the configured limits judge every ticket (config sla_verdict = "limits").
    source_verdict: bool = True
    # Where ticket, survey and part facts are read: the derived tables, or (databases no load has
    # refreshed, such as hand-built test data) their defining SELECTs inline; see
    # metrics.compute.facts_source.
    facts: dict[str, str] = field(default_factory=lambda: {t: t for t in ("ticket_facts", "survey_facts", "part_facts")})
    # Provisional numbers (registry.Maturity): the data's horizon, each KPI's delay in days after a
    # period's end before it is final, and, for KPIs whose scan reaches a period that is not yet final,
    # the time before which a record's own window has closed (the count of those, `matured`, makes
    # completeness). Empty: nothing is provisional (SQL unchanged).
    horizon: dt.datetime | None = None
    delays: dict[str, int] = field(default_factory=dict)
    matured_before: dict[str, dt.datetime] = field(default_factory=dict)
    # Cost rates (config [cost], checked by metrics.cost.rates): labour_rate_per_hour {service
    # type or "default": yuan}, travel_fee_per_visit, travel_rate_per_minute.
    cost: dict[str, Any] = field(default_factory=lambda: cost_rates(None))  # default: the built-in rates
    # Bases whose KPIs (those named) are read, for some whole months, from a rollup table
    # (metrics.rollup.choose): the rest of their windows from the facts, summed with it.
    rollup: dict[str, Rolled] = field(default_factory=dict)


@dataclass(frozen=True)
class Rolled:
    """A base's periods read from a rollup table: ``table`` (a name from metrics.rollup's fixed
    list), the [lo, hi) ranges of its month rows and of its day rows it answers, and the KPIs it
    holds measures for."""

    table: str
    months: tuple[tuple[dt.datetime, dt.datetime], ...]
    days: tuple[tuple[dt.datetime, dt.datetime], ...]
    kpis: tuple[str, ...]


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.values)}"
        self.values[name] = value
        return "$" + name


def quantile_levels(p: float) -> list[float]:
    """The levels a quantile KPI computes: p first, then the interval grid around it."""
    levels = {round(min(1.0, max(0.0, p + s * o)), 4) for o in QUANTILE_CI_OFFSETS for s in (-1, 1)}
    levels.discard(p)
    return [p] + sorted(levels)


def _dim_expr(dim: str, base: str) -> str:
    return DIM_SQL_BY_BASE.get(base, {}).get(dim) or DIM_SQL[dim]


class _Builder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.p = _Params()
        self.dim_cols = [f"d_{d}" for d in plan.by]
        self.ctes: list[str] = []
        self.selects: list[str] = []
        self.facts = plan.facts["ticket_facts"]
        self.only: list[tuple[dt.datetime, dt.datetime]] | None = None  # ranges() while building a rolled base's rest
        self.suffix = ""  # CTE names of that rest

    # -- pieces -------------------------------------------------------------------------------
    def window(self, col: str) -> str:
        parts = [f"({col} >= {self.p.add('lo', lo)} AND {col} < {self.p.add('hi', hi)})" for lo, hi in self.ranges()]
        return "(" + " OR ".join(parts) + ")"

    def ranges(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """The windows with overlapping or touching ones merged (a year of months with its previous
        periods and last year is one range): fewer OR terms, one zone-map range per scan."""
        if self.only is not None:
            return self.only
        out: list[list[dt.datetime]] = []
        for lo, hi in sorted(self.plan.windows):
            if out and lo <= out[-1][1]:
                out[-1][1] = max(out[-1][1], hi)
            else:
                out.append([lo, hi])
        return [(lo, hi) for lo, hi in out]

    def filters(self, base: str) -> str:
        return self._filters(base, list(self.plan.where))

    def _filters(self, base: str, dims: list[str]) -> str:
        out = []
        for dim in dims:
            values = self.plan.where[dim]
            if not values:  # a filter wholly outside the data scope (metrics.scope.narrowed): nothing
                out.append("FALSE")
                continue
            binds = ", ".join(self.p.add("w", v) for v in values)
            out.append(f"{_dim_expr(dim, base)} IN ({binds})")
        return "".join(f"\n      AND {f}" for f in out)

    def dim_select(self, base: str) -> str:
        return "".join(f"{_dim_expr(d, base)} AS d_{d}, " for d in self.plan.by)

    def period(self, ts: str) -> str:
        if self.plan.grain is None:
            return f"CAST({self.p.add('period', self.plan.windows[0][0])} AS DATE)"
        return f"CAST(date_trunc('{self.plan.grain}', {ts}) AS DATE)"

    def lo_all(self) -> dt.datetime:
        return min(lo for lo, _ in self.only or self.plan.windows)

    def hi_all(self) -> dt.datetime:
        return max(hi for _, hi in self.only or self.plan.windows)

    def as_of_sql(self) -> str:
        if self.plan.as_of is not None:
            return self.p.add("as_of", self.plan.as_of)
        if "as_of" not in [c.split(" ", 1)[0] for c in self.ctes]:
            self.ctes.insert(0, "as_of AS (SELECT max(created_at) AS ts FROM tickets)")
        return "(SELECT ts FROM as_of)"

    def sla_limit(self, stage: str) -> str:
        limits = self.plan.sla_hours.get(stage) or {}
        default = float(limits.get("default", 0.0) or 0.0)
        # Bound as intervals: hours × 3,600,000,000 cast per row made this CASE most of an SLA scan.
        whens = "".join(f" WHEN {self.p.add('st', st)} THEN {self.p.add('h', dt.timedelta(hours=float(h)))}"
                        for st, h in limits.items() if st != "default")
        other = self.p.add('h', dt.timedelta(hours=default))
        return f"(CASE t.service_type{whens} ELSE {other} END)" if whens else other

    # -- bases: each returns the FROM/WHERE of its row set, exposing `ts` and row columns --------
    def done_tickets(self, base: str, col: str, statuses: tuple[str, ...], dims: str, cond: str) -> str:
        """A CTE of the tickets whose ``col`` falls in the windows, plus those marked done without
        ``col`` (placed in their created period, reported as excluded). Two UNION ALL halves keep
        both zone-map prunable (on ticket_facts an OR of the two reads every row). Returns the CTE's name."""
        name = f"sel_{base}{self.suffix}"
        marked = ", ".join(f"'{st}'" for st in statuses)
        missing = f"t.{col} IS NULL AND t.status IN ({marked}) AND {self.window('t.created_at')}"
        head = f"SELECT {dims}{{ts}} AS ts, t.*\n    FROM {self.facts} t\n    WHERE {{w}} AND {cond}"
        a = head.format(ts=f"t.{col}", w=self.window(f"t.{col}")) + self.filters(base)
        b = head.format(ts="t.created_at", w=missing) + self.filters(base)
        self.ctes.append(f"{name} AS (\n    {a}\n    UNION ALL\n    {b}\n)")
        return name

    def base_rows(self, base: str) -> str:
        dims = self.dim_select(base)
        f = self.facts
        if base == "created":
            return (f"SELECT {dims}t.created_at AS ts, t.*\n    FROM {f} t\n"
                    f"    WHERE {self.window('t.created_at')}{self.filters(base)}")
        if base in ("resolved", "repair"):
            # repair rows carry visit1_outcome, has_visit1 and next_repair_at from ticket_facts
            sel = self.done_tickets(base, "resolved_at", ("resolved", "closed"), dims,
                                    "t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'"
                                    + (" AND t.service_type = 'repair'" if base == "repair" else ""))
            return f"SELECT * FROM {sel}"
        if base == "closed":  # rows carry has_survey from ticket_facts
            return f"SELECT * FROM {self.done_tickets(base, 'closed_at', ('closed',), dims, 'TRUE')}"
        if base in ("sla_first_response", "sla_resolution", "sla_onsite"):
            # Tickets are pre-filtered on created_at (zone maps), then exactly on their due time.
            stage = base[4:]
            slack = dt.timedelta(hours=max(self._sla_hours(), default=0.0))
            created = " OR ".join(f"(t.created_at >= {self.p.add('sla_lo', lo - slack)} AND t.created_at < {self.p.add('sla_hi', hi)})"
                                  for lo, hi in self.ranges())
            done = {"first_response": "t.first_response_at", "resolution": "t.resolved_at",
                    "onsite": "t.visit1_started_at"}[stage]
            extra = ""
            if stage == "onsite":
                types = ", ".join(self.p.add("ft", st) for st in R.FIELD_SERVICE_TYPES)
                extra = f" AND t.service_type IN ({types})"
            # The source's own verdict on its resolution SLA decides where a ticket carries one.
            verdict = "t.sla_met_source" if stage == "resolution" and self.plan.source_verdict else "NULL::BOOLEAN"
            inner = (f"SELECT {dims}t.ticket_id, t.status IN {OPEN} AS is_open, t.created_at AS sla_created,"
                     f" t.created_at + {self.sla_limit(stage)} AS due_at, {done} AS done_at, {verdict} AS verdict\n"
                     f"      FROM {f} t\n"
                     f"      WHERE ({created}) AND t.status <> 'cancelled'{extra}"
                     f"{self.filters(base)}")
            as_of = self.as_of_sql()
            in_window, passed = self.window('due_at'), f"done_at IS NOT NULL OR due_at <= {as_of}"
            if min(self._sla_hours(), default=0.0) >= 0:
                # due_at lies between created_at and created_at + the longest limit, so most rows are
                # decided on created_at alone and the due time is computed only near the edges.
                surely = " OR ".join(f"(sla_created >= {self.p.add('lo', lo)} AND sla_created < {self.p.add('hi', hi - slack)})"
                                     for lo, hi in self.ranges())
                in_window = f"({surely} OR {in_window})"
                passed = f"done_at IS NOT NULL OR sla_created <= {as_of} - {self.p.add('slack', slack)} OR due_at <= {as_of}"
            return (f"SELECT * EXCLUDE (sla_created), due_at AS ts FROM ({inner}) x\n"
                    f"    WHERE {in_window} AND ({passed})")
        if base == "responses":  # survey_facts: responses with their ticket's breakdown columns
            return (f"SELECT {dims}t.responded_at AS ts, t.*\n    FROM {self.plan.facts['survey_facts']} t\n"
                    f"    WHERE {self.window('t.responded_at')}{self.filters(base)}")
        if base == "parts":  # part_facts: parts used with the visit's start and the ticket's columns
            return (f"SELECT {dims}t.started_at AS ts, t.*\n    FROM {self.plan.facts['part_facts']} t\n"
                    f"    WHERE {self.window('t.started_at')}{self.filters(base)}")
        if base == "backlog":
            return self._backlog_rows(dims)
        if base == "cost":
            return self._cost_rows(dims)
        raise AssertionError(base)

    def _cost_rows(self, dims: str) -> str:
        """Resolved tickets with what they cost, priced at the bound rates from what ticket_facts
        holds per ticket (its visits' time, on-site visits, travel minutes, parts at cost)."""
        sel = self.done_tickets("cost", "resolved_at", ("resolved", "closed"), dims,
                                "t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'")
        rates = self.plan.cost.get("labour_rate_per_hour") or {}
        whens = "".join(f" WHEN {self.p.add('lr_st', st)} THEN {self.p.add('lr', float(r))}"
                        for st, r in rates.items() if st != "default")
        other = self.p.add("lr", float(rates.get("default", 0.0) or 0.0))
        labour_rate = f"(CASE s.service_type{whens} ELSE {other} END)" if whens else other
        fee = self.p.add("visit_fee", float(self.plan.cost.get("travel_fee_per_visit", 0.0) or 0.0))
        per_min = self.p.add("travel_rate", float(self.plan.cost.get("travel_rate_per_minute", 0.0) or 0.0))
        # Each amount is rounded to the fen per ticket (DECIMAL): sums are exact, additive and
        # independent of the order rows are read in. Workshop visits have no visit fee.
        money = "CAST(round({}, 2) AS DECIMAL(18, 2))"
        hours = "s.visit_us / 3600000000.0"
        priced = (f"SELECT s.*, s.visit_count AS n_visits, {hours} AS labour_hours,"
                  f" {money.format('s.visit_parts_cost')} AS parts_cost,"
                  f" {money.format(f'{hours} * {labour_rate}')} AS labour_cost,"
                  f" {money.format(f's.onsite_visits * {fee} + s.visit_travel_minutes * {per_min}')} AS travel_cost,"
                  f" {money.format('coalesce(s.refund_amount, 0)')} AS refund_cost\n"
                  f"      FROM {sel} s")
        return (f"SELECT *, parts_cost + labour_cost + travel_cost + refund_cost AS total_cost\n"
                f"    FROM ({priced}) x")

    def _sla_hours(self) -> list[float]:
        """Every configured limit, of every stage and service type."""
        return [float(h) for stage in self.plan.sla_hours.values() for h in stage.values()]

    def _backlog_rows(self, dims: str) -> str:
        as_of = self.as_of_sql()
        src, filters = self.facts, self.filters("backlog")
        if self.plan.grain is None:
            end = self.p.add("bl_end", self.hi_all())
            src = (f"SELECT {dims}t.ticket_id, t.created_at, {end} AS period_end\n      FROM {src} t\n"
                   f"      WHERE t.created_at < {end} AND t.status <> 'cancelled'"
                   f" AND ({model.open_now('t')} OR t.resolved_at >= {end}){filters}")
            return (f"SELECT *, period_end AS ts, epoch(least(period_end, {as_of}) - created_at) / 86400.0 AS age_days\n"
                    f"    FROM ({src}) x")
        g, step = self.plan.grain, GRAIN_INTERVAL[self.plan.grain]
        first = self.p.add("bl_first", self.lo_all())
        last = self.p.add("bl_last", self.hi_all())
        # A ticket is open at period end E (the next period's start) if created < E <= resolved.
        # Each ticket yields the period ends it spans: usually none (resolved within its period).
        # Two UNION ALL halves (still open; resolved after the first period end) so the second
        # stays zone-map prunable on resolved_at.
        first_end = f"greatest(date_trunc('{g}', t.created_at) + {step}, {first} + {step})"

        def head(first_end: str) -> str:
            return (f"SELECT {dims}t.ticket_id, t.created_at,\n"
                    f"        {first_end} AS first_end,\n"
                    f"        least(coalesce(date_trunc('{g}', t.resolved_at), date_trunc('{g}', {as_of}) + {step}), {last}) AS last_end\n"
                    f"      FROM {src} t\n"
                    f"      WHERE t.created_at < {last} AND t.status <> 'cancelled'\n        AND ")
        # A resolved ticket spans a period end only if created before the start of its resolution's
        # period; the others (most: resolved in the period they were created) get no first_end, so
        # the period ends are worked out for the few that span one (0.45 -> 0.35 s CPU for a year
        # of months at 10M). Without the test they would fail first_end <= last_end anyway.
        spans = f"CASE WHEN t.created_at < date_trunc('{g}', t.resolved_at) THEN {first_end} END"
        src = (head(first_end) + f"{model.open_now('t')}{filters}\n      UNION ALL\n      "
               + head(spans) + f"t.resolved_at >= {first} + {step}{filters}")
        return (f"SELECT * EXCLUDE (first_end, last_end, period_end), period_end - {step} AS ts,\n"
                f"        epoch(least(period_end, {as_of}) - created_at) / 86400.0 AS age_days\n"
                f"    FROM (SELECT *, unnest(generate_series(first_end, last_end, {step})) AS period_end\n"
                f"          FROM ({src}) x WHERE first_end <= last_end) y\n"
                f"    WHERE {self.window('period_end - ' + step)}")

    # -- measures -----------------------------------------------------------------------------
    @staticmethod
    def _counted(k: KpiDef) -> str:
        if not k.exclusions:
            return f"({k.scope})"
        excl = " OR ".join(f"coalesce({e.condition}, FALSE)" for e in k.exclusions)
        return f"({k.scope}) AND NOT ({excl})"

    def measures(self, k: KpiDef, flag) -> list[str]:
        """The aggregates of ``k``; ``flag(expr)`` names a per-record column computed once (shared
        by every KPI using the same expression) so each aggregate is a plain FILTER on it."""
        i, c = k.id, flag(self._counted(k))
        out: list[str] = []
        if k.kind == "count":
            out += [f"count_if({c}) AS {i}__num", f"NULL::DOUBLE AS {i}__den", f"{i}__num AS {i}__n"]
        elif k.kind == "sum":
            v = flag(k.value)
            out += [f"sum({v}) FILTER (WHERE {c}) AS {i}__num", f"NULL::DOUBLE AS {i}__den",
                    f"count_if({c}) AS {i}__n"]
        elif k.kind == "ratio":
            out += [f"count_if({flag(f'{self._counted(k)} AND coalesce({k.num}, FALSE)')}) AS {i}__num",
                    f"count_if({c}) AS {i}__den", f"{i}__den AS {i}__n"]
        elif k.kind == "nps":
            out += [f"count_if({flag(f'{self._counted(k)} AND coalesce({k.num}, FALSE)')}) AS {i}__a1",
                    f"count_if({flag(f'{self._counted(k)} AND coalesce({k.num2}, FALSE)')}) AS {i}__a2",
                    f"{i}__a1 - {i}__a2 AS {i}__num", f"count_if({c}) AS {i}__den", f"{i}__den AS {i}__n"]
        elif k.kind == "mean" and k.unit == "yuan":
            # Amounts are DECIMAL to the fen: summed exactly, whatever order the rows come in.
            v = flag(k.value)
            out += [f"CAST(sum({v}) FILTER (WHERE {c}) AS DOUBLE) AS {i}__num",
                    f"count({v}) FILTER (WHERE {c}) AS {i}__den", f"{i}__den AS {i}__n",
                    f"CAST(sum({v} * {v}) FILTER (WHERE {c}) AS DOUBLE) AS {i}__ss"]
        elif k.kind == "mean":
            v = flag(f"CAST({k.value} AS DOUBLE)")
            out += [f"sum({v}) FILTER (WHERE {c}) AS {i}__num", f"count({v}) FILTER (WHERE {c}) AS {i}__den",
                    f"{i}__den AS {i}__n", f"sum({v} * {v}) FILTER (WHERE {c}) AS {i}__ss"]
        elif k.kind == "quantile":
            assert k.quantile is not None
            v = flag(f"CAST({k.value} AS DOUBLE)")
            out += [f"quantile_cont({v}, {quantile_levels(k.quantile)}) FILTER (WHERE {c}) AS {i}__q",
                    f"count({v}) FILTER (WHERE {c}) AS {i}__n"]
        out += [f"count_if({flag(f'{self._counted(k)} AND coalesce({b.condition}, FALSE)')}) AS {i}__b_{b.code}"
                for b in k.basis]
        if k.evidence:
            out.append(f"count_if({flag(f'({k.scope}) AND coalesce({k.evidence}, FALSE)')}) AS {i}__ev")
        if k.id in self.plan.matured_before:
            cutoff = self.p.add("matured", self.plan.matured_before[k.id])
            out.append(f"count_if({flag(f'{self._counted(k)} AND ts < {cutoff}')}) AS {i}__mat")
        prev: list[str] = []
        for e in k.exclusions:
            cond = f"({k.scope}) AND coalesce({e.condition}, FALSE)" + "".join(f" AND NOT coalesce({p}, FALSE)" for p in prev)
            out.append(f"count_if({flag(cond)}) AS {i}__x_{e.reason}")
            prev.append(e.condition)
        return out

    def long_select(self, k: KpiDef, agg: str) -> str:
        i = k.id
        dims = "".join(f", {c}" for c in self.dim_cols)
        num = f"CAST({i}__num AS DOUBLE)" if k.kind != "quantile" else "NULL::DOUBLE"
        den = f"CAST({i}__den AS DOUBLE)" if k.kind not in ("quantile",) else "NULL::DOUBLE"
        ss = f"CAST({i}__ss AS DOUBLE)" if k.kind == "mean" else "NULL::DOUBLE"
        aux = f"[CAST({i}__a1 AS DOUBLE), CAST({i}__a2 AS DOUBLE)]" if k.kind == "nps" else "NULL::DOUBLE[]"
        q = f"{i}__q" if k.kind == "quantile" else "NULL::DOUBLE[]"
        excl = ("[" + ", ".join(f"{i}__x_{e.reason}" for e in k.exclusions) + "]::BIGINT[]") if k.exclusions else "[]::BIGINT[]"
        basis = ("[" + ", ".join(f"{i}__b_{b.code}" for b in k.basis) + "]::BIGINT[]") if k.basis else "NULL::BIGINT[]"
        evidence = f"CAST({i}__ev AS BIGINT)" if k.evidence else "NULL::BIGINT"
        matured = f", CAST({i}__mat AS BIGINT) AS matured" if i in self.plan.matured_before else ""
        return (f"SELECT '{i}' AS kpi, period_start{dims}, {num} AS numerator, {den} AS denominator,"
                f" CAST({i}__n AS BIGINT) AS n_records, {ss} AS sumsq, {aux} AS aux, {q} AS quantiles,"
                f" {excl} AS excluded, {basis} AS basis, {evidence} AS evidence{matured}\n  FROM {agg}")

    def add_base(self, base: str, kpis: list[KpiDef], name: str = "", select: bool = True) -> None:
        if base == "orders":
            for k in kpis:
                self._add_orders(k)
            return
        name = name or base
        rows = f"b_{name}"
        self.ctes.append(f"{rows} AS (\n    {self.base_rows(base)}\n)")
        flags: dict[str, str] = {}

        def flag(expr: str) -> str:
            return flags.setdefault(expr, f"f{len(flags)}")

        measures = ",\n    ".join(m for k in kpis for m in self.measures(k, flag))
        group = "".join(f", {c}" for c in self.dim_cols)
        cols = ",\n      ".join(f"{expr} AS {name}" for expr, name in flags.items())
        self.ctes.append(f"a_{name} AS (\n  SELECT {self.period('ts')} AS period_start{group},\n    {measures}\n"
                         f"  FROM (SELECT ts{group},\n      {cols}\n    FROM {rows})\n  GROUP BY ALL\n)")
        if select:
            self.selects += [self.long_select(k, f"a_{name}") for k in kpis]

    def measure_names(self, kpis: list[KpiDef]) -> list[str]:
        """The columns ``measures`` names for ``kpis`` (what a rollup table stores per KPI)."""
        scratch = _Builder(self.plan)  # its bound values are thrown away with it
        return [m.rsplit(" AS ", 1)[1] for k in kpis for m in scratch.measures(k, lambda e: "f")]

    def add_rolled(self, base: str, kpis: list[KpiDef], part: Rolled) -> None:
        """``kpis`` of ``base`` summed from the rollup table's month and day rows and, for the rest
        of the windows (the data's last day, a week grain, periods a number is not yet final in),
        from the facts. Every measure is a count or a sum, so the sum of the two is the measure
        over all the records. A stored row lies wholly before or wholly after each KPI's
        matured-before time (``metrics.rollup.choose``): its records' windows all closed, or none."""
        cols = self.measure_names(kpis)
        group = "".join(f", {c}" for c in self.dim_cols)
        rest = _subtract(self.ranges(), [*part.months, *part.days])
        sources = []
        if rest:
            self.only, self.suffix = rest, "_f"
            self.add_base(base, kpis, name=f"{base}_f", select=False)
            self.only, self.suffix = None, ""
            sources.append(f"SELECT * FROM a_{base}_f")

        def rows(span: str, ranges: tuple[tuple[dt.datetime, dt.datetime], ...]) -> str:
            within = " OR ".join(f"(period_start >= {self.p.add('rlo', lo.date())} AND period_start < "
                                 f"{self.p.add('rhi', hi.date())})" for lo, hi in ranges)
            return f"(span = '{span}' AND ({within}))"

        stored = []
        for c in cols:
            kpi_id = c.rsplit("__", 1)[0]
            if c.endswith("__mat") and kpi_id in self.plan.matured_before:
                cut = self.p.add("rcut", self.plan.matured_before[kpi_id])
                stored.append(f"sum(CASE WHEN period_start < {cut} THEN {c} ELSE 0 END) AS {c}")
            else:
                stored.append(f"sum({c}) AS {c}")
        spans = " OR ".join(rows(span, r) for span, r in (("month", part.months), ("day", part.days)) if r)
        # an empty list is a filter wholly outside the data scope: nothing, as in _filters
        filters = "".join(f" AND d_{dim} IN ({', '.join(self.p.add('w', v) for v in values)})" if values
                          else " AND FALSE" for dim, values in self.plan.where.items())
        sources.append(f"SELECT {self.period('period_start')} AS period_start{group}, {', '.join(stored)}\n"
                       f"    FROM {part.table} WHERE ({spans}){filters}\n    GROUP BY ALL")
        union = "\n    UNION ALL BY NAME\n    ".join(sources)
        sums = ", ".join(f"sum({c}) AS {c}" for c in cols)
        self.ctes.append(f"a_{base}_r AS (\n  SELECT period_start{group}, {sums}\n  FROM (\n    {union}\n  )\n  GROUP BY ALL\n)")
        self.selects += [self.long_select(k, f"a_{base}_r") for k in kpis]

    def _add_orders(self, k: KpiDef) -> None:
        dims_t = self.dim_select("created")
        dims_o = self.dim_select("orders_side")
        group = "".join(f", {c}" for c in self.dim_cols)
        on = " AND ".join(["c.period_start = o.period_start"] +
                          [f"c.{c} IS NOT DISTINCT FROM o.{c}" for c in self.dim_cols])
        coalesced = "".join(f", coalesce(c.{c}, o.{c}) AS {c}" for c in self.dim_cols)
        self.ctes.append(
            f"c_orders AS (\n  SELECT {self.period('t.created_at')} AS period_start{group},"
            f" count(*) FILTER (WHERE coalesce({k.num}, FALSE)) AS complaints\n"
            f"  FROM (SELECT {dims_t}t.created_at, t.is_complaint FROM {self.facts} t\n"
            f"    WHERE {self.window('t.created_at')}{self.filters('created')}) t\n  GROUP BY ALL\n)")
        od_ts = "CAST(od.order_date AS TIMESTAMP)"
        self.ctes.append(
            f"o_orders AS (\n  SELECT {self.period(od_ts)} AS period_start{group}, sum(od.orders) AS orders\n"
            f"  FROM (SELECT {dims_o}od.order_date, od.orders FROM orders_daily od\n"
            f"    WHERE {self.window(od_ts)}{self.filters('orders_side')}) od\n  GROUP BY ALL\n)")
        self.ctes.append(
            f"a_orders AS (\n  SELECT coalesce(c.period_start, o.period_start) AS period_start{coalesced},\n"
            f"    coalesce(c.complaints, 0) AS {k.id}__num, o.orders AS {k.id}__den,"
            f" coalesce(o.orders, 0) AS {k.id}__n\n"
            f"  FROM c_orders c FULL JOIN o_orders o ON {on}\n)")
        self.selects.append(self.long_select(k, "a_orders"))


def build(plan: Plan) -> tuple[str, dict[str, Any]]:
    """The statement computing ``plan``'s KPIs, and its bound parameters."""
    b = _Builder(plan)
    bases: dict[str, list[KpiDef]] = {}
    for k in plan.kpis:
        bases.setdefault(k.base, []).append(k)
    for base, kpis in bases.items():
        part = plan.rollup.get(base)
        rolled = [k for k in kpis if part is not None and k.id in part.kpis]
        rest = [k for k in kpis if k not in rolled]
        if rest:
            b.add_base(base, rest)
        if rolled:
            assert part is not None
            b.add_rolled(base, rolled, part)
    sql = "WITH " + ",\n".join(b.ctes) + "\n" + "\nUNION ALL BY NAME\n".join(b.selects)
    return sql, b.p.values


def _subtract(ranges: list[tuple[dt.datetime, dt.datetime]],
              minus: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of ``ranges`` outside every range of ``minus`` (both [lo, hi))."""
    out = list(ranges)
    for mlo, mhi in minus:
        nxt = []
        for lo, hi in out:
            if mhi <= lo or hi <= mlo:
                nxt.append((lo, hi))
                continue
            if lo < mlo:
                nxt.append((lo, mlo))
            if mhi < hi:
                nxt.append((mhi, hi))
        out = nxt
    return out


def render(sql: str, params: dict[str, Any]) -> str:
    """The statement with its parameters listed after it, for a reader (never for execution)."""
    lines = [sql.rstrip() + ";", "", "-- parameters:"]
    lines += [f"--   ${k} = {v!r}" for k, v in params.items()]
    return "\n".join(lines)


# Row-level columns a drill-down shows beside the ticket's own, per base.
RECORD_EXTRA = {
    "responses": ["survey_id", "responded_at", "satisfaction", "nps", "comment"],
    "parts": ["visit_id", "part_no", "quantity", "unit_cost"],
    "sla_first_response": ["due_at", "done_at"],
    "sla_resolution": ["due_at", "done_at", "verdict"],
    "sla_onsite": ["due_at", "done_at"],
    "backlog": ["age_days"],
    "repair": ["visit1_outcome", "next_repair_at"],
    "cost": ["in_warranty", "n_visits", "labour_hours", "parts_cost", "labour_cost", "travel_cost", "refund_cost",
             "total_cost", "customer_charge"],
}


def rows_sql(plan: Plan, k: KpiDef) -> tuple[str, dict[str, Any]]:
    """One row per record in ``k``'s population for ``plan`` (its windows, breakdown and filters):
    ``period_start``, the breakdown columns, ``ticket_id``, ``counted`` (in the denominator or
    count), ``in_numerator``, ``measure`` (the per-record value of sum/mean/quantile KPIs) and
    ``excluded_reason``, plus the base's own columns (``RECORD_EXTRA``). For drill-downs and
    distributions; the orders base lists its complaint tickets."""
    b = _Builder(plan)
    base = "created" if k.base == "orders" else k.base
    scope = "is_complaint" if k.base == "orders" else k.scope
    rows = b.base_rows(base)
    counted = b._counted(k) if k.base != "orders" else "TRUE"
    num = "NULL::BOOLEAN"
    if k.kind in ("ratio", "nps") and k.base != "orders":
        num = f"{counted} AND coalesce({k.num}, FALSE)"
    measure = f"CAST({k.value} AS DOUBLE)" if k.value else "NULL::DOUBLE"
    reasons = "".join(f" WHEN coalesce({e.condition}, FALSE) THEN '{e.reason}'" for e in k.exclusions)
    reason = f"CASE{reasons} END" if reasons else "NULL::VARCHAR"
    dims = "".join(f"{c}, " for c in b.dim_cols)
    extra = "".join(f", {c}" for c in RECORD_EXTRA.get(base, []))
    sql = (f"WITH r AS (\n    {rows}\n)\nSELECT {b.period('ts')} AS period_start, {dims}ticket_id,"
           f" ({counted}) AS counted, ({num}) AS in_numerator, {measure} AS measure, {reason} AS excluded_reason{extra}\n"
           f"FROM r\nWHERE {scope}")
    if b.ctes:
        sql = sql.replace("WITH r AS", "WITH " + ",\n".join(b.ctes) + ",\nr AS", 1)
    return sql, b.p.values
