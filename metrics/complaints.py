"""Complaint insight: reason × outlet / product matrices, the trend per reason, repeat
complainants, and the themes and keywords of the complaint texts.

Everything is read through ``metrics.query`` and ``metrics.records`` (the complaint rate's
numerator and denominator, and its records), so a matrix cell, a trend point and the records a
cell rests on can never disagree with the complaint rate itself; personal data leaves masked
(``metrics.drill``). Complaint handling time is a KPI of the registry
(``complaint_handling_hours``, ``complaint_handling_median``), asked for with ``metrics.query``.

Counts and rates. A cell's ``complaints`` are the complaint tickets created in the range with
that reason at that outlet (or product); its ``rate`` divides them by every ticket created there
(all reasons, complaint or not): the complaint rate's share that reason carries. ``share`` is
the cell's part of the row's complaints.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import text
from metrics.compute import DbLike, query
from metrics.drill import records

KPI = "complaint_rate"
# The breakdowns a reason matrix takes (the rows; the columns are the reasons).
MATRIX_DIMS = ("outlet", "product_category", "product_model", "channel", "region", "technician")
# Breakdowns of the texts' themes and keywords: the record columns they read.
TEXT_DIMS = {"outlet": "outlet_id", "channel": "channel", "service_type": "service_type",
             "product_model": "product_model", "complaint_reason": "complaint_reason"}
REPEAT_MIN = 2  # complaints by one customer in the range that make a repeat complainant


def matrix(db: DbLike, by: str = "outlet", start: dt.date | None = None, end: dt.date | None = None,
           where: dict[str, Any] | None = None, config: dict | None = None, *, scope: DataScope) -> pl.DataFrame:
    """Complaints by ``by`` (outlet, product_category, ...) × reason over the range, long format:
    ``<by>`` (code; null = none recorded, e.g. tickets served by central customer service have
    no outlet), ``complaint_reason`` (null = none recorded), ``complaints``, ``tickets`` (every
    ticket created at that ``<by>``), ``rate`` = complaints ÷ tickets, ``share`` of the row's
    complaints. Only cells with complaints are listed."""
    if by not in MATRIX_DIMS:
        raise UserError(f"a complaint matrix is by one of {', '.join(MATRIX_DIMS)}, not {by!r}")
    df = query(db, [KPI], by=[by, "complaint_reason"], grain=None, start=start, end=end, where=where,
               config=config, compare=False, scope=scope)
    if df.is_empty():
        return pl.DataFrame(schema={by: pl.String, "complaint_reason": pl.String, "complaints": pl.Int64,
                                    "tickets": pl.Int64, "rate": pl.Float64, "share": pl.Float64})
    tickets = df.group_by(by).agg(tickets=pl.col("denominator").sum().cast(pl.Int64))
    cells = df.filter(pl.col("numerator") > 0).select(by, "complaint_reason",
                                                      complaints=pl.col("numerator").cast(pl.Int64))
    out = cells.join(tickets, on=by, how="left", nulls_equal=True).with_columns(
        rate=pl.col("complaints") / pl.col("tickets"),
        share=pl.col("complaints") / pl.col("complaints").sum().over(by))
    return out.sort([by, "complaint_reason"], nulls_last=True)


def reason_trend(db: DbLike, grain: str = "month", start: dt.date | None = None, end: dt.date | None = None,
                 where: dict[str, Any] | None = None, config: dict | None = None, *,
                 scope: DataScope) -> pl.DataFrame:
    """Complaints per reason per period: ``period_start``, ``complaint_reason``, ``complaints``,
    ``tickets`` (every ticket created in the period), ``rate`` = complaints ÷ tickets. A period
    without a reason's complaint lists it with 0 (a period without tickets is absent)."""
    df = query(db, [KPI], by=["complaint_reason"], grain=grain, start=start, end=end, where=where,
               config=config, compare=False, scope=scope)
    if df.is_empty():
        return pl.DataFrame(schema={"period_start": pl.Date, "complaint_reason": pl.String, "complaints": pl.Int64,
                                    "tickets": pl.Int64, "rate": pl.Float64})
    tickets = df.group_by("period_start").agg(tickets=pl.col("denominator").sum().cast(pl.Int64))
    reasons = df.filter(pl.col("numerator") > 0).select("complaint_reason").unique()
    grid = tickets.join(reasons, how="cross")
    counts = df.select("period_start", "complaint_reason", complaints=pl.col("numerator").cast(pl.Int64))
    out = grid.join(counts, on=["period_start", "complaint_reason"], how="left", nulls_equal=True).with_columns(
        pl.col("complaints").fill_null(0))
    return out.with_columns(rate=pl.col("complaints") / pl.col("tickets")).select(
        "period_start", "complaint_reason", "complaints", "tickets", "rate").sort(
        ["period_start", "complaint_reason"], nulls_last=True)


def complaint_records(db: DbLike, start: dt.date | None = None, end: dt.date | None = None,
                      where: dict[str, Any] | None = None, grain: str | None = None, config: dict | None = None,
                      limit: int | None = None, *, scope: DataScope) -> pl.DataFrame:
    """The complaint tickets created in the range (the complaint rate's numerator records), with
    ``period_start`` of ``grain`` (None: the range's start) and the ticket's columns, personal
    data masked (names, phones, the digit runs of the complaint text). Newest first."""
    return records(db, KPI, start=start, end=end, where=where, grain=grain, config=config, limit=limit,
                   only="numerator", order="newest", scope=scope)


def repeat_complainants(db: DbLike, start: dt.date | None = None, end: dt.date | None = None,
                        where: dict[str, Any] | None = None, min_complaints: int = REPEAT_MIN,
                        config: dict | None = None, *, scope: DataScope) -> pl.DataFrame:
    """Customers with at least ``min_complaints`` complaint tickets created in the range: one row
    each, ``customer_id``, ``customer_name`` and ``customer_phone`` (masked), ``complaints``,
    ``reasons`` (their codes, most frequent first), ``outlets``, ``first_at``, ``last_at``,
    ``ticket_ids``. Most complaints first. Complaints without a customer key are not grouped."""
    if min_complaints < 2:
        raise UserError("a repeat complainant has at least 2 complaints: min_complaints must be 2 or more")
    rec = complaint_records(db, start, end, where, config=config, scope=scope)
    schema = {"customer_id": pl.String, "customer_name": pl.String, "customer_phone": pl.String,
              "complaints": pl.Int64, "reasons": pl.List(pl.String), "outlets": pl.List(pl.String),
              "first_at": pl.Datetime("us"), "last_at": pl.Datetime("us"), "ticket_ids": pl.List(pl.String)}
    if rec.is_empty():
        return pl.DataFrame(schema=schema)
    rec = rec.filter(pl.col("customer_id").is_not_null()).sort("created_at")
    out = rec.group_by("customer_id").agg(
        pl.col("customer_name").drop_nulls().last(), pl.col("customer_phone").drop_nulls().last(),
        complaints=pl.len().cast(pl.Int64),
        reasons=pl.col("complaint_reason").drop_nulls().value_counts(sort=True).struct.field("complaint_reason"),
        outlets=pl.col("outlet_id").drop_nulls().unique(maintain_order=True),
        first_at=pl.col("created_at").min(), last_at=pl.col("created_at").max(),
        ticket_ids=pl.col("ticket_id"),
    ).filter(pl.col("complaints") >= min_complaints)
    return out.sort(["complaints", "last_at", "customer_id"], descending=[True, True, False]).select(list(schema))


# polars truncation of each grain, as DuckDB's date_trunc (weeks start on Monday)
_TRUNC = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}


def analyse(db: DbLike, start: dt.date | None = None, end: dt.date | None = None,
            where: dict[str, Any] | None = None, config: dict | None = None, *, scope: DataScope) -> pl.DataFrame:
    """The complaint texts of the range, each read once: one row per complaint ticket with a text,
    ``period_start`` (the range's start), ``created_at``, the breakdown columns of ``TEXT_DIMS``
    (under their breakdown names), ``ticket_id``, ``complaint_text`` (masked), ``theme``,
    ``reason`` (the theme's) and ``words``. ``themes_of`` and ``keywords_of`` aggregate it at any
    grain and breakdown without segmenting again."""
    rec = complaint_records(db, start, end, where, None, config, scope=scope)
    cols = ["period_start", "created_at", *TEXT_DIMS.values(), "ticket_id", "complaint_text"]
    schema = {"period_start": pl.Date, "created_at": pl.Datetime("us"), **dict.fromkeys(TEXT_DIMS, pl.String),
              "ticket_id": pl.String, "complaint_text": pl.String, "theme": pl.String, "reason": pl.String,
              "words": pl.List(pl.String)}
    if rec.is_empty():
        return pl.DataFrame(schema=schema)
    rec = rec.select(cols).rename({c: d for d, c in TEXT_DIMS.items() if c != d})
    rec = rec.filter(pl.col("complaint_text").is_not_null() & (pl.col("complaint_text").str.strip_chars() != ""))
    found = text.classify(rec["complaint_text"].to_list())
    return rec.with_columns(found["theme"], found["reason"], found["keywords"].alias("words"))


def _grouped(texts: pl.DataFrame, grain: str | None, by: tuple[str, ...]) -> tuple[pl.DataFrame, list[str]]:
    for dim in by:
        if dim not in TEXT_DIMS:
            raise UserError(f"complaint themes are by one of {', '.join(TEXT_DIMS)}, not {dim!r}")
    if grain is not None:
        if grain not in _TRUNC:
            raise UserError(f"grain must be one of {', '.join(_TRUNC)}, not {grain!r}")
        texts = texts.with_columns(period_start=pl.col("created_at").dt.truncate(_TRUNC[grain]).cast(pl.Date))
    return texts, ["period_start", *by]


def themes_of(texts: pl.DataFrame, grain: str | None = None, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """``themes`` from an ``analyse`` result."""
    df, keys = _grouped(texts, grain, by)
    if df.is_empty():
        return pl.DataFrame(schema={"period_start": pl.Date, **dict.fromkeys(by, pl.String), "theme": pl.String,
                                    "reason": pl.String, "complaints": pl.Int64, "share": pl.Float64})
    out = df.group_by([*keys, "theme", "reason"]).agg(complaints=pl.len().cast(pl.Int64))
    out = out.with_columns(share=pl.col("complaints") / pl.col("complaints").sum().over(keys))
    return out.sort([*keys, "complaints", "theme"], descending=[False] * len(keys) + [True, False], nulls_last=True)


def keywords_of(texts: pl.DataFrame, grain: str | None = None, by: tuple[str, ...] = (), top: int = 15
                ) -> pl.DataFrame:
    """``keywords`` from an ``analyse`` result."""
    df, keys = _grouped(texts, grain, by)
    if df.is_empty():
        return pl.DataFrame(schema={"period_start": pl.Date, **dict.fromkeys(by, pl.String), "keyword": pl.String,
                                    "complaints": pl.Int64, "share": pl.Float64, "theme": pl.String})
    df = df.select(*keys, keyword=pl.col("words").list.unique(maintain_order=True), texts=pl.len().over(keys))
    out = (df.explode("keyword").drop_nulls("keyword")
           .group_by([*keys, "keyword"]).agg(complaints=pl.len().cast(pl.Int64), texts=pl.col("texts").first()))
    owner = {w: code for code, t in text.THEMES.items() for w in t.keywords}
    out = out.with_columns(share=pl.col("complaints") / pl.col("texts"),
                           theme=pl.col("keyword").replace_strict(owner, default=None, return_dtype=pl.String))
    out = out.sort([*keys, "complaints", "keyword"], descending=[False] * len(keys) + [True, False], nulls_last=True)
    return out.group_by(keys, maintain_order=True).head(top).select(*keys, "keyword", "complaints", "share", "theme")


def themes(db: DbLike, start: dt.date | None = None, end: dt.date | None = None,
           where: dict[str, Any] | None = None, grain: str | None = None, by: tuple[str, ...] = (),
           config: dict | None = None, *, scope: DataScope) -> pl.DataFrame:
    """The themes of the complaint texts per period (``grain``: by the ticket's creation; None =
    the range as one) and breakdown (``by``: outlet, channel, service_type, product_model,
    complaint_reason): ``period_start``, ``<by…>``, ``theme`` (``metrics.text.THEMES`` code or
    ``unclassified``), ``reason`` (the reason the theme tells of), ``complaints`` (texts of that
    theme), ``share`` of the group's texts. Complaints without text are not counted."""
    _grouped(pl.DataFrame(), None, by)  # a bad breakdown fails before any query
    return themes_of(analyse(db, start, end, where, config, scope=scope), grain, by)


def keywords(db: DbLike, start: dt.date | None = None, end: dt.date | None = None,
             where: dict[str, Any] | None = None, grain: str | None = None, by: tuple[str, ...] = (),
             top: int = 15, config: dict | None = None, *, scope: DataScope) -> pl.DataFrame:
    """The words complaint texts use most, per period and breakdown (as ``themes``): ``keyword``,
    ``complaints`` (texts using it), ``share`` of the group's texts, ``theme`` (the theme it is a
    keyword of, else null); the ``top`` most used per group."""
    _grouped(pl.DataFrame(), None, by)
    return keywords_of(analyse(db, start, end, where, config, scope=scope), grain, by, top)


__all__ = ["MATRIX_DIMS", "REPEAT_MIN", "TEXT_DIMS", "analyse", "complaint_records", "keywords", "keywords_of",
           "matrix", "reason_trend", "repeat_complainants", "themes", "themes_of"]
