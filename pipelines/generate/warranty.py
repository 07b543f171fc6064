"""Who pays for a ticket: the warranty flag (保内/保外) and what an out-of-warranty customer is charged.

Chinese 三包 rules and makers' own terms cover the whole unit for a year or more and the main
parts (compressor, motor, panel) for several years, so most repairs are in warranty; air
conditioners (long main-part warranties) most, small appliances least. Installation, delivery,
exchanges and returns are the seller's or maker's to bear. Refunds and consultations carry no
service charge, so the flag is empty for them.

Out of warranty the customer pays the parts at list price (cost × ``PARTS_MARKUP``), a labour
charge (``LABOUR_BASE`` + ``LABOUR_PER_HOUR`` per hour on site) and the visit fee per on-site
visit; a repair that did not fix the fault is charged the visit fees only (检测费/上门费).

The flag is drawn by hashing the customer and product (not from the chunk's random stream), so
a repeat repair of the same product carries its first ticket's flag and adding these columns
left every other generated value unchanged.
"""

from __future__ import annotations

import numpy as np

from pipelines.generate.calendar import S as SI
from pipelines.generate.people import unit

# P(repair in warranty) by product category (aftersales.model.PRODUCT_CATEGORIES order):
# air_conditioner, water_heater, washer, fridge, tv, kitchen, small_appliance
IN_WARRANTY_P = np.array([.85, .80, .72, .78, .70, .70, .62])
ALWAYS_COVERED = ("delivery", "install", "exchange", "return")
PARTS_MARKUP = 1.3
LABOUR_BASE, LABOUR_PER_HOUR, VISIT_FEE = 50.0, 60.0, 30.0


def columns(b, sim: dict[str, np.ndarray], part_cost: np.ndarray, res_ok: np.ndarray, v_done: np.ndarray,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(in_warranty, customer_charge) per ticket of batch ``b``: a float array with NaN for empty
    (no flag; charge empty until the ticket is resolved) and 1.0/0.0 for the flag."""
    n = len(b.created)
    st = b.stype
    repair = st == SI["repair"]
    covered = np.isin(st, [SI[s] for s in ALWAYS_COVERED])
    draw = unit(b.customer.astype(np.int64) * 1_000_003 + b.product.astype(np.int64), seed * 31 + 17)
    flag = np.where(repair, (draw < IN_WARRANTY_P[b.cat]).astype(float), np.where(covered, 1.0, np.nan))

    # What the finished work cost: parts at cost, hours and on-site visits of the visits done.
    vt = sim["v_ticket"]
    pv = sim["p_visit"]
    used = v_done[pv]
    parts = np.bincount(vt[pv][used], weights=(sim["p_qty"] * part_cost[sim["p_part"]])[used], minlength=n)
    hours = np.bincount(vt[v_done], weights=((sim["v_end"] - sim["v_start"]) / 3600.0)[v_done], minlength=n)
    onsite = np.bincount(vt[v_done & ~sim["v_workshop"]], minlength=n)

    fixed_work = sim["resolution"] != "not_fixed"
    charge = np.where(fixed_work, PARTS_MARKUP * parts + LABOUR_BASE + LABOUR_PER_HOUR * hours, 0.0) + VISIT_FEE * onsite
    charge = np.round(charge)  # service price lists are in whole yuan
    paid = (flag == 0.0)
    charge = np.where(paid, charge, 0.0)
    charge = np.where(res_ok & ~np.isnan(flag), charge, np.nan)
    return flag, charge


__all__ = ["columns"]
