"""Fair league tables of outlets, technicians (or any breakdown).

A 3-ticket outlet with 3 successes must not top a 3,000-ticket outlet at 97%. Two methods:

- ``shrunk`` (default for rates, means and NPS): empirical-Bayes estimates that pull each unit
  towards the pooled value in proportion to how little data it has (beta-binomial for
  proportions, normal–normal for means and NPS; prior strength by the method of moments).
- ``interval``: rank by the pessimistic end of the 95% interval (the lower bound when higher is
  better, the upper bound when lower is better). The default for medians and percentiles, which
  have no additive measures to shrink.

Counts and sums (volume, parts) have no sampling error to correct for and rank by ``value``.
The result says which method was used (``rank_method``) and what was ranked on (``score``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import registry as R
from metrics import stats
from metrics.compute import DbLike, run

METHODS = ("auto", "shrunk", "interval", "value")


def rank(db: DbLike, kpi: str, level: str = "outlet", start: dt.date | None = None, end: dt.date | None = None,
         where: dict[str, Any] | None = None, config: dict | None = None, method: str = "auto",
         as_of: dt.datetime | None = None, *, scope: DataScope) -> pl.DataFrame:
    """Units of ``level`` ranked on ``kpi`` over [start, end] (best first).

    Columns: rank, <level>, value, score, rank_method, numerator, denominator, n_records,
    ci_low, ci_high, small_sample, target, status, final_on (set while the range is not final: see
    ``metrics.maturity``). ``score`` is what was ranked on (the shrunk
    estimate, the interval bound, or the value); units with no value rank last. ``scope``: the
    data scope (``DataScope()``: the whole company): only its units, ranked among themselves.
    """
    if method not in METHODS:
        raise UserError(f"unknown ranking method {method!r}; valid: {', '.join(METHODS)}")
    k = R.get(kpi)
    if level not in R.DIMENSIONS:
        raise UserError(f"unknown level {level!r}; valid: {', '.join(R.DIMENSIONS)}")
    df, raw = run(db, metrics=[kpi], by=[level], grain=None, start=start, end=end, where=where, config=config,
                  as_of=as_of, scope=scope)
    return rank_frame(df, raw, k, level, method)


def rank_frame(df: pl.DataFrame, raw: pl.DataFrame, k: R.KpiDef, level: str, method: str = "auto") -> pl.DataFrame:
    """``rank``'s table from a ``metrics.compute.run`` result already in hand (``df``, ``raw``; they
    may hold other KPIs, and previous periods in ``raw``): ``k``'s rows of one period, ranked. For
    callers computing many KPIs in one statement (scorecards)."""
    df = _aux(df.filter(pl.col("kpi") == k.id), raw, level)
    if method == "auto":
        method = {"ratio": "shrunk", "mean": "shrunk", "nps": "shrunk", "quantile": "interval"}.get(k.kind, "value")
    if method == "shrunk" and k.kind not in ("ratio", "mean", "nps"):
        raise UserError(f"{k.id} is a {k.kind}: it cannot be shrunk; rank it by 'interval' or 'value'")
    if method == "interval" and k.kind in ("count", "sum"):
        raise UserError(f"{k.id} is a {k.kind} with no interval; rank it by 'value'")
    higher = k.higher_is_better is not False
    if method == "value":
        score = df["value"].to_numpy().astype(float)
    elif method == "interval":
        score = (df["ci_low"] if higher else df["ci_high"]).to_numpy().astype(float)
    elif k.kind == "ratio":
        score = stats.shrink_proportion(df["numerator"].to_numpy(), df["denominator"].to_numpy())[0] * k.scale
    elif k.kind == "mean":
        # the sum of squares is not in the long result: re-derive it from the interval half-width
        score = _shrunk_mean(df)
    else:  # nps: mean of +100 / 0 / -100 scores
        score = _shrunk_nps(df)
    out = df.with_columns(pl.Series("score", score, dtype=pl.Float64, nan_to_null=True),
                          rank_method=pl.lit(method))
    # ties (e.g. every unit shrunk to the pooled value when units do not really differ) keep the
    # order of the raw values
    out = out.sort(["score", "value"], descending=higher, nulls_last=True)
    out = out.with_columns(rank=pl.when(pl.col("score").is_not_null())
                           .then(pl.int_range(1, pl.len() + 1)).cast(pl.Int64))
    return out.select(["rank", level, "value", "score", "rank_method", "numerator", "denominator", "n_records",
                       "ci_low", "ci_high", "small_sample", "target", "status", "final_on"])


def _aux(df: pl.DataFrame, raw: pl.DataFrame, level: str) -> pl.DataFrame:
    # on the period too: ``raw`` also holds the previous periods a comparison scanned
    extra = raw.select(["kpi", "period_start", level, "sumsq", "aux"])
    return df.join(extra, on=["kpi", "period_start", level], how="left", nulls_equal=True)


def _shrunk_mean(df: pl.DataFrame) -> np.ndarray:
    return stats.shrink_mean(df["numerator"].fill_null(0).to_numpy(), df["denominator"].fill_null(0).to_numpy(),
                             df["sumsq"].fill_null(0).to_numpy())[0]


def _shrunk_nps(df: pl.DataFrame) -> np.ndarray:
    # each answer scores +100 (promoter), 0 or -100 (detractor): the mean of those is the NPS,
    # and the sum of squares is 100² × (promoters + detractors)
    aux = df["aux"].to_list()
    prom_det = np.array([(a[0] + a[1]) if a else 0.0 for a in aux], dtype=float)
    total = 100 * df["numerator"].fill_null(0).to_numpy().astype(float)
    return stats.shrink_mean(total, df["denominator"].fill_null(0).to_numpy(), 100 * 100 * prom_det)[0]
