"""Ticket exports of the messy data set, built from clean ticket rows of the last months:
a snapshot of the ticket system some days before the end and its later re-export, two channel
back-office exports, and an event log of a third system."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from aftersales.model import TABLES

TS_COLUMNS = ["first_response_at", "dispatched_at", "resolved_at", "closed_at", "reopened_at",
              "refund_requested_at", "refunded_at"]
DESK = ["return", "refund", "consult"]


def snapshot(tickets: pl.DataFrame, visits: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """The tickets as an export taken at ``at`` would show them: later timestamps empty, status and
    updated_at as they were then (the same rules as the clean generator applies at the end)."""
    # the model's columns the generator simulates (not a source's own counts, such as reopen_count)
    cols = [c for c in TABLES["tickets"].column_names if c in tickets.columns]
    started = (visits.filter(pl.col("started_at") <= at).group_by("ticket_id")
               .agg(pl.col("started_at").max().alias("_visit")))
    t = tickets.filter(pl.col("created_at") <= at).join(started, on="ticket_id", how="left")
    t = t.with_columns(pl.col("status").alias("_final"))
    t = t.with_columns([pl.when(pl.col(c) <= at).then(pl.col(c)).alias(c) for c in TS_COLUMNS])
    cancelled = (pl.col("_final") == "cancelled") & pl.col("closed_at").is_not_null()
    status = (pl.when(cancelled).then(pl.lit("cancelled"))
              .when(pl.col("closed_at").is_not_null()).then(pl.lit("closed"))
              .when(pl.col("reopened_at").is_not_null()).then(pl.lit("in_progress"))
              .when(pl.col("resolved_at").is_not_null()).then(pl.lit("resolved"))
              .when(pl.col("_visit").is_not_null()
                    | (pl.col("service_type").is_in(DESK) & pl.col("first_response_at").is_not_null()
                       & pl.col("dispatched_at").is_null())).then(pl.lit("in_progress"))
              .when(pl.col("dispatched_at").is_not_null()).then(pl.lit("dispatched"))
              .otherwise(pl.lit("open")))
    dispatched = pl.col("dispatched_at").is_not_null()
    return t.with_columns(
        status=status,
        resolution=pl.when(pl.col("resolved_at").is_not_null() | cancelled).then(pl.col("resolution")),
        refund_amount=pl.when(pl.col("refunded_at").is_not_null()).then(pl.col("refund_amount")),
        # charged on completion: a snapshot before it shows none yet
        **({"customer_charge": pl.when(pl.col("resolved_at").is_not_null()).then(pl.col("customer_charge"))}
           if "customer_charge" in cols else {}),
        outlet_id=pl.when(dispatched).then(pl.col("outlet_id")),
        technician_id=pl.when(dispatched).then(pl.col("technician_id")),
        updated_at=pl.max_horizontal("created_at", *TS_COLUMNS, "_visit"),
    ).select(cols)


def changed_since(first: pl.DataFrame, final: pl.DataFrame, rng: np.random.Generator,
                  also_unchanged: float = 0.05) -> pl.DataFrame:
    """Rows of ``final`` that are new or differ from ``first``, plus a few unchanged ones (a
    re-export selected by date overlaps the previous one)."""
    cols = [c for c in TABLES["tickets"].column_names if c in final.columns]
    joined = final.join(first, on="ticket_id", how="left", suffix="_old")
    differs = pl.col("created_at_old").is_null()
    for c in cols[1:]:
        differs = differs | pl.col(c).ne_missing(pl.col(f"{c}_old"))
    flags = joined.select(differs.alias("d"))["d"].to_numpy()
    keep = flags | (rng.random(len(flags)) < also_unchanged)
    return final.filter(pl.Series(keep))


EVENT_STATUS = {"created": "open", "dispatched": "dispatched", "visit": "in_progress", "resolved": "resolved",
                "reopened": "in_progress", "closed": "closed", "cancelled": "cancelled"}
EVENT_LABEL = {"created": "创建", "first_response": "首次响应", "refund_requested": "申请退款", "dispatched": "派工",
               "visit": "上门", "resolved": "完成", "reopened": "重开", "closed": "结单", "cancelled": "取消"}


def events(tickets: pl.DataFrame, visits: pl.DataFrame) -> list[tuple[dict[str, Any], str]]:
    """Event rows (values, event label) whose fold, last non-empty value of each field in time
    order, is exactly the ticket row. Sorted by event time."""
    starts: dict[str, list[dt.datetime]] = {}
    for tid, at in visits.select("ticket_id", "started_at").iter_rows():
        starts.setdefault(tid, []).append(at)
    out: list[tuple[dt.datetime, int, dict[str, Any], str]] = []
    for n, t in enumerate(tickets.iter_rows(named=True)):
        ev: list[tuple[dt.datetime, str, dict[str, Any]]] = []
        created = {k: t[k] for k in ("channel", "service_type", "priority", "product_model", "customer_id",
                                     "customer_name", "customer_phone", "created_at")}
        ev.append((t["created_at"], "created", {**created, "status": "open", "is_complaint": False}))
        if t["first_response_at"]:
            desk = t["service_type"] in DESK
            ev.append((t["first_response_at"], "first_response",
                       {"first_response_at": t["first_response_at"], **({"status": "in_progress"} if desk else {})}))
        if t["refund_requested_at"]:
            ev.append((t["refund_requested_at"], "refund_requested", {"refund_requested_at": t["refund_requested_at"]}))
        if t["dispatched_at"]:
            ev.append((t["dispatched_at"], "dispatched", {"status": "dispatched", "dispatched_at": t["dispatched_at"],
                                                          "outlet_id": t["outlet_id"],
                                                          "technician_id": t["technician_id"]}))
        for at in starts.get(t["ticket_id"], []):
            ev.append((at, "visit", {"status": "in_progress"}))
        if t["resolved_at"]:
            ev.append((t["resolved_at"], "resolved", {"status": "resolved", "resolved_at": t["resolved_at"],
                                                      "resolution": t["resolution"], "refunded_at": t["refunded_at"],
                                                      "refund_amount": t["refund_amount"]}))
        if t["reopened_at"]:
            ev.append((t["reopened_at"], "reopened", {"status": "in_progress", "reopened_at": t["reopened_at"]}))
        if t["closed_at"]:
            kind = "cancelled" if t["status"] == "cancelled" else "closed"
            extra = {"resolution": "cancelled"} if kind == "cancelled" else {}
            ev.append((t["closed_at"], kind, {"status": EVENT_STATUS[kind], "closed_at": t["closed_at"], **extra}))
        ev.sort(key=lambda e: e[0])
        if t["is_complaint"]:
            ev[-1][2].update(is_complaint=True, complaint_reason=t["complaint_reason"])
        for i, (at, kind, values) in enumerate(ev):
            out.append((at, n * 100 + i, {"ticket_id": t["ticket_id"], "updated_at": at, **values}, kind))
    out.sort(key=lambda e: (e[0], e[1]))
    return [(values, EVENT_LABEL[kind]) for _, _, values, kind in out]


def fold(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The events-mode fold: per ticket, the last non-empty value of each field (rows in time order)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        rec = out.setdefault(r["ticket_id"], {})
        rec.update({k: v for k, v in r.items() if v is not None})
    return out


__all__ = ["snapshot", "changed_since", "events", "fold"]
