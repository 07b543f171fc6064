"""Turn one chunk's simulated arrays into the canonical tables: cut everything at the end of the
period (what has not happened yet is empty), derive status and updated_at, draw the surveys."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from aftersales.model import CHANNELS, COMPLAINT_REASONS, SURVEY_CHANNELS
from pipelines.generate import people, warranty
from pipelines.generate.calendar import SERVICES
from pipelines.generate.complaint_text import complaint_texts
from pipelines.generate.masters import Masters
from pipelines.generate.tickets import priority
from pipelines.generate.visits import OUTCOMES
from pipelines.generate.vocab import COMMENTS

PRIORITIES = ["low", "normal", "high", "urgent"]
# Order numbers by channel: (prefix, digits of the number, lowest number).
ORDER_FORMAT = {"taobao": ("", 19, 10**18), "tmall": ("", 19, 2 * 10**18), "jd": ("", 12, 2 * 10**11),
                "pdd": ("PDD", 15, 10**14), "douyin": ("", 19, 6_900_000_000_000_000_000),
                "suning": ("", 11, 3 * 10**10), "vip": ("", 18, 2 * 10**17), "weidian": ("", 10, 10**9)}
NA = np.iinfo(np.int64).min


def ts(sec: np.ndarray, ok: np.ndarray | None = None) -> pl.Series:
    """Seconds (local wall clock) -> naive Datetime('us'); ``ok`` False -> null."""
    arr = pa.array(sec.astype(np.int64) * 1_000_000, type=pa.timestamp("us"), mask=None if ok is None else ~ok)
    return pl.Series(arr)


def nullify(s: pl.Series, ok: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(ok)).then(s).otherwise(None).alias(s.name)).to_series()


def pick(labels: list[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(labels).gather(idx)


def _order_ids(channel: np.ndarray, key: np.ndarray, seed: int) -> pl.Series:
    out = pl.Series([None] * len(channel), dtype=pl.String)
    h = people.hash64(key, seed * 13 + 3)
    for name, (prefix, digits, lo) in ORDER_FORMAT.items():
        sel = channel == list(CHANNELS).index(name)
        if not sel.any():
            continue
        span = np.uint64(min(10**digits - lo, 2**63 - 1 - lo))
        num = pl.Series((np.uint64(lo) + h[sel] % span).astype(np.int64)).cast(pl.String).str.zfill(digits)
        out = out.scatter(np.flatnonzero(sel), (prefix + num) if prefix else num)
    return out


def chunk_frames(m: Masters, b, sim: dict[str, np.ndarray], rng: np.random.Generator, seq0: int, visit_seq0: int,
                 order_key: np.ndarray, end_sec: int, seed: int) -> dict[str, pl.DataFrame]:
    """The four ticket-side tables of one batch of simulated tickets. Ticket ``i`` gets sequence
    number ``seq0 + i``; ``order_key`` fixes its channel order number (a repeat repair keeps the
    order of the ticket it repeats)."""
    n = len(b.created)
    E = end_sec
    seq = seq0 + np.arange(n)
    yymmdd = pl.Series(b.created // 86400 * 86400 * 1_000_000).cast(pl.Datetime("us")).dt.strftime("%y%m%d")
    ticket_id = pl.select(pl.concat_str([pl.lit("GD"), yymmdd, pl.Series(seq).cast(pl.String).str.zfill(8)])).to_series()

    # What has happened by the end of the period.
    fr_ok = sim["fr_ok"] & (sim["first_response"] <= E)
    disp_ok = sim["disp_ok"] & (sim["dispatched"] <= E)
    res_ok = sim["res_ok"] & (sim["resolved"] <= E)
    closed_ok = sim["closed_ok"] & (sim["closed"] <= E)
    reopen_ok = sim["reopen"] & res_ok & (sim["reopened"] <= E)
    refunded_ok = sim["refund_ok"] & res_ok
    cancelled = sim["cancel"] & closed_ok

    # Visits that have started; work not finished yet has no end and no outcome.
    vt = sim["v_ticket"]
    v_ok = sim["v_start"] <= E
    v_done = v_ok & (sim["v_end"] <= E)
    started = np.zeros(n, bool)
    started[vt[v_ok]] = True
    last_start = np.full(n, NA)
    np.maximum.at(last_start, vt[v_ok], sim["v_start"][v_ok])

    status = np.full(n, "open", dtype=object)
    desk = np.isin(b.stype, [SERVICES.index(s) for s in ("return", "refund", "consult")])
    status[disp_ok] = "dispatched"
    status[started | (desk & fr_ok & ~disp_ok)] = "in_progress"
    status[res_ok] = "resolved"
    status[reopen_ok & ~closed_ok] = "in_progress"
    status[closed_ok] = "closed"
    status[cancelled] = "cancelled"

    # A refund is requested within ten minutes of the ticket, and never after it was paid out.
    req_delay = rng.integers(0, 600, n)
    refund_req = b.created + np.where(res_ok, np.minimum(req_delay, np.maximum(sim["resolved"] - b.created, 0)),
                                      req_delay)
    req_ok = sim["refund_ok"] & (refund_req <= E)
    stamps = [(b.created, np.ones(n, bool)), (sim["first_response"], fr_ok), (sim["dispatched"], disp_ok),
              (sim["resolved"], res_ok), (sim["closed"], closed_ok), (sim["reopened"], reopen_ok),
              (refund_req, req_ok), (last_start, started)]
    updated = np.max(np.stack([np.where(ok, t, NA) for t, ok in stamps]), axis=0)

    in_warranty, charge = warranty.columns(b, sim, m.part_cost, res_ok, v_done, seed)
    tech_ids = m.technicians["technician_id"]
    tech_ok = disp_ok & (sim["tech"] >= 0)
    complaint = sim["complaint"]
    phone = people.phones(b.customer, seed * 17 + 2)
    text, topics = complaint_texts(b.stype, b.cat, sim["reason"], complaint, phone, seed, seq0)
    tickets = pl.DataFrame({
        "ticket_id": ticket_id,
        "channel": pick(list(CHANNELS), b.channel),
        "service_type": pick(SERVICES, b.stype),
        "priority": pick(PRIORITIES, priority(rng, b.stype)),
        "status": pl.Series(status.astype(str)),
        "outlet_id": nullify(m.outlets["outlet_id"].gather(b.outlet), sim["outlet_ok"] & disp_ok),
        "technician_id": nullify(tech_ids.gather(np.maximum(sim["tech"], 0)), tech_ok),
        "product_model": m.products["product_model"].gather(b.product),
        "customer_id": people.codes("C", b.customer + 1, 9),
        "customer_name": people.names(b.customer, seed * 17 + 1),
        "customer_phone": phone,
        "order_id": _order_ids(b.channel, order_key, seed),
        "created_at": ts(b.created),
        "first_response_at": ts(sim["first_response"], fr_ok),
        "dispatched_at": ts(sim["dispatched"], disp_ok),
        "resolved_at": ts(sim["resolved"], res_ok),
        "closed_at": ts(sim["closed"], closed_ok),
        "resolution": nullify(pl.Series(sim["resolution"].astype(str)), res_ok | cancelled),
        "is_complaint": complaint,
        "complaint_reason": nullify(pick(list(COMPLAINT_REASONS), sim["reason"]), complaint),
        "reopened_at": ts(sim["reopened"], reopen_ok),
        "refund_requested_at": ts(refund_req, req_ok),
        "refunded_at": ts(sim["resolved"], refunded_ok),
        "refund_amount": pl.Series(np.where(refunded_ok, sim["amount"], np.nan)).fill_nan(None),
        "in_warranty": pl.Series(in_warranty).fill_nan(None).cast(pl.Boolean),
        "customer_charge": pl.Series(charge).fill_nan(None),
        "updated_at": ts(updated),
        "complaint_text": text,
    })

    nv = len(vt)
    visit_id = people.codes("FW", visit_seq0 + np.arange(nv), 10)
    v_outcome = np.asarray(OUTCOMES, dtype=object)[sim["v_outcome"]].astype(str)
    visits = pl.DataFrame({
        "visit_id": visit_id,
        "ticket_id": ticket_id.gather(vt),
        "visit_no": pl.Series(sim["v_no"], dtype=pl.Int8),
        "technician_id": tech_ids.gather(np.maximum(sim["v_tech"], 0)),
        "visit_type": pl.Series(np.where(sim["v_workshop"], "workshop", "onsite")),
        "started_at": ts(sim["v_start"]),
        "ended_at": ts(sim["v_end"], v_done),
        "travel_minutes": pl.Series(sim["v_travel"], dtype=pl.Int16),
        "outcome": nullify(pl.Series(v_outcome), v_done),
    })
    pv = sim["p_visit"]
    parts_used = pl.DataFrame({
        "visit_id": visit_id.gather(pv),
        "part_no": m.parts["part_no"].gather(sim["p_part"]),
        "ticket_id": ticket_id.gather(vt[pv]),
        "quantity": pl.Series(sim["p_qty"], dtype=pl.Int32),
        "unit_cost": pl.Series(m.part_cost[sim["p_part"]]),
    }).filter(pl.Series(v_done[pv]))
    visits = visits.filter(pl.Series(v_ok))

    surveys = _surveys(rng, b, sim, ticket_id, seq, closed_ok & ~cancelled, E)
    # what each complaint text was written about (the answer key of metrics.text's themes)
    complaint_topics = topics.select(ticket_id=ticket_id.gather(topics["i"]),
                                     complaint_reason=tickets["complaint_reason"].gather(topics["i"]),
                                     topic="topic", aside="aside")
    return {"tickets": tickets, "visits": visits, "parts_used": parts_used, "surveys": surveys,
            "complaint_topics": complaint_topics}


def _surveys(rng: np.random.Generator, b, sim, ticket_id: pl.Series, seq: np.ndarray, closed: np.ndarray,
             E: int) -> pl.DataFrame:
    """Surveys sent on closing; unhappy customers answer more often, and score lower."""
    n = len(seq)
    unhappy = sim["late"] | sim["complaint"] | sim["not_fixed"] | b.repeat
    respond = closed & (rng.random(n) < np.where(unhappy, 0.45, 0.19))
    at = sim["closed"] + (3600 * 20 * rng.lognormal(0, 1.0, n)).astype(np.int64) + 300
    idx = np.flatnonzero(respond & (at <= E))
    k = len(idx)
    latent = (4.55 - 1.3 * sim["complaint"][idx] - 0.7 * sim["late"][idx] - 1.0 * sim["not_fixed"][idx]
              - 0.35 * sim["outsourced"][idx] - 0.5 * b.repeat[idx] - 0.3 * sim["reopen"][idx]
              + rng.normal(0, 0.75, k))
    sat = np.clip(np.round(latent), 1, 5).astype(np.int64)
    nps = np.clip(np.round(2.2 * sat - 1.2 + rng.normal(0, 1.3, k)), 0, 10).astype(np.int64)
    has_nps = rng.random(k) < 0.7

    # Comments: praise when happy, the complaint's reason when there is one, generic grumbles else.
    reasons = list(COMPLAINT_REASONS)
    bucket = np.where(sat >= 4, "good", np.where(sat == 3, "neutral", "bad")).astype(object)
    why = np.asarray(reasons, dtype=object)[sim["reason"][idx]]
    specific = (sat <= 2) & sim["complaint"][idx] & np.isin(why, list(COMMENTS))
    bucket = np.where(specific, why, bucket)
    comment = np.empty(k, dtype=object)
    for key, texts in COMMENTS.items():
        sel = bucket == key
        comment[sel] = np.asarray(texts, dtype=object)[rng.integers(0, len(texts), sel.sum())]
    has_comment = rng.random(k) < np.where(sat <= 2, 0.8, 0.45)
    channel = np.searchsorted([0.45, 0.85, 1.0], rng.random(k), side="right").clip(0, 2)
    return pl.DataFrame({
        "survey_id": people.codes("HF", seq[idx], 10),
        "ticket_id": ticket_id.gather(idx),
        "responded_at": ts(at[idx]),
        "satisfaction": pl.Series(sat, dtype=pl.Int8),
        "nps": nullify(pl.Series(nps, dtype=pl.Int8), has_nps),
        "comment": nullify(pl.Series(comment.astype(str)), has_comment),
        "survey_channel": pick(list(SURVEY_CHANNELS), channel),
    })


__all__ = ["chunk_frames"]
