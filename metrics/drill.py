"""Behind a number: the records it rests on (drill-down) and its distributions.

Personal data is masked here, before anything leaves the metrics layer: 张** for names,
138****1234 for phones, by ``aftersales.privacy`` (the one home of that rule).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from aftersales import config as cfg
from aftersales.errors import UserError
from aftersales.principal import DataScope
from aftersales.privacy import mask_frame, mask_name, mask_phone  # noqa: F401 - metrics' API names them
from metrics import periods
from metrics import registry as R
from metrics import sql as S
from metrics.compute import DbLike, connection, fetch, is_stored, plan

# Ticket columns shown beside each record (personal ones masked by ``mask_frame`` on the way out).
TICKET_COLUMNS = [
    "ticket_id", "channel", "service_type", "priority", "status", "outlet_id", "technician_id", "product_model",
    "customer_id", "customer_name", "customer_phone", "created_at", "first_response_at", "resolved_at", "closed_at",
    "resolution", "is_complaint", "complaint_reason", "reopened_at", "refund_requested_at", "refunded_at",
    "complaint_text",  # free text, its digit runs masked by mask_frame
]

# records(order=...): how a page of records is chosen and sorted
ORDERS = {"oldest": "x.period_start, x.ticket_id", "newest": "x.period_start DESC, x.ticket_id DESC"}

DISTRIBUTIONS: dict[str, tuple[str, list[float] | None]] = {
    # kind: (KPI whose records are bucketed, bucket edges; None = one bucket per integer score)
    "mttr_hours": ("mttr", [0, 4, 8, 24, 48, 72, 120, 168, 336]),
    "first_response_hours": ("first_response_time", [0, 0.25, 0.5, 1, 2, 4, 8, 24]),
    "refund_hours": ("refund_cycle_time", [0, 4, 12, 24, 48, 72, 168]),
    "satisfaction": ("csat_mean", None),
    "nps_score": ("nps", None),
    "backlog_ageing": ("backlog", [b[0] for b in R.BACKLOG_AGE_BUCKETS]),
}


def _period_plan(con, kpi: str, period_start: dt.date | None, grain: str | None, start, end, where, config, as_of, *,
                 scope: DataScope):
    if period_start is not None:
        if grain is None:
            raise UserError("period_start needs a grain (day, week, month, quarter or year)")
        start = end = periods.trunc(period_start, grain)
    p, lo, hi = plan(con, [kpi], None, grain, start, end, where, config, as_of, scope=scope)
    # only the requested periods: no previous / last-year widening for record lists
    p.windows = [(periods.to_ts(lo), periods.to_ts(hi))]
    return p


def records(db: DbLike, kpi: str, period_start: dt.date | None = None, grain: str | None = "month",
            start: dt.date | None = None, end: dt.date | None = None, where: dict[str, Any] | None = None,
            config: dict | None = None, as_of: dt.datetime | None = None, limit: int | None = 1000,
            only: str | None = None, order: str = "oldest", *, scope: DataScope) -> pl.DataFrame:
    """The records behind a KPI value, with personal data masked.

    Give ``period_start`` + ``grain`` (one period, as in a ``query`` row) or ``start``/``end``,
    and the row's breakdown values as ``where`` (e.g. ``{"outlet": "O0001"}``).
    ``only``: "numerator" (e.g. the complaint tickets), "excluded" (records that could not be
    counted), or None for the whole population. Columns: period_start, ticket_id, counted,
    in_numerator, measure, excluded_reason, the base's own columns, then the ticket's.
    ``order``: "oldest" (by period, then ticket number) or "newest" (the reverse), applied
    before ``limit``. ``scope``: the data scope (``DataScope()``: the whole company), ANDed with
    ``where``; no record outside it is returned.
    """
    if order not in ORDERS:
        raise UserError(f"order= must be one of {', '.join(ORDERS)}, not {order!r}")
    k = R.get(kpi)
    conf = config if config is not None else cfg.load_config()
    with connection(db) as con:
        p = _period_plan(con, kpi, period_start, grain, start, end, where, conf, as_of, scope=scope)
        rows, params = S.rows_sql(p, k)
        cond = {"numerator": "WHERE x.in_numerator", "excluded": "WHERE x.excluded_reason IS NOT NULL",
                None: ""}.get(only)
        if cond is None:
            raise UserError(f"only= must be 'numerator', 'excluded' or None, not {only!r}")
        lim = ""
        if limit is not None:
            params = {**params, "limit": int(limit)}
            lim = " LIMIT $limit"
        facts = p.facts["ticket_facts"]
        if limit is None and is_stored(facts):
            # Every record (e.g. every open ticket, spread over every row group): a join on
            # ticket_id would decompress every ticket column of every row; their row ids first
            # (one column read), then the columns of those rows only (the open list at 10M:
            # 1.5 -> 1.0 s).
            sql = (f"WITH x AS MATERIALIZED (SELECT * FROM ({rows}) x {cond}),\n"
                   f"k AS MATERIALIZED (SELECT f.rowid AS rid, f.ticket_id FROM {facts} f\n"
                   f"  WHERE f.ticket_id IN (SELECT ticket_id FROM x))\n"
                   f"SELECT x.*, {_ticket_columns()}\nFROM x LEFT JOIN k ON k.ticket_id = x.ticket_id\n"
                   f"LEFT JOIN {facts} t ON t.rowid = k.rid\nORDER BY {ORDERS[order]}")
        else:
            # the page of records first, then their ticket columns: the join reads only those tickets
            sql = (f"SELECT x.*, {_ticket_columns()}\nFROM (SELECT * FROM ({rows}) x {cond}\n"
                   f"  ORDER BY {ORDERS[order]}{lim}) x\nLEFT JOIN {facts} t ON t.ticket_id = x.ticket_id\n"
                   f"ORDER BY {ORDERS[order]}")
        df = fetch(con, sql, params)
    return _rename_ticket_columns(df)


def _ticket_columns() -> str:
    return ", ".join(f"t.{c} AS t_{c}" for c in TICKET_COLUMNS if c != "ticket_id")


def _rename_ticket_columns(df: pl.DataFrame) -> pl.DataFrame:
    """The ticket columns under their own names, personal ones masked: every list of tickets
    leaves the metrics layer through here."""
    return mask_frame(df.rename({f"t_{c}": c for c in TICKET_COLUMNS if f"t_{c}" in df.columns and c not in df.columns}))


def distribution(db: DbLike, kind: str, grain: str | None = None, start: dt.date | None = None,
                 end: dt.date | None = None, where: dict[str, Any] | None = None, by: list[str] | None = None,
                 config: dict | None = None, as_of: dt.datetime | None = None, *,
                 scope: DataScope) -> pl.DataFrame:
    """Counts of records per bucket: MTTR / first-response / refund hours histograms, satisfaction
    (1–5) and NPS (0–10) score distributions, and backlog ageing at each period end.

    Columns: period_start, <by…>, bucket (label), bucket_lo, bucket_hi (None = open-ended),
    count, share (of the period × breakdown's counted records).
    """
    if kind not in DISTRIBUTIONS:
        raise UserError(f"unknown distribution {kind!r}; valid: {', '.join(DISTRIBUTIONS)}")
    kpi, edges = DISTRIBUTIONS[kind]
    k = R.KPIS[kpi]
    conf = config if config is not None else cfg.load_config()
    by = list(by or [])
    with connection(db) as con:
        p, lo, hi = plan(con, [kpi], by, grain, start, end, where, conf, as_of, scope=scope)
        p.windows = [(periods.to_ts(lo), periods.to_ts(hi))]
        rows, params = S.rows_sql(p, k)
        value = {"satisfaction": "r.satisfaction", "nps_score": "r.nps", "backlog_ageing": "r.age_days"}.get(kind, "r.measure")
        dims = "".join(f", d_{d}" for d in by)
        if edges is None:
            bucket_lo = f"CAST({value} AS DOUBLE)"
        else:
            cases = " ".join(f"WHEN {value} < {float(b)} THEN {float(a)}" for a, b in zip(edges, edges[1:], strict=False))
            bucket_lo = f"CAST(CASE {cases} ELSE {float(edges[-1])} END AS DOUBLE)"
        sql = (f"SELECT period_start{dims}, {bucket_lo} AS bucket_lo, count(*) AS count\n"
               f"FROM ({rows}) r WHERE r.counted AND {value} IS NOT NULL GROUP BY ALL ORDER BY ALL")
        df = fetch(con, sql, params)
    df = df.rename({f"d_{d}": d for d in by})
    if edges is None:
        df = df.with_columns(bucket_hi=pl.col("bucket_lo"), bucket=pl.col("bucket_lo").cast(pl.Int64).cast(pl.String))
    else:
        nxt = dict(zip(map(float, edges), [float(e) for e in edges[1:]] + [None], strict=True))
        unit = "d" if kind == "backlog_ageing" else "h"

        def label(x: float) -> str:
            hi_ = nxt[x]
            return f"{x:g}–{hi_:g}{unit}" if hi_ is not None else f">{x:g}{unit}"

        df = df.with_columns(bucket_hi=pl.col("bucket_lo").replace_strict(nxt, return_dtype=pl.Float64),
                             bucket=pl.col("bucket_lo").map_elements(label, return_dtype=pl.String))
    df = df.with_columns(share=pl.col("count") / pl.col("count").sum().over(["period_start", *by]))
    return df.select(["period_start", *by, "bucket", "bucket_lo", "bucket_hi", "count", "share"])
