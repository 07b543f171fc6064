"""First-time-fix losses by cause: why repairs were not fixed on the first visit.

A loss is a record the first-time-fix KPI counts in its denominator and not in its numerator,
so the causes of a unit's losses always add up to its denominator minus its numerator, and a
manager reads beside the rate whether to fix stocking (waiting for parts), appointments
(customer absent), skills (not fixed) or the product (referred to the factory).

The cause is the first visit's outcome (``visits.outcome``, ``aftersales.model.VISIT_OUTCOMES``);
a first visit recorded as fixed whose ticket did not end fixed counts as not fixed (the fix did
not hold); what is left (no first visit recorded and the ticket reopened, or a first visit
without an outcome) is ``other``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from aftersales import config as cfg
from aftersales.principal import DataScope
from metrics import registry as R
from metrics import sql as S
from metrics.compute import DbLike, connection, fetch, plan

FTF = "first_time_fix_rate"
# cause -> (中文, English); the first four are visit outcome codes
CAUSES: dict[str, tuple[str, str]] = {
    "need_parts": ("待配件", "Waiting for parts"),
    "customer_absent": ("客户不在", "Customer absent"),
    "not_fixed": ("未修复", "Not fixed"),
    "referred": ("返厂", "Referred to factory"),
    "other": ("其他(首次上门未记录结果)", "Other (first visit without an outcome)"),
}
# What a manager fixes for each cause.
REMEDY: dict[str, tuple[str, str]] = {
    "need_parts": ("备件库存", "stocking"),
    "customer_absent": ("预约确认", "appointments"),
    "not_fixed": ("师傅技能", "skills"),
    "referred": ("产品质量与返厂流程", "product and factory returns"),
    "other": ("上门记录", "visit records"),
}

# Fixed text over the repair base's row columns (pipelines.derive.ticket_facts), never user input.
CAUSE_SQL = (
    "CASE WHEN has_visit1 AND visit1_outcome IN ('need_parts', 'customer_absent', 'referred') THEN visit1_outcome"
    " WHEN (has_visit1 AND visit1_outcome IN ('not_fixed', 'fixed')) OR resolution IS DISTINCT FROM 'fixed'"
    " THEN 'not_fixed' ELSE 'other' END")


def cause_label(code: str, lang: str = "zh") -> str:
    zh, en = CAUSES.get(code, (code, code))
    return zh if lang == "zh" else en


def ftf_losses(db: DbLike, by: list[str] | None = None, grain: str | None = "month", start: dt.date | None = None,
               end: dt.date | None = None, where: dict[str, Any] | None = None, config: dict | None = None,
               as_of: dt.datetime | None = None, *, scope: DataScope) -> pl.DataFrame:
    """First-time-fix losses per period × breakdown × cause.

    Arguments as ``metrics.query`` (``scope`` included) (``by``: outlet, technician, product_model, product_category …).
    Columns: period_start, <by…>, cause, count, share (of the period × breakdown's losses),
    resolved (the first-time-fix denominator: repair tickets resolved and counted), rate
    (count ÷ resolved). Every cause is listed for every period × breakdown with a loss (count 0
    where none), so the rows of one group sum to ``resolved`` − first-time fixes.
    """
    k = R.get(FTF)
    conf = config if config is not None else cfg.load_config()
    by = list(by or [])
    with connection(db) as con:
        p, lo, hi = plan(con, [FTF], by, grain, start, end, where, conf, as_of, compare=False, scope=scope)
        sql, params = losses_sql(p, k)
        df = fetch(con, sql, params)
    df = df.rename({f"d_{d}": d for d in by})
    keys = ["period_start", *by]
    lost = df.filter(pl.col("lost") > 0).select(keys).unique()
    grid = lost.join(pl.DataFrame({"cause": list(CAUSES)}), how="cross")
    counts = df.filter(pl.col("cause").is_not_null()).select([*keys, "cause", "lost"])
    totals = df.group_by(keys).agg(pl.col("counted").sum().cast(pl.Int64).alias("resolved"))
    out = (grid.join(counts, on=[*keys, "cause"], how="left", nulls_equal=True)
           .with_columns(count=pl.col("lost").fill_null(0).cast(pl.Int64)).drop("lost")
           .join(totals, on=keys, how="left", nulls_equal=True))
    order = {c: i for i, c in enumerate(CAUSES)}
    out = out.with_columns(share=pl.col("count") / pl.col("count").sum().over(keys),
                           rate=pl.col("count").cast(pl.Float64) / pl.col("resolved"),
                           _o=pl.col("cause").replace_strict(order, return_dtype=pl.Int64))
    out = out.filter((pl.col("period_start") >= lo) & (pl.col("period_start") < hi))
    return out.sort([*keys, "_o"], nulls_last=True).select([*keys, "cause", "count", "share", "resolved", "rate"])


def losses_sql(p: S.Plan, k: R.KpiDef) -> tuple[str, dict[str, Any]]:
    """Per period × breakdown × cause: ``lost`` (records counted and not in the numerator) and
    ``counted`` (the denominator, on the cause-less row of each group)."""
    b = S._Builder(p)
    rows = b.base_rows(k.base)
    counted = b._counted(k)
    dims = "".join(f"{c}, " for c in b.dim_cols)
    sql = (f"WITH r AS (\n    {rows}\n),\n"
           f"c AS (\n  SELECT {b.period('ts')} AS period_start, {dims}({counted}) AS counted,\n"
           f"    ({counted}) AND NOT coalesce({k.num}, FALSE) AS lost, {CAUSE_SQL} AS cause\n  FROM r\n)\n"
           f"SELECT period_start, {dims}cause, count_if(lost) AS lost, NULL::BIGINT AS counted FROM c\n"
           f"  WHERE lost GROUP BY ALL\nUNION ALL\n"
           f"SELECT period_start, {dims}NULL AS cause, 0 AS lost, count_if(counted) AS counted FROM c GROUP BY ALL")
    if b.ctes:
        sql = sql.replace("WITH r AS", "WITH " + ",\n".join(b.ctes) + ",\nr AS", 1)
    return sql, b.p.values
