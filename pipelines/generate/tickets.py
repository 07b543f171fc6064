"""Ticket simulation for one chunk of days: who asks for what, through which channel, and how
the ticket then runs (first response, dispatch, visits, resolution, closing, complaint, reopening,
refund). Everything is an array over the chunk's tickets; timestamps are int64 seconds of local
wall-clock time, computed uncensored and cut at the end of the period only in ``frames``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aftersales.config import DEFAULTS
from aftersales.model import CHANNELS, COMPLAINT_REASONS
from pipelines.generate.calendar import SERVICES, Calendar
from pipelines.generate.calendar import S as SI
from pipelines.generate.masters import Masters, draw_part, draw_product
from pipelines.generate.people import unit
from pipelines.generate.visits import plan_visits

CH = list(CHANNELS)
REASONS = list(COMPLAINT_REASONS)
ECOMMERCE = np.array([c in ("taobao", "tmall", "jd", "pdd", "douyin", "suning", "vip", "weidian") for c in CH])
# Channel mix by service type (rows: SERVICES; columns: CH).
CHANNEL_MIX = np.array([
    [.12, .20, .22, .12, .10, .03, .03, .02, .04, .08, .04],  # delivery
    [.08, .14, .16, .05, .05, .04, .01, .01, .12, .24, .10],  # install
    [.05, .08, .10, .04, .04, .03, .01, .01, .16, .36, .12],  # repair
    [.14, .22, .22, .14, .12, .03, .05, .02, .03, .02, .01],  # return
    [.13, .20, .22, .12, .10, .03, .04, .02, .05, .05, .04],  # exchange
    [.16, .22, .20, .16, .14, .02, .05, .02, .02, .01, .00],  # refund
    [.10, .14, .14, .07, .07, .02, .02, .01, .15, .22, .06],  # consult
])
# Minutes of hours of the day a ticket is opened (relative weights per hour).
INTRADAY = np.array([.3, .15, .1, .08, .08, .15, .5, 1.2, 2.6, 3.6, 3.8, 3.3, 2.4, 2.8, 3.3, 3.3, 3.0, 2.6, 2.2, 2.3,
                     2.5, 2.3, 1.6, .8])
INTRADAY_CUM = np.cumsum(INTRADAY) / INTRADAY.sum()

# Per service type, in SERVICES order.
FIRST_RESPONSE_MIN = np.array([20, 25, 25, 15, 15, 12, 8])
CANCEL_P = np.array([.02, .04, .025, .05, .03, .06, 0.0])
COMPLAINT_BASE = np.array([.035, .025, .04, .03, .04, .035, .012])
REOPEN_P = np.array([.03, .035, .06, .02, .035, .025, .015])
SLA_HOURS = np.array([DEFAULTS["sla_hours"]["resolution"].get(s, DEFAULTS["sla_hours"]["resolution"]["default"])
                      for s in SERVICES], dtype=float)
PRICE = np.array([3000, 1800, 2500, 3500, 2800, 2200, 280], dtype=float)  # typical item price by category
PRIORITY_P = np.array([.10, .72, .14, .04])  # low, normal, high, urgent
STUCK_P = 0.001


@dataclass
class Base:
    """What is known when a ticket is opened."""
    day: np.ndarray
    created: np.ndarray
    stype: np.ndarray
    cat: np.ndarray
    customer: np.ndarray
    outlet: np.ndarray
    product: np.ndarray
    channel: np.ndarray
    repeat: np.ndarray  # a repeat repair of an earlier ticket (same customer and product)
    parent: np.ndarray  # the repeated ticket's position in its batch, -1 if none


def draw_base(cal: Calendar, m: Masters, rng: np.random.Generator, counts: np.ndarray, day0: int,
              n_customers: int, seed: int) -> Base:
    """Tickets of days ``day0 ..`` from ``counts`` (days, services, categories), sorted by creation."""
    n_s, n_c = counts.shape[1:]
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    day = day0 + cell // (n_s * n_c)
    stype = (cell // n_c) % n_s
    cat = cell % n_c
    n = len(cell)
    hour = np.searchsorted(INTRADAY_CUM, rng.random(n), side="right")
    created = cal.day_sec[day] + hour * 3600 + rng.integers(0, 3600, n)
    order = np.argsort(created, kind="stable")
    day, stype, cat, created = day[order], stype[order], cat[order], created[order]
    # Most customers open one ticket; a small frequent group (1 in 30) opens a fifth of them.
    frequent = max(n_customers // 30, 1)
    customer = np.where(rng.random(n) < 0.2, rng.integers(0, frequent, n), rng.integers(frequent, n_customers, n))
    outlet = np.searchsorted(m.outlet_cum, unit(customer, seed * 7 + 11), side="right")
    product = draw_product(m, rng, cat, stype == SI["repair"])
    years = (day / 365.25)[:, None]
    p = CHANNEL_MIX[stype] * np.where(np.array(CH) == "douyin", 1 + 0.5 * years, 1.0)
    channel = _choose(rng, p)
    return Base(day, created, stype, cat, customer, np.minimum(outlet, len(m.outlet_cum) - 1), product, channel,
                np.zeros(n, bool), np.full(n, -1))


def _choose(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One categorical draw per row of (unnormalised) probabilities ``p``."""
    cum = np.cumsum(p, axis=1)
    idx = ((rng.random(len(p)) * cum[:, -1])[:, None] >= cum).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1)


def _ln(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    return median * rng.lognormal(0.0, sigma, n)


def simulate(cal: Calendar, m: Masters, rng: np.random.Generator, b: Base) -> dict[str, np.ndarray]:
    """Run each ticket of ``b`` to its (uncensored) end. Returns ticket arrays plus the visit plan."""
    n = len(b.created)
    st = b.stype
    is_ = {s: st == i for s, i in SI.items()}
    field_job = is_["delivery"] | is_["install"] | is_["repair"] | is_["exchange"]
    dispatched = field_job | is_["return"]
    outs = m.outlet_outsourced[b.outlet]
    has_outlet = dispatched  # refunds and consultations are handled by central customer service
    c = b.created
    fwait, dwait = cal.field_wait[b.day], cal.desk_wait[b.day]

    fr = c + (60 * _ln(rng, FIRST_RESPONSE_MIN[st], 0.9, n) * (1 + 1.5 * dwait)).astype(np.int64) + 60
    fr = cal.snap(fr, rng, 8, 22)
    disp = fr + (60 * _ln(rng, 30.0, 1.0, n) * (1 + fwait)).astype(np.int64) + 60
    disp = cal.snap(disp, rng, 8, 21)

    # Technician: someone at the outlet with the skill, employed that month.
    group = np.select([is_["install"], is_["repair"]], [1, 2], 0)
    g = (cal.month[b.day] * len(m.outlet_cum) + b.outlet) * 3 + group
    tech = m.elig_tech[np.minimum(m.elig_start[g] + (rng.random(n) * m.elig_len[g]).astype(np.int64),
                                  len(m.elig_tech) - 1)]
    tech = np.where(field_job, tech, -1)
    skill = np.where(field_job, m.tech_skill[np.maximum(tech, 0)], 3)

    cancel = rng.random(n) < CANCEL_P[st]
    cancel_t = c + (3600 * _ln(rng, 8.0, 1.0, n)).astype(np.int64) + 300
    stuck = ~cancel & dispatched & (rng.random(n) < STUCK_P)

    # Repair outcome, the part it needs, and whether that part is out of stock this week.
    u = rng.random(n)
    p_nf = 0.03 + 0.035 * outs + 0.01 * np.clip(3 - skill, 0, None)
    res_repair = np.where(u < p_nf, 1, np.where(u < p_nf + 0.03, 2, 0))  # 0 fixed, 1 not_fixed, 2 replaced
    part_p = np.array([.65, .6, .55, .6, .7, .5, .4])[b.cat]
    uses_part = is_["repair"] & (res_repair != 2) & (rng.random(n) < np.where(res_repair == 1, 0.3, part_p))
    part = draw_part(m, rng, b.cat)
    week = cal.week[cal.day_of(disp)]
    stock_out = uses_part & m.stockout[week, part] & ~cancel
    q = np.where(outs, 0.78, 0.905) + 0.035 * (skill - 3)
    ftf = is_["repair"] & (res_repair == 0) & ~stock_out & (rng.random(n) < q)

    plan = plan_visits(cal, m, rng, b, tech, skill, outs, disp, fwait, is_, res_repair, ftf, stock_out, part,
                       uses_part, cancel | stuck, stuck)
    last_end = plan.pop("last_end")

    resolved = np.zeros(n, dtype=np.int64)
    resolved = np.where(field_job, last_end + rng.integers(120, 2400, n), resolved)
    ret = disp + (86400 * (_ln(rng, 3.5, 0.45, n) + dwait * rng.uniform(0.5, 1.5, n))).astype(np.int64)
    resolved = np.where(is_["return"], cal.snap(ret, rng, 9, 21), resolved)
    ref = fr + (3600 * _ln(rng, 5.0, 1.1, n) + 86400 * dwait * rng.uniform(0.5, 1.5, n)).astype(np.int64)
    resolved = np.where(is_["refund"], cal.snap(ref, rng, 8, 23), resolved)
    con = fr + (60 * _ln(rng, 25.0, 1.4, n)).astype(np.int64) + 60
    resolved = np.where(is_["consult"], cal.snap(con, rng, 8, 22), resolved)

    ecommerce = ECOMMERCE[b.channel]
    close_h = np.where(is_["consult"], _ln(rng, 0.25, 1.0, n), np.where(ecommerce, _ln(rng, 18.0, 0.9, n),
                                                                         _ln(rng, 5.0, 1.0, n)))
    closed = resolved + (3600 * close_h).astype(np.int64) + 60

    resolution = np.select(
        [is_["delivery"], is_["install"], is_["repair"], is_["return"], is_["exchange"], is_["refund"]],
        [np.where(rng.random(n) < 0.05, "replaced", "delivered"), "installed",
         np.array(["fixed", "not_fixed", "replaced"])[res_repair], "returned", "replaced", "refunded"],
        "answered").astype(object)

    res_h = np.where(stuck, 24 * 90, (resolved - c) / 3600)
    lateness = np.clip(res_h / SLA_HOURS[st] - 1, 0, 3)
    late = lateness > 0
    not_fixed = is_["repair"] & (res_repair == 1)
    p_c = COMPLAINT_BASE[st] * np.where(outs & has_outlet, 1.6, 1.0) * (1 + lateness) * np.where(not_fixed, 2.5, 1)
    p_c = np.clip(p_c * np.where(b.repeat, 2.2, 1.0) * np.where(stock_out, 1.3, 1.0), 0, 0.9)
    complaint = rng.random(n) < p_c
    w = np.zeros((n, len(REASONS)))
    w[:, REASONS.index("attitude")] = 1.0
    w[:, REASONS.index("delay")] = np.where(late, 4.0, 0.3)
    w[:, REASONS.index("repeat_failure")] = np.where(b.repeat | not_fixed, 5.0, np.where(is_["repair"], 0.1, 0))
    w[:, REASONS.index("charges")] = np.where(field_job, np.where(outs, 1.2, 0.3), 0.05)
    w[:, REASONS.index("wrong_goods")] = np.where(is_["delivery"] | is_["exchange"] | is_["return"], 3.0, 0)
    w[:, REASONS.index("quality")] = np.where(is_["repair"] | is_["exchange"] | is_["return"], 1.0, 0.2)
    w[:, REASONS.index("other")] = 0.3
    reason = _choose(rng, w)

    p_r = REOPEN_P[st] * np.where(outs & has_outlet, 1.6, 1.0) * np.where(not_fixed, 2.0, 1.0)
    reopen = ~cancel & ~stuck & (rng.random(n) < p_r)
    reopened = resolved + (86400 * np.minimum(_ln(rng, 2.5, 0.9, n), 29)).astype(np.int64) + 600
    closed = np.where(reopen, reopened + (86400 * _ln(rng, 1.5, 0.7, n)).astype(np.int64), closed)

    refundish = is_["refund"] | is_["return"]
    amount = PRICE[b.cat] * rng.lognormal(0, 0.5, n)
    amount = np.round(np.where(is_["refund"] & (rng.random(n) < 0.3), amount * rng.uniform(0.05, 0.5, n), amount), 2)

    # Cancellation replaces everything after it; a stuck ticket never resolves.
    closed = np.where(cancel, cancel_t, closed)
    resolution = np.where(cancel, "cancelled", resolution)

    # Repeat repairs: the same customer calls again about the same product within 30 days.
    p_rep = 0.045 * np.where(not_fixed, 2.6, 1) * np.where(outs, 1.7, 1) * (1 + 0.12 * (3 - skill))
    p_rep = p_rep * np.where(res_repair == 2, 0.6, 1)
    spawn = is_["repair"] & ~cancel & ~stuck & ~b.repeat & (rng.random(n) < p_rep)
    spawn_at = resolved + (86400 * (0.5 + 29 * rng.random(n) ** 1.6)).astype(np.int64)

    return dict(
        created=c, first_response=fr, fr_ok=~(cancel & (cancel_t < fr)),
        dispatched=disp, disp_ok=dispatched & ~(cancel & (cancel_t < disp)),
        resolved=resolved, res_ok=~cancel & ~stuck, closed=closed, closed_ok=~stuck,
        reopened=reopened, reopen=reopen, refund_ok=refundish, amount=amount,
        resolution=resolution, complaint=complaint, reason=reason, late=late, not_fixed=not_fixed,
        cancel=cancel, stuck=stuck, outlet_ok=has_outlet, tech=tech, outsourced=outs & has_outlet,
        spawn=spawn, spawn_at=spawn_at, **plan,
    )


def children(b: Base, sim: dict[str, np.ndarray], rng: np.random.Generator, cal: Calendar, end_sec: int) -> Base:
    """Repeat repair tickets spawned by ``sim`` (one generation; repeats do not spawn again)."""
    par = np.flatnonzero(sim["spawn"] & (sim["spawn_at"] <= end_sec))
    created = cal.snap(sim["spawn_at"][par], rng, 8, 22)
    keep = created <= end_sec
    par, created = par[keep], created[keep]
    k = len(par)
    phone_or_wechat = np.where(rng.random(k) < 0.7, CH.index("phone"), CH.index("wechat"))
    channel = np.where(rng.random(k) < 0.5, b.channel[par], phone_or_wechat)
    day = cal.day_of(created)
    return Base(day, created, np.full(k, SI["repair"]), b.cat[par], b.customer[par], b.outlet[par], b.product[par],
                channel, np.ones(k, bool), par)


def priority(rng: np.random.Generator, stype: np.ndarray) -> np.ndarray:
    p = np.tile(PRIORITY_P, (len(stype), 1))
    p[stype == SI["consult"]] = [.3, .65, .05, 0]
    p[stype == SI["repair"]] = [.05, .65, .22, .08]
    return _choose(rng, p)


__all__ = ["Base", "draw_base", "simulate", "children", "priority"]
