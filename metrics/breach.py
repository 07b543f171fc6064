"""Tickets breaching their SLA now: open and past a stage's due time at as-of.

The same rule as the SLA KPIs (``metrics.sql``): a stage is due at created_at + its service
type's limit (config ``sla_hours``); on-site applies to field-service tickets only. A ticket
breaches a stage when it is open at as-of, the stage was not done by then, and it was due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from aftersales import config as cfg
from aftersales import model
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import registry as R
from metrics import scope as scoping
from metrics import sql as S
from metrics.compute import DbLike, check_where, connection, data_as_of, facts_source, fetch, is_stored
from metrics.drill import TICKET_COLUMNS, _rename_ticket_columns

# stage -> when it was done
STAGES = {"first_response": "t.first_response_at", "onsite": "t.visit1_started_at", "resolution": "t.resolved_at"}


def breaching(db: DbLike, where: dict[str, Any] | None = None, config: dict | None = None,
              as_of: dt.datetime | None = None, limit: int | None = 1000,
              columns: Sequence[str] | None = None, *, scope: DataScope) -> pl.DataFrame:
    """Open tickets past their first-response, on-site or resolution limit at ``as_of`` (default:
    the data's latest created_at, as the SLA KPIs use), one row per ticket × stage, most overdue
    first. Columns: ticket_id, stage, due_at, overdue_hours, then the ticket's (masked) columns
    as in ``records``, or only ``columns`` of them. ``where``: {dim: values} on ticket
    breakdowns (as ``query``), ANDed with ``scope`` (``DataScope()``: the whole company)."""
    conf = config if config is not None else cfg.load_config()
    if columns is not None:
        unknown = [c for c in columns if c not in TICKET_COLUMNS]
        if unknown:
            raise UserError(f"unknown ticket column {', '.join(map(repr, unknown))}; valid: {', '.join(TICKET_COLUMNS)}")
    with connection(db) as con:
        checked = scoping.narrowed(scope, check_where(con, where))
        bad = [d for d in checked if d not in R.TICKET_DIMS]
        if bad:
            raise UserError(f"breaching tickets cannot be filtered by {', '.join(bad)}; "
                            f"valid filters: {', '.join(R.TICKET_DIMS)}")
        plan = S.Plan(kpis=[], by=[], grain=None, windows=[], where=checked,
                      sla_hours=conf.get("sla_hours") or {}, as_of=as_of, facts=facts_source(con))
        if plan.as_of is None:
            plan.as_of = data_as_of(con, plan.facts)
            if plan.as_of is None:  # no tickets: nothing can breach
                plan.as_of = dt.datetime.min
        sql, params = breaching_sql(plan, limit, columns)
        df = fetch(con, sql, params)
    return _rename_ticket_columns(df)


def breaching_sql(plan: S.Plan, limit: int | None, columns: Sequence[str] | None = None) -> tuple[str, dict[str, Any]]:
    b = S._Builder(plan)
    now = b.as_of_sql()
    field = ", ".join(b.p.add("ft", st) for st in R.FIELD_SERVICE_TYPES)
    stages = []
    for stage, done in STAGES.items():
        only = f" AND t.service_type IN ({field})" if stage == "onsite" else ""
        stages.append(f"SELECT t.rid, t.ticket_id, '{stage}' AS stage, t.created_at + {b.sla_limit(stage)} AS due_at,"
                      f" {done} AS done_at\n    FROM o t WHERE TRUE{only}")
    # only the columns asked for: every one is read from every row group holding an open ticket
    # (the SLA page's ten of the twenty: 1.0 -> 0.7 s CPU for the whole list at 10M)
    wanted = TICKET_COLUMNS if columns is None else [c for c in TICKET_COLUMNS if c in columns]
    tcols = "".join(f", t.{c} AS t_{c}" for c in wanted if c != "ticket_id")  # masked by _rename_ticket_columns
    lim = ""
    if limit is not None:
        lim = f" LIMIT {b.p.add('limit', int(limit))}"
    # open at as-of: created by then, not cancelled, and not resolved by then; two UNION ALL halves
    # (still open; resolved later) so each is a pushed-down scan filter (an OR reads every row)
    # (only the columns the rule needs; the ticket's others are fetched afterwards for the
    # breaching tickets only, by row id when the facts are a stored table: open tickets are
    # spread over every row group, and a join on ticket_id decompressed every column of every
    # row — the whole list at 10M took 2.4x as long)
    rid = "t.rowid" if is_stored(b.facts) else "t.ticket_id"
    head = (f"SELECT {rid} AS rid, t.ticket_id, t.service_type, t.created_at, {', '.join(STAGES.values())} "
            f"FROM {b.facts} t\n    WHERE t.status <> 'cancelled' AND t.created_at <= {now}")
    ctes = ",\n".join(b.ctes + [
        f"o AS MATERIALIZED (\n    {head} AND {model.open_now('t')}{b.filters('created')}\n"
        f"    UNION ALL\n    {head} AND t.resolved_at > {now}{b.filters('created')}\n)",
        "s AS (\n    " + "\n    UNION ALL ".join(stages) + "\n)"])
    sql = (f"WITH {ctes},\n"
           f"top AS (\n    SELECT * FROM s WHERE s.due_at <= {now} AND (s.done_at IS NULL OR s.done_at > {now})\n"
           f"    ORDER BY s.due_at, s.ticket_id, s.stage{lim}\n)\n"
           f"SELECT s.ticket_id, s.stage, s.due_at, round(epoch({now} - s.due_at) / 3600.0, 1) AS overdue_hours{tcols}\n"
           f"FROM top s JOIN {b.facts} t ON {rid} = s.rid\n"
           f"WHERE t.created_at <= {now}{b.filters('created')}\n"  # the same filters: zone maps prune the join
           f"ORDER BY s.due_at, s.ticket_id, s.stage")
    return sql, b.p.values
