"""Visits (上门/返厂) of field tickets and the spare parts used on them.

A repair fixed on the first visit has one visit; otherwise the earlier visits end as need_parts,
not_fixed, customer_absent or referred (after which the work moves to the workshop), and the
next visit waits accordingly: days for a part in stock, most of the lead time for one that is out.
"""

from __future__ import annotations

import numpy as np

from aftersales.model import VISIT_OUTCOMES
from pipelines.generate.calendar import Calendar
from pipelines.generate.masters import Masters, draw_part

OUTCOMES = list(VISIT_OUTCOMES)  # fixed, not_fixed, need_parts, customer_absent, referred
OUT = {o: i for i, o in enumerate(OUTCOMES)}
APPOINTMENT_H = {"delivery": 14.0, "install": 18.0, "repair": 9.0, "exchange": 18.0}
INSTALL_MIN = np.array([150, 120, 90, 60, 80, 110, 60], dtype=float)  # by category
WORKSHOP_FIRST = np.array([.03, .03, .03, .03, .25, .03, .6])  # repairs sent in rather than visited
TRAVEL_MIN = np.array([0, 45, 35, 30, 40], dtype=float)  # by city tier
# Why a repair's first visit, not being the last, did not fix it (before skill and outlet shift
# them; a part out of stock decides need_parts outright): field reports put waiting for parts
# and a fault not fixed first, a customer not at home next, a unit sent to the factory last.
MISS_WEIGHT = {"not_fixed": 0.32, "need_parts": 0.30, "customer_absent": 0.22, "referred": 0.16}


def _row_pick(rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
    """One column index per row of (unnormalised) weights ``w``."""
    cum = np.cumsum(w, axis=1)
    return np.minimum(((rng.random(len(w)) * cum[:, -1])[:, None] >= cum).sum(axis=1), w.shape[1] - 1)


def _pick(rng: np.random.Generator, n: int, values: list[int], p: list[float]) -> np.ndarray:
    return np.asarray(values)[np.searchsorted(np.cumsum(p), rng.random(n) * sum(p), side="right").clip(0, len(p) - 1)]


def plan_visits(cal: Calendar, m: Masters, rng: np.random.Generator, b, tech, skill, outs, disp, fwait, is_,
                res_repair, ftf, stock_out, part, uses_part, skip, stuck) -> dict[str, np.ndarray]:
    n = len(disp)
    rep, inst = is_["repair"], is_["install"]
    k = np.zeros(n, dtype=np.int64)
    k = np.where(rep & ftf, 1, k)
    k = np.where(rep & (res_repair == 0) & ~ftf & stock_out, 2 + (rng.random(n) < 0.15), k)
    k = np.where(rep & (res_repair == 0) & ~ftf & ~stock_out, _pick(rng, n, [2, 3, 4, 5], [.72, .2, .06, .02]), k)
    k = np.where(rep & (res_repair == 1), _pick(rng, n, [1, 2, 3], [.4, .4, .2]), k)
    k = np.where(rep & (res_repair == 2), _pick(rng, n, [1, 2], [.5, .5]), k)
    k = np.where(inst, 1 + (rng.random(n) < 0.07), k)
    k = np.where(is_["delivery"], 1 + (rng.random(n) < 0.04), k)
    k = np.where(is_["exchange"], 1, k)
    k = np.where(skip, 0, k)
    k = np.where(stuck & rep, 1, k)

    vt = np.repeat(np.arange(n), k)  # ticket of each visit
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    vno = np.arange(len(vt)) - first[vt] + 1
    last = vno == k[vt]
    nv = len(vt)

    # Outcomes: the last visit settles the ticket; earlier ones say why another visit was needed.
    stype_rep, stype_inst = rep[vt], inst[vt]
    mid = _pick(rng, nv, [OUT["not_fixed"], OUT["need_parts"], OUT["customer_absent"], OUT["referred"]], [.35, .25, .2, .2])
    # A repair's first visit that does not fix it: why depends on who went (a less skilled
    # technician misdiagnoses or sends the unit in more often) and on the outlet (outsourced ones
    # confirm appointments less, so the customer is out more often).
    lo_skill = np.clip(3 - skill[vt], -2, 2).astype(float)
    w = np.stack([MISS_WEIGHT["not_fixed"] * (1 + 0.3 * lo_skill), np.full(nv, MISS_WEIGHT["need_parts"]),
                  MISS_WEIGHT["customer_absent"] * np.where(outs[vt], 1.6, 1.0),
                  MISS_WEIGHT["referred"] * (1 + 0.25 * lo_skill)], axis=1)
    first_miss = np.array([OUT["not_fixed"], OUT["need_parts"], OUT["customer_absent"], OUT["referred"]])[_row_pick(rng, w)]
    mid = np.where(stype_rep & (vno == 1), first_miss, mid)
    mid = np.where(stype_rep & (vno == 1) & stock_out[vt], OUT["need_parts"], mid)
    mid = np.where(stype_inst, np.where(rng.random(nv) < 0.7, OUT["customer_absent"], OUT["need_parts"]), mid)
    mid = np.where(~stype_rep & ~stype_inst, OUT["customer_absent"], mid)
    final = np.where(stype_rep & (res_repair[vt] != 0), OUT["not_fixed"], OUT["fixed"])
    final = np.where(stuck[vt], OUT["need_parts"], final)
    outcome = np.where(last, final, mid)

    # On site, or in the workshop: small appliances are often sent in; "referred" moves the rest there.
    referred = (outcome == OUT["referred"]).astype(np.int64)
    before = np.cumsum(referred) - referred
    ws_first = stype_rep & (rng.random(nv) < WORKSHOP_FIRST[b.cat[vt]])
    ws_first = ws_first[first[vt]]  # decided once per ticket
    workshop = ws_first | (before - before[first[vt]] > 0)
    outcome = np.where(workshop & (outcome == OUT["referred"]), OUT["not_fixed"], outcome)

    # Technician: usually the one dispatched; a colleague of the same outlet does some later visits.
    vtech = tech[vt]
    swap = (vno > 1) & (rng.random(nv) < 0.15)
    if swap.any():
        group = np.where(stype_rep[swap], 2, np.where(stype_inst[swap], 1, 0))
        g = (cal.month[b.day[vt[swap]]] * len(m.outlet_cum) + b.outlet[vt[swap]]) * 3 + group
        pick = m.elig_start[g] + (rng.random(swap.sum()) * m.elig_len[g]).astype(np.int64)
        vtech[swap] = m.elig_tech[np.minimum(pick, len(m.elig_tech) - 1)]

    # Durations (minutes).
    cat_v, skill_v = b.cat[vt], m.tech_skill[np.maximum(vtech, 0)]
    dur = np.select(
        [stype_rep & workshop, stype_rep, stype_inst, is_["delivery"][vt]],
        [150 * rng.lognormal(0, .4, nv),
         80 * (1.25 - 0.08 * skill_v) * np.where(outs[vt], 1.1, 1.0) * rng.lognormal(0, .35, nv),
         INSTALL_MIN[cat_v] * rng.lognormal(0, .25, nv), 30 * rng.lognormal(0, .4, nv)],
        45 * rng.lognormal(0, .4, nv))
    dur = np.where(outcome == OUT["customer_absent"], rng.uniform(5, 15, nv), dur)
    dur_s = (60 * np.clip(dur, 5, 600)).astype(np.int64)
    tier = m.outlet_tier[b.outlet[vt]]
    travel = np.where(workshop, 0, np.clip(TRAVEL_MIN[tier] * rng.lognormal(0, .5, nv), 5, 240)).astype(np.int64)

    # Timing: the first visit after an appointment (longer at outsourced outlets and under backlog).
    appt = np.select([is_[s] for s in APPOINTMENT_H], list(APPOINTMENT_H.values()), 20.0)
    wait1 = 3600 * appt * rng.lognormal(0, .7, n) * np.where(outs, 1.25, 1.0) + 86400 * fwait * rng.uniform(.5, 1.5, n)
    start1 = disp + wait1.astype(np.int64)
    start = np.zeros(nv, dtype=np.int64)
    end = np.zeros(nv, dtype=np.int64)
    lead = m.part_lead[part]
    for level in range(1, int(k.max(initial=0)) + 1):
        sel = np.flatnonzero(vno == level)
        if not len(sel):
            continue
        if level == 1:
            t = start1[vt[sel]] + np.where(workshop[sel], 86400 * rng.uniform(1.5, 4, len(sel)), 0).astype(np.int64)
        else:
            prev = outcome[sel - 1]
            days = np.select(
                [prev == OUT["need_parts"], prev == OUT["customer_absent"], prev == OUT["referred"]],
                [np.where(stock_out[vt[sel]] & (level == 2), lead[vt[sel]] * rng.uniform(.3, 1., len(sel)) + .5,
                          rng.uniform(1, 3, len(sel))),
                 rng.uniform(.3, 2, len(sel)), rng.uniform(2, 5, len(sel))],
                rng.uniform(.8, 3, len(sel)))
            t = end[sel - 1] + (86400 * days).astype(np.int64)
        t = t + 60 * travel[sel]
        start[sel] = np.where(workshop[sel], cal.snap(t, rng, 9, 17, True), cal.snap(t, rng, 8, 19, True))
        end[sel] = start[sel] + dur_s[sel]

    last_end = np.zeros(n, dtype=np.int64)
    last_end[vt[last]] = end[last]

    # Parts: the repair's part on the visit that fixes it (a second part sometimes), install material.
    lv = np.flatnonzero(last)
    t_of = vt[lv]
    rep_use = uses_part[t_of] & ~stuck[t_of]
    p_visit = [lv[rep_use]]
    p_part = [part[t_of[rep_use]]]
    p_qty = [np.where(rng.random(rep_use.sum()) < 0.1, 2, 1)]
    second = rep_use & (rng.random(len(lv)) < 0.15)
    if second.any():
        other = draw_part(m, rng, b.cat[t_of[second]])
        diff = other != part[t_of[second]]
        p_visit.append(lv[second][diff])
        p_part.append(other[diff])
        p_qty.append(np.ones(diff.sum(), dtype=np.int64))
    for kcat, ix in m.install_parts.items():
        sel = inst[t_of] & (b.cat[t_of] == kcat)
        for j, pi in enumerate(ix):
            use = sel & (rng.random(len(lv)) < (0.35 if j == 0 else 0.25))
            q = rng.geometric(0.4 if m.part_lumpy[pi] else 0.9, use.sum())
            bulk = rng.random(use.sum()) < 0.01  # now and then a project order takes a batch at once
            q = np.where(bulk, rng.integers(10, 40, use.sum()), q)
            p_visit.append(lv[use])
            p_part.append(np.full(use.sum(), pi))
            p_qty.append(q)
    return dict(v_ticket=vt, v_no=vno, v_tech=vtech, v_workshop=workshop, v_start=start, v_end=end,
                v_travel=travel, v_outcome=outcome, p_visit=np.concatenate(p_visit).astype(np.int64),
                p_part=np.concatenate(p_part).astype(np.int64), p_qty=np.concatenate(p_qty).astype(np.int64),
                n_visits=k, last_end=last_end)


__all__ = ["plan_visits", "OUTCOMES"]
