"""Scorecards: one row per outlet (or technician, or outlet type) with every headline KPI.

Each value comes from the same ``metrics.compute.run`` as any single KPI (one statement for all
of them), so a scorecard cell equals ``metrics.query`` for that unit. Beside each value: the
records it rests on, the previous period's value and the change (环比), and a fair rank among
the units (``metrics.rank``: shrunk rates and means, so a unit with 3 tickets does not top one
with 3,000). Overdue is the tickets open past their resolution limit at the period's end
(``metrics.breaching``); first-time-fix losses by cause come from ``metrics.losses``.

Cost: the cost KPIs named in ``COST_KPIS`` join the scorecard as soon as the registry declares
them (the cost-of-service work adds them); until then the scorecard has no cost column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from aftersales import config as cfg
from aftersales import model
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import periods
from metrics import registry as R
from metrics.breach import breaching
from metrics.compute import DbLike, connection, data_as_of, facts_source, fetch, run
from metrics.losses import CAUSES, ftf_losses
from metrics.rank import rank_frame

HEADLINE = ("ticket_volume", "first_time_fix_rate", "repair_success_rate", "mttr", "csat", "complaint_rate",
            "repeat_repair_rate")
# The hook for cost: whichever of these the registry declares is shown (first found: per ticket).
COST_KPIS = ("cost_per_ticket", "cost_per_repair")
LEVELS = ("outlet", "technician", "outlet_type")
# Counts a scorecard shows beside a rate: the rate's numerator under this name.
COUNTS = {"complaint_rate": "complaints", "repeat_repair_rate": "repeat_repairs"}


def scorecard_kpis() -> list[str]:
    """The KPIs of a scorecard, in column order: the headline ones, then cost when declared."""
    return [*HEADLINE, *(k for k in COST_KPIS if k in R.KPIS)]


@dataclass
class Scorecard:
    level: str
    grain: str
    period_start: dt.date
    period_end: dt.date  # exclusive
    kpis: list[str]
    table: pl.DataFrame  # one row per unit: attributes, then per KPI value, _n, _prev, _change, _rank, _status
    long: pl.DataFrame  # one row per KPI × unit: value, n_records, prev_value, prev_change, rank, score, status …
    overdue_as_of: dt.datetime | None
    unassigned: int  # tickets created in the period with no unit (refunds and consultations are central)
    where: dict[str, Any] = field(default_factory=dict)

    def provisional(self) -> dict[str, dt.date | None]:
        """The KPIs not final for some unit of this period, with the latest date they become final
        (repair success inside its recheck window, surveys still arriving): shown as 暂定."""
        pending = self.long.filter(pl.col("status") == "provisional")
        if pending.is_empty():
            return {}
        last = pending.group_by("kpi").agg(pl.col("final_on").max())
        found = dict(zip(last["kpi"].to_list(), last["final_on"].to_list(), strict=True))
        return {k: found[k] for k in self.kpis if k in found}

    def row(self, unit: str) -> dict[str, Any]:
        """One unit's row, or a UserError naming the units there are."""
        hit = self.table.filter(pl.col(self.level) == unit)
        if hit.is_empty():
            listed = self.table[self.level].to_list()
            raise UserError(f"no {self.level} {unit!r} in the scorecard for {self.period_start}; "
                            f"units with records: {', '.join(map(str, listed[:30]))}")
        return hit.to_dicts()[0]


def default_period(db: DbLike, grain: str = "month") -> dt.date:
    """The period holding the data's latest ticket."""
    with connection(db) as con:
        last = data_as_of(con, facts_source(con))
    if last is None:
        raise UserError("nothing loaded yet: load data with `aftersales load PATH`")
    return periods.trunc(last.date(), grain)


def scorecard(db: DbLike, level: str = "outlet", period: dt.date | None = None, grain: str = "month",
              where: dict[str, Any] | None = None, config: dict | None = None,
              as_of: dt.datetime | None = None, *, scope: DataScope) -> Scorecard:
    """The scorecard of every ``level`` unit (outlet, technician, outlet_type) for the ``grain``
    period holding ``period`` (default: the latest), with 环比 against the period before.
    ``where``: {dim: values} as ``metrics.query`` (e.g. one outlet's technicians); ``scope``: the
    data scope (``DataScope()``: the whole company), units and ranks inside it only."""
    if level not in LEVELS:
        raise UserError(f"unknown scorecard level {level!r}; valid: {', '.join(LEVELS)}")
    grain = periods.check_grain(grain) or "month"
    conf = config if config is not None else cfg.load_config()
    kpis = scorecard_kpis()
    with connection(db) as con:
        start = periods.trunc(period, grain) if period is not None else default_period(con, grain)
        end = periods.shift(start, grain, 1)
        df, raw = run(con, metrics=kpis, by=[level], grain=grain, start=start, end=start, where=where, config=conf,
                      as_of=as_of, compare="last", scope=scope)
        unassigned = df.filter((pl.col("kpi") == "ticket_volume") & pl.col(level).is_null())["value"].sum()
        long = _ranked(df, raw, kpis, level)
        overdue, overdue_at = _overdue(con, level, start, end, where, conf, as_of, scope)
        losses = ftf_losses(con, by=[level], grain=grain, start=start, end=start, where=where, config=conf,
                            as_of=as_of, scope=scope)
        attrs = _attributes(con, level)
    table = _wide(long, kpis, level)
    table = _with_losses(table, losses, level)
    table = table.join(overdue, on=level, how="left").with_columns(
        pl.col("overdue").fill_null(0), pl.col("overdue_prev").fill_null(0))
    table = table.with_columns(overdue_change=pl.col("overdue") - pl.col("overdue_prev"))
    table = _overall(table, kpis)
    table = attrs.join(table, on=level, how="right").select([level, *[c for c in attrs.columns if c != level],
                                                            *[c for c in table.columns if c != level]])
    table = table.sort(["overall_rank", level], nulls_last=True)
    return Scorecard(level, grain, start, end, kpis, table, long, overdue_at, int(unassigned or 0),
                     dict(where or {}))


def _ranked(df: pl.DataFrame, raw: pl.DataFrame, kpis: list[str], level: str) -> pl.DataFrame:
    """Per KPI × unit: the query's columns plus its fair rank (none for KPIs without a direction)."""
    frames = []
    for kpi in kpis:
        k = R.KPIS[kpi]
        part = df.filter(pl.col("kpi") == kpi)
        if k.higher_is_better is None or part.is_empty():
            part = part.with_columns(rank=pl.lit(None, pl.Int64), score=pl.lit(None, pl.Float64),
                                     rank_method=pl.lit(None, pl.String), n_ranked=pl.lit(None, pl.Int64))
        else:
            # ranked as ``metrics.rank`` ranks them (the shrinkage's prior from every group), then
            # the group without a unit (tickets handled centrally) leaves and the rest close up
            ranked = rank_frame(df, raw, k, level).filter(pl.col(level).is_not_null())
            ranked = ranked.with_columns(rank=pl.col("rank").rank("ordinal").cast(pl.Int64))
            part = part.join(ranked.select([level, "rank", "score", "rank_method"]), on=level, how="left",
                             nulls_equal=True).with_columns(n_ranked=pl.col("rank").count())
        part = part.filter(pl.col(level).is_not_null())
        frames.append(part.select(["kpi", level, "value", "numerator", "denominator", "n_records", "prev_value",
                                   "prev_change", "target", "status", "final_on", "small_sample", "rank", "score",
                                   "rank_method", "n_ranked", "unit"]))
    return pl.concat(frames, how="vertical_relaxed")


def _wide(long: pl.DataFrame, kpis: list[str], level: str) -> pl.DataFrame:
    units = long.select(level).unique()
    out = units
    for kpi in kpis:
        part = long.filter(pl.col("kpi") == kpi)
        cols = [pl.col("value").alias(kpi), pl.col("n_records").alias(f"{kpi}_n"),
                pl.col("prev_value").alias(f"{kpi}_prev"), pl.col("prev_change").alias(f"{kpi}_change"),
                pl.col("rank").alias(f"{kpi}_rank"), pl.col("status").alias(f"{kpi}_status")]
        if kpi in COUNTS:
            cols.append(pl.col("numerator").cast(pl.Int64).alias(COUNTS[kpi]))
        out = out.join(part.select(level, *cols), on=level, how="left")
    return out


def _with_losses(table: pl.DataFrame, losses: pl.DataFrame, level: str) -> pl.DataFrame:
    """First-time-fix losses per cause beside the rate: ``loss_<cause>`` counts."""
    wide = table
    for cause in CAUSES:
        part = losses.filter(pl.col("cause") == cause).select(level, pl.col("count").alias(f"loss_{cause}"))
        wide = wide.join(part, on=level, how="left").with_columns(pl.col(f"loss_{cause}").fill_null(0))
    return wide


def _overall(table: pl.DataFrame, kpis: list[str]) -> pl.DataFrame:
    """Overall rank: units by the mean of their KPI rank positions (0 best … 1 worst) over the
    ranked KPIs they have; a unit ranked on fewer than half of them gets none."""
    ranked = [k for k in kpis if R.KPIS[k].higher_is_better is not None]
    n = len(table)
    pos = []
    for k in ranked:
        r = table[f"{k}_rank"].to_numpy().astype(float)
        top = np.nanmax(r) if np.isfinite(r).any() else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            pos.append(np.where(np.isfinite(r), (r - 1) / max(top - 1, 1), np.nan))
    if not pos or n == 0:
        return table.with_columns(overall_score=pl.lit(None, pl.Float64), overall_rank=pl.lit(None, pl.Int64))
    m = np.vstack(pos)
    have = np.isfinite(m).sum(axis=0)
    with np.errstate(invalid="ignore"):
        score = np.where(have * 2 >= len(ranked), np.nanmean(np.where(np.isfinite(m), m, np.nan), axis=0), np.nan)
    out = table.with_columns(pl.Series("overall_score", score, dtype=pl.Float64, nan_to_null=True))
    return out.with_columns(overall_rank=pl.col("overall_score").rank("min").cast(pl.Int64))


def _overdue(con, level: str, start: dt.date, end: dt.date, where, conf, as_of,
             scope: DataScope) -> tuple[pl.DataFrame, dt.datetime | None]:
    """Tickets open past their resolution limit at the period's end (and at the previous one's),
    per unit. The period's end is capped at the data's latest time (a current period)."""
    latest = as_of or data_as_of(con, facts_source(con))
    if latest is None:
        return pl.DataFrame(schema={level: pl.String, "overdue": pl.Int64, "overdue_prev": pl.Int64}), None
    at = min(periods.to_ts(end), latest)
    before = min(periods.to_ts(start), latest)
    frames = []
    for name, when in (("overdue", at), ("overdue_prev", before)):
        b = breaching(con, where=where, config=conf, as_of=when, limit=None, columns=["outlet_id", "technician_id"],
                      scope=scope)
        b = b.filter(pl.col("stage") == "resolution")
        b = _unit_column(con, b, level)
        frames.append(b.filter(pl.col(level).is_not_null()).group_by(level).agg(pl.len().cast(pl.Int64).alias(name)))
    out = frames[0].join(frames[1], on=level, how="full", coalesce=True)
    return out, at


def _unit_column(con, tickets: pl.DataFrame, level: str) -> pl.DataFrame:
    if level == "outlet":
        return tickets.rename({"outlet_id": "outlet"})
    if level == "technician":
        return tickets.rename({"technician_id": "technician"})
    types = fetch(con, "SELECT outlet_id, outlet_type FROM outlets")
    return tickets.join(types, on="outlet_id", how="left")


def _attributes(con, level: str) -> pl.DataFrame:
    """What a reader needs beside a unit's code: names, type, region; a technician's outlet and skill."""
    if level == "outlet":
        sql = "SELECT outlet_id AS outlet, outlet_name, outlet_type, region, city FROM outlets"
    elif level == "technician":
        sql = ("SELECT x.technician_id AS technician, x.technician_name, x.outlet_id, o.outlet_name, o.outlet_type,"
               " x.skill_level FROM technicians x LEFT JOIN outlets o ON o.outlet_id = x.outlet_id")
    else:
        return pl.DataFrame({"outlet_type": list(model.OUTLET_TYPES)})
    out = fetch(con, sql)
    assert isinstance(out, pl.DataFrame)
    return out.unique(subset=[level], keep="first")
