"""Tickets about to breach (即将超时), already breached, and stale: today's SLA work list.

A stage (first response, on site for field service, resolution) is due at created_at + its
service type's limit (config ``sla_hours``, the rule of ``metrics.breach`` and the SLA KPIs). At
"now" (the data's latest created_at, as the SLA KPIs use, unless given) an open ticket whose stage
is not done is:

- ``due_soon``: due within the next N hours (``alerts.due_within_hours``, per service type);
- ``breached``: past due, shown in hours, in days once over 48 hours;
- ``stale``: past due for longer than ``alerts.stale_days``: listed apart, not today's work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from aftersales import model
from metrics import registry as R
from metrics.breach import STAGES
from metrics.compute import DbLike, connection, data_as_of, facts_source, fetch

DAYS_AFTER_HOURS = 48.0  # past this, an overdue time is said in days


def _interval_case(p: dict[str, Any], name: str, hours: dict[str, float]) -> str:
    """``CASE t.service_type WHEN ... THEN INTERVAL ... END`` over bound values (codes and hours
    come from the config, so they are parameters, never text)."""
    whens = []
    for i, (st, h) in enumerate((k, v) for k, v in hours.items() if k != "default"):
        p[f"{name}_st{i}"], p[f"{name}_h{i}"] = st, dt.timedelta(hours=float(h))
        whens.append(f" WHEN ${name}_st{i} THEN ${name}_h{i}")
    p[f"{name}_def"] = dt.timedelta(hours=float(hours.get("default", 0.0) or 0.0))
    return f"(CASE t.service_type{''.join(whens)} ELSE ${name}_def END)" if whens else f"${name}_def"


def work_list(db: DbLike, config: dict, now: dt.datetime | None = None) -> tuple[pl.DataFrame, dt.datetime | None]:
    """One row per open ticket × stage due soon or past due, with ``category`` (due_soon |
    breached | stale), ``due_at``, ``hours_left`` (negative: overdue), ``overdue_days``, the outlet,
    its name and the responsible technician. Returns (rows, now)."""
    from alerts import settings

    sec = settings.section(config)
    sla = config.get("sla_hours") or {}
    with connection(db) as con:
        facts = facts_source(con)
        if now is None:
            now = data_as_of(con, facts)
            if now is None:
                return pl.DataFrame(), None
        p: dict[str, Any] = {"now": now}
        field = ", ".join(f"$fs{i}" for i in range(len(R.FIELD_SERVICE_TYPES)))
        p.update({f"fs{i}": st for i, st in enumerate(R.FIELD_SERVICE_TYPES)})
        within = _interval_case(p, "w", sec.get("due_within_hours") or {})
        stages = []
        for stage, done in STAGES.items():
            only = f" AND t.service_type IN ({field})" if stage == "onsite" else ""
            limit = _interval_case(p, f"l_{stage}", sla.get(stage) or {})
            stages.append(f"SELECT t.*, '{stage}' AS stage, t.created_at + {limit} AS due_at, {done} AS done_at, "
                          f"{within} AS within FROM o t WHERE TRUE{only}")
        head = ("SELECT t.ticket_id, t.service_type, t.outlet_id, t.technician_id, t.created_at, "
                f"{', '.join(STAGES.values())} FROM {facts['ticket_facts']} t "
                "WHERE t.status <> 'cancelled' AND t.created_at <= $now")
        sql = (f"WITH o AS MATERIALIZED ({head} AND {model.open_now('t')} UNION ALL {head} AND t.resolved_at > $now),\n"
               f"s AS ({' UNION ALL '.join(stages)})\n"
               "SELECT s.ticket_id, s.stage, s.service_type, s.outlet_id, ol.outlet_name, s.technician_id, "
               "tc.technician_name, s.created_at, s.due_at, round(epoch(s.due_at - $now) / 3600.0, 1) AS hours_left\n"
               "FROM s LEFT JOIN (SELECT outlet_id, any_value(outlet_name) AS outlet_name FROM outlets GROUP BY 1) ol "
               "USING (outlet_id)\n"
               "LEFT JOIN (SELECT technician_id, any_value(technician_name) AS technician_name FROM technicians "
               "GROUP BY 1) tc USING (technician_id)\n"
               "WHERE (s.done_at IS NULL OR s.done_at > $now) AND s.due_at <= $now + s.within\n"
               "ORDER BY s.outlet_id NULLS LAST, s.due_at, s.ticket_id, s.stage")
        df = fetch(con, sql, p)
    stale_h = float(sec.get("stale_days", 30.0)) * 24.0
    df = df.with_columns(
        category=pl.when(pl.col("hours_left") > 0).then(pl.lit("due_soon"))
        .when(-pl.col("hours_left") > stale_h).then(pl.lit("stale")).otherwise(pl.lit("breached")),
        overdue_days=pl.when(-pl.col("hours_left") > DAYS_AFTER_HOURS).then((-pl.col("hours_left") / 24.0).round(1)),
    )
    return df, now


def by_outlet(df: pl.DataFrame) -> pl.DataFrame:
    """Counts per outlet: due_soon, breached (stale apart), with the technicians concerned."""
    if df.is_empty():
        return pl.DataFrame(schema={"outlet_id": pl.String, "outlet_name": pl.String, "due_soon": pl.Int64,
                                    "breached": pl.Int64, "stale": pl.Int64, "technicians": pl.String})
    return (df.group_by("outlet_id").agg(
        pl.col("outlet_name").drop_nulls().first(),
        (pl.col("category") == "due_soon").sum().cast(pl.Int64).alias("due_soon"),
        (pl.col("category") == "breached").sum().cast(pl.Int64).alias("breached"),
        (pl.col("category") == "stale").sum().cast(pl.Int64).alias("stale"),
        pl.col("technician_id").filter(pl.col("category") != "stale").drop_nulls().unique().sort()
        .str.join(", ").alias("technicians"))
        .sort(["due_soon", "breached", "outlet_id"], descending=[True, True, False], nulls_last=True))
