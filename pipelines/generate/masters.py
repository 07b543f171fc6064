"""Master data: outlets, technicians, products, spare parts (with their stock-out history) and
daily orders. Small tables, built once per run; the ticket simulation reads their arrays."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate import roster
from pipelines.generate.calendar import CATEGORIES, SALES_CHANNELS, Calendar
from pipelines.generate.vocab import (
    AGENT_WORDS,
    CATEGORY_SHARE,
    CITIES,
    DISTRICTS,
    INSTALL_PARTS,
    PART_COST,
    PART_NAMES,
    PART_PREFIX,
    PRODUCT_LINES,
    REGION_WEIGHT,
    TIER_WEIGHT,
)

ORDER_CHANNEL_SHARE = {"tmall": .24, "taobao": .14, "jd": .24, "pdd": .12, "douyin": .10, "suning": .04,
                       "vip": .03, "weidian": .02, "wechat": .03, "store": .04}
ORDER_CATEGORY_SHARE = {"air_conditioner": .12, "water_heater": .08, "washer": .10, "fridge": .08, "tv": .08,
                        "kitchen": .10, "small_appliance": .44}
TICKETS_PER_ORDER = 0.012  # ~12 tickets per 1,000 orders overall


@dataclass
class Masters:
    outlets: pl.DataFrame
    technicians: pl.DataFrame
    products: pl.DataFrame
    parts: pl.DataFrame
    outlet_cum: np.ndarray  # cumulative share of customers served, by outlet
    outlet_outsourced: np.ndarray
    outlet_tier: np.ndarray
    tech_skill: np.ndarray  # skill level 1..5 by technician index
    elig_start: np.ndarray  # CSR over (month, outlet, skill group) -> technician indices
    elig_len: np.ndarray
    elig_tech: np.ndarray
    product_cat: np.ndarray
    product_cum: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray]]  # (category, for repair) -> (cum, index)
    part_cum: dict[int, tuple[np.ndarray, np.ndarray]]  # category -> repair parts (cum, index)
    install_parts: dict[int, np.ndarray]  # category -> install-material part indices
    part_cost: np.ndarray
    part_lead: np.ndarray
    part_lumpy: np.ndarray
    stockout: np.ndarray  # (weeks, parts) bool: the part is out of stock that week


def _date(value) -> np.ndarray:
    return np.asarray(value, dtype="datetime64[D]")


def build_masters(cal: Calendar, n_tickets: int, rng: np.random.Generator, seed: int) -> Masters:
    start, end = cal.dates[0], cal.dates[-1]
    outlets, cum, outsourced, tier = _outlets(roster.outlet_count(cal, n_tickets), rng, start)
    techs, skill, elig = roster.technicians(outlets, np.diff(cum, prepend=0.0), outsourced, cal, n_tickets, rng, seed)
    products, product_cat, product_cum = _products(n_tickets, rng)
    parts, part_cum, install_parts, stockout, pop = _parts(cal, rng)
    weekly_repairs = n_tickets / max(cal.n_days / 7, 1) * 0.27 * 0.6
    on_hand = rng.poisson(weekly_repairs * pop * rng.uniform(1.5, 6.0, len(pop)))
    over = rng.random(len(pop)) < 0.1
    on_hand = np.where(over, on_hand + rng.integers(20, 200, len(pop)), on_hand)
    on_hand = np.where(stockout[-1], 0, on_hand)
    parts = parts.with_columns(on_hand=pl.Series(on_hand, dtype=pl.Int32), as_of=pl.lit(end.item(), pl.Date))
    return Masters(outlets, techs, products, parts, cum, outsourced, tier, skill, *elig, product_cat, product_cum,
                   part_cum, install_parts, parts["unit_cost"].to_numpy(), parts["lead_time_days"].to_numpy(),
                   parts["part_name"].str.contains("铜管").to_numpy(), stockout)


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """``total`` whole units split in proportion to ``weights``."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    want = weights / weights.sum() * total
    alloc = np.floor(want).astype(int)
    alloc[np.argsort(-(want - alloc), kind="stable")[: total - alloc.sum()]] += 1
    return alloc


def _allocate_outlets(n_out: int) -> list[int]:
    """Outlets per city (in CITIES order): each region gets its share (at least one); within a
    region, own service centres in tier-1/2 cities and outsourced agents in smaller ones, in
    proportion to the volume each kind of city carries."""
    alloc = []
    per_region = np.maximum(_largest_remainder(np.array(list(REGION_WEIGHT.values())), n_out), 1)
    for (region, lst), n_r in zip(((r, CITIES[r]) for r in REGION_WEIGHT), per_region, strict=True):
        w = np.array([TIER_WEIGHT[t] for _, t in lst])
        own = np.array([t <= 2 for _, t in lst])
        n_outs = int(round(n_r * w[~own].sum() / w.sum()))
        city = np.zeros(len(lst), dtype=int)
        city[own] = _largest_remainder(w[own], n_r - n_outs)
        city[~own] = _largest_remainder(w[~own], n_outs)
        alloc.append((region, city))
    by_region = dict(alloc)
    return [int(k) for r in CITIES for k in by_region[r]]


def _outlets(n_out: int, rng: np.random.Generator, start: np.datetime64):
    cities = [(r, c, t) for r, lst in CITIES.items() for c, t in lst]
    alloc = _allocate_outlets(n_out)
    rows, weights = [], []
    for (region, city, tier), k in zip(cities, alloc, strict=True):
        for j in range(k):
            own = tier <= 2
            name = (f"{city}{DISTRICTS[j % len(DISTRICTS)]}服务中心" if own
                    else f"{city}{AGENT_WORDS[(len(rows) + j) % len(AGENT_WORDS)]}家电服务部")
            years_back = rng.integers(3, 13) if own else rng.integers(1, 9)
            opened = start - np.timedelta64(int(years_back * 365 + rng.integers(0, 365)), "D")
            rows.append((f"WD{len(rows) + 1:04d}", name, region, city, tier, "own" if own else "outsourced",
                         opened.item()))
            weights.append(TIER_WEIGHT[tier] / k)
    df = pl.DataFrame(rows, orient="row", schema={
        "outlet_id": pl.String, "outlet_name": pl.String, "region": pl.String, "city": pl.String,
        "city_tier": pl.Int8, "outlet_type": pl.String, "opened_on": pl.Date})
    # Each region gets its share of the customers, spread over its outlets by city tier.
    weights = np.array(weights)
    regions = df["region"].to_numpy()
    for region, share in REGION_WEIGHT.items():
        sel = regions == region
        weights[sel] *= share / weights[sel].sum()
    cum = np.cumsum(weights) / weights.sum()
    return df, cum, (df["outlet_type"] == "outsourced").to_numpy(), df["city_tier"].to_numpy()


def _pattern(pattern: str, rng: np.random.Generator) -> str:
    return "".join(str(rng.integers(0, 10)) if ch == "#" else chr(65 + int(rng.integers(0, 26))) if ch == "@" else ch
                   for ch in pattern)


def _products(n_tickets: int, rng: np.random.Generator):
    n_prod = int(np.clip(40 + round(8 * math.log10(max(n_tickets, 1) / 3000)), 40, 80))
    rows, cats, pops, quality, seen = [], [], [], [], set()
    for k, cat in enumerate(CATEGORIES):
        brands, patterns = PRODUCT_LINES[cat]
        for j in range(max(4, round(n_prod * CATEGORY_SHARE[cat]))):
            model = _pattern(patterns[j % len(patterns)], rng)
            while model in seen:
                model = _pattern(patterns[j % len(patterns)], rng)
            seen.add(model)
            rows.append((model, cat, brands[j % len(brands)]))
            cats.append(k)
            pops.append(1 / (j + 1) ** 0.9)
            quality.append(rng.lognormal(0, 0.35))
    df = pl.DataFrame(rows, orient="row", schema={"product_model": pl.String, "product_category": pl.String,
                                                  "brand": pl.String})
    cats_a, pop, q = np.array(cats), np.array(pops), np.array(quality)
    cum = {}
    for k in range(len(CATEGORIES)):
        ix = np.flatnonzero(cats_a == k)
        for repair in (False, True):
            w = pop[ix] * (q[ix] if repair else 1.0)
            cum[(k, repair)] = (np.cumsum(w) / w.sum(), ix)
    return df, cats_a, cum


def _parts(cal: Calendar, rng: np.random.Generator):
    rows, cat_of, pop, install = [], [], [], {}
    n_total = 300
    for k, cat in enumerate(CATEGORIES):
        base = PART_NAMES[cat]
        n_cat = max(len(base), round(n_total * CATEGORY_SHARE[cat]))
        ranks = rng.permutation(n_cat) + 1  # a few fast movers, a long tail of slow ones
        for j in range(n_cat):
            name = base[j % len(base)] + ("" if j < len(base) else f"-{chr(65 + j // len(base) - 1)}型")
            rows.append((name, cat, base[j % len(base)]))
            cat_of.append(k)
            pop.append(1 / ranks[j] ** 1.1)
        extra = INSTALL_PARTS.get(cat, [])
        install[k] = np.arange(len(rows), len(rows) + len(extra))
        for name in extra:
            rows.append((name, cat, name))
            cat_of.append(k)
            pop.append(0.0)
    n = len(rows)
    cost = np.array([PART_COST.get(b, 0) for _, _, b in rows], dtype=float)
    cost = np.where(cost > 0, cost * rng.lognormal(0, 0.2, n), np.exp(rng.uniform(np.log(30), np.log(300), n)))
    lead = np.clip(np.round(rng.lognormal(np.log(9), 0.6, n) + np.where(cost > 500, 10, 0)), 3, 45).astype(int)
    prefix = [PART_PREFIX[c] for _, c, _ in rows]
    df = pl.DataFrame({
        "part_no": [f"{p}-{10001 + i}" for i, p in enumerate(prefix)],
        "part_name": [r[0] for r in rows],
        "product_category": [r[1] for r in rows],
        "unit_cost": np.round(cost, 2),
        "lead_time_days": pl.Series(lead, dtype=pl.Int16),
    })
    cat_a, pop_a = np.array(cat_of), np.array(pop)
    part_cum = {}
    for k in range(len(CATEGORIES)):
        ix = np.flatnonzero((cat_a == k) & (pop_a > 0))
        part_cum[k] = (np.cumsum(pop_a[ix]) / pop_a[ix].sum(), ix)
    # Stock-outs: slow movers and long lead times run out more; summer doubles the risk for AC parts.
    share = np.zeros(n)
    for k in range(len(CATEGORIES)):
        ix = part_cum[k][1]
        share[ix] = pop_a[ix] / pop_a[ix].sum()
    slow = 1 - np.minimum(share / 0.05, 1)
    p_enter = 0.006 + 0.03 * slow
    p_exit = np.clip(7 / (lead * rng.uniform(0.6, 1.2, n)), 0.1, 1.0)
    n_weeks = int(cal.week[-1]) + 1
    week_first = cal.dates[::7]
    doy = (week_first - week_first.astype("datetime64[Y]")).astype(int) + 1
    summer = (doy > 150) & (doy < 245)
    is_ac = cat_a == CATEGORIES.index("air_conditioner")
    out = np.zeros((n_weeks, n), dtype=bool)
    state = rng.random(n) < p_enter / (p_enter + p_exit)
    for w in range(n_weeks):
        pe = p_enter * np.where(is_ac & summer[w], 2.0, 1.0)
        u = rng.random(n)
        state = np.where(state, u > p_exit, u < pe)
        out[w] = state
    out[:, pop_a == 0] = False  # install material is bought in bulk and never short
    return df, part_cum, install, out, share


def _draw(table: dict, key_of: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row from the cumulative table ``table[key]`` = (cum, indices) of its key."""
    out = np.zeros(len(key_of), dtype=np.int64)
    u = rng.random(len(key_of))
    for key, (cum, ix) in table.items():
        sel = key_of == key if not isinstance(key, tuple) else np.all(key_of == np.array(key), axis=1)
        out[sel] = ix[np.minimum(np.searchsorted(cum, u[sel], side="right"), len(ix) - 1)]
    return out


def draw_part(m: Masters, rng: np.random.Generator, cat: np.ndarray) -> np.ndarray:
    """A repair part of each ticket's category, fast movers more often."""
    return _draw(m.part_cum, cat, rng)


def draw_product(m: Masters, rng: np.random.Generator, cat: np.ndarray, repair: np.ndarray) -> np.ndarray:
    """A product model of each ticket's category; repairs lean to the failure-prone models."""
    return _draw(m.product_cum, np.column_stack([cat, repair.astype(np.int64)]), rng)


def orders_daily(cal: Calendar, n_tickets: int, rng: np.random.Generator) -> pl.DataFrame:
    """Orders per day, sales channel and category, with the same festival waves as tickets."""
    ch = np.array([ORDER_CHANNEL_SHARE[c] for c in SALES_CHANNELS])
    cat = np.array([ORDER_CATEGORY_SHARE[c] for c in CATEGORIES])
    doy = (cal.dates - cal.dates.astype("datetime64[Y]")).astype(int) + 1
    season = np.ones((cal.n_days, len(CATEGORIES)))
    season[:, CATEGORIES.index("air_conditioner")] += 1.2 * np.exp(-0.5 * ((doy - 180) / 30) ** 2)
    lam = cal.orders[:, :, None] * ch[None, :, None] * cat[None, None, :] * season[:, None, :]
    lam *= n_tickets / TICKETS_PER_ORDER / lam.sum()
    counts = rng.poisson(lam)
    d, c, k = np.indices(counts.shape)
    return pl.DataFrame({
        "order_date": pl.Series(cal.dates[d.ravel()], dtype=pl.Date),
        "channel": pl.Series(SALES_CHANNELS).gather(c.ravel()),
        "product_category": pl.Series(CATEGORIES).gather(k.ravel()),
        "orders": pl.Series(counts.ravel(), dtype=pl.Int32),
    })
