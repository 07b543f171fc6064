"""The technician roster: each outlet's team sized from the work it expects, changing over time.

A service network staffs for the ordinary week it saw over the past year, with a margin, and
recruits with a lag. So ordinary weeks are covered, while the peaks the roster does not follow
(the Double 11 after-sales wave, the summer installation peak) and the growth since the last
hiring round leave some outlets short, which the staffing plan is there to show.

Expected work is the calendar's ticket intensity × hours per field ticket (``FIELD_HOURS``). A
technician gives ``TECH_WEEKLY_HOURS`` of it a week: the staffing plan's defaults (40 h less
15% for leave and training, ``forecasts/settings.py``). The number of outlets follows the
volume too (``outlet_count``): a network of a hundred tickets a day has a couple of dozen
service points of a few technicians, not a hundred points with a fraction of one each.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate import people
from pipelines.generate.calendar import SERVICES, Calendar

SKILL_GROUPS = ("delivery", "install", "repair")  # delivery also serves exchanges
SKILL_SETS = ["install,repair", "repair", "delivery,install", "delivery,install,repair", "delivery"]
SKILL_SET_P = [0.45, 0.15, 0.15, 0.15, 0.10]
# On-site plus travel hours per ticket, repeat visits included, as visits.py's durations work out
# (what forecasts.staffing.hours_per_ticket estimates from the generated visits).
FIELD_HOURS = {"delivery": 1.2, "install": 2.7, "repair": 2.6, "exchange": 1.4}
TECH_WEEKLY_HOURS = 40.0 * (1 - 0.15)
STAFF_QUANTILE = 0.75  # teams are sized for a busy week of the past year (its 75th-percentile week) ...
STAFF_MARGIN = 1.25  # ... plus 25% for growth since, the winter season and a margin of safety
TECHS_PER_OUTLET = 2.5  # average team the outlet count aims at
# Every outlet keeps at least two repair-capable technicians the whole period (an all-rounder and
# an install/repair hand), so a by-technician view never merely repeats the by-outlet one.
CORE_SKILLS = ("delivery,install,repair", "install,repair")
MIN_OUTLETS, MAX_OUTLETS = 16, 120
ATTRITION_PER_MONTH = 0.015  # non-core technicians leaving (≈ 17% a year)
LOOKBACK_DAYS = 365


def expected_hours(cal: Calendar, n_tickets: int) -> np.ndarray:
    """Expected field hours of work arriving on each calendar day, over all outlets."""
    per_ticket = np.array([FIELD_HOURS.get(s, 0.0) for s in SERVICES])
    lam = cal.lam.sum(axis=2)
    return n_tickets * (lam * per_ticket[None, :]).sum(axis=1) / cal.lam.sum()


def _weekly_basis(hours: np.ndarray, first_days: np.ndarray) -> np.ndarray:
    """Per month: the ``STAFF_QUANTILE`` week of the past year as a planner saw it at the
    month's start (the first year, before there is a past year, uses the first year)."""
    out = np.empty(len(first_days))
    for m, d in enumerate(first_days):
        lo = d - LOOKBACK_DAYS
        window = hours[lo:d] if lo >= 0 else hours[:LOOKBACK_DAYS]
        weeks = window[: len(window) // 7 * 7].reshape(-1, 7).sum(axis=1)
        out[m] = np.quantile(weeks, STAFF_QUANTILE) if len(weeks) else 7 * window.mean()
    return out


def outlet_count(cal: Calendar, n_tickets: int) -> int:
    """Outlets for a network of this volume: teams of about ``TECHS_PER_OUTLET``."""
    techs = 7 * expected_hours(cal, n_tickets).mean() * STAFF_MARGIN / TECH_WEEKLY_HOURS
    return int(np.clip(round(techs / TECHS_PER_OUTLET), MIN_OUTLETS, MAX_OUTLETS))


def technicians(outlets: pl.DataFrame, outlet_share: np.ndarray, outsourced: np.ndarray, cal: Calendar,
                n_tickets: int, rng: np.random.Generator, seed: int):
    """(technicians frame, skill level per technician, eligibility CSR over (month, outlet, skill
    group)). Each outlet's first ``len(CORE_SKILLS)`` technicians stay the whole period (the first
    an all-rounder), so every visit of every month has someone eligible and every outlet has
    several repair technicians whose skill levels differ."""
    start, end = cal.dates[0], cal.dates[-1]
    n_months = int(cal.month[-1]) + 1
    first_idx = np.array([np.flatnonzero(cal.month == m)[0] for m in range(n_months)])
    basis = _weekly_basis(expected_hours(cal, n_tickets), first_idx)
    target = np.maximum(len(CORE_SKILLS), np.round(outlet_share[:, None] * basis[None, :] * STAFF_MARGIN / TECH_WEEKLY_HOURS))
    month_len = np.diff(np.append(first_idx, cal.n_days))

    outlet_idx: list[int] = []
    hired: list[np.datetime64] = []
    left: list[np.datetime64 | None] = []
    core: list[int] = []  # position in CORE_SKILLS, -1 for the rest of the team

    def hire(o: int, day: np.datetime64, core_rank: int) -> None:
        outlet_idx.append(o)
        hired.append(day)
        left.append(None)
        core.append(core_rank)

    for o in range(len(outlets)):
        for j in range(int(target[o, 0])):
            hire(o, start - np.timedelta64(int(rng.integers(30, 365 * 10)), "D"), j if j < len(CORE_SKILLS) else -1)
    for m in range(1, n_months):
        first = cal.dates[first_idx[m]]
        staying = np.array([left[t] is None for t in range(len(hired))])
        leaving = staying & (np.array(core) < 0) & (rng.random(len(hired)) < ATTRITION_PER_MONTH)
        for t in np.flatnonzero(leaving):
            left[t] = first + np.timedelta64(int(rng.integers(0, month_len[m])), "D")
        counts = np.bincount(np.array(outlet_idx)[staying & ~leaving], minlength=len(outlets))
        for o in np.flatnonzero(counts < target[:, m]):
            # Recruiting takes the month: the new hire is dispatched from the next one.
            for _ in range(int(target[o, m] - counts[o])):
                hire(o, first + np.timedelta64(int(rng.integers(0, month_len[m])), "D"), -1)

    n = len(outlet_idx)
    oi = np.array(outlet_idx)
    levels, skills = [], []
    for t in range(n):
        p_level = [0.2, 0.35, 0.3, 0.12, 0.03] if outsourced[oi[t]] else [0.08, 0.2, 0.35, 0.25, 0.12]
        level = int(rng.choice(5, p=p_level)) + 1
        if core[t] == 1 and level == levels[t - 1]:
            # the outlet's two core technicians differ in skill (outlet teams are hired in order)
            level = level + 1 if level < 5 else level - 1
        levels.append(level)
        skills.append(CORE_SKILLS[core[t]] if core[t] >= 0 else SKILL_SETS[rng.choice(len(SKILL_SETS), p=SKILL_SET_P)])
    idx = np.arange(n)
    df = pl.DataFrame({
        "technician_id": people.codes("JS", idx + 10001, 5),
        "technician_name": people.names(idx, seed * 31 + 5),
        "outlet_id": outlets["outlet_id"].gather(oi),
        "skills": skills,
        "skill_level": pl.Series(levels, dtype=pl.Int8),
        "hired_on": pl.Series(np.array(hired, dtype="datetime64[D]"), dtype=pl.Date),
        "active": [x is None for x in left],
    })
    hired_a = np.array(hired, dtype="datetime64[D]")
    left_a = np.array([x if x is not None else end + np.timedelta64(1, "D") for x in left], dtype="datetime64[D]")
    has = np.array([[g in s.split(",") for g in SKILL_GROUPS] for s in skills]).reshape(n, len(SKILL_GROUPS))
    return df, np.array(levels), _eligibility(cal, oi, hired_a, left_a, has, len(outlets), first_idx)


def _eligibility(cal: Calendar, oi: np.ndarray, hired: np.ndarray, left: np.ndarray, has: np.ndarray,
                 n_outlets: int, first_idx: np.ndarray):
    """CSR (starts, lengths, technician indices) over (month, outlet, skill group): who can be
    dispatched in a month — hired before it starts, not gone before it ends."""
    n_groups = len(SKILL_GROUPS)
    last_idx = np.append(first_idx[1:], cal.n_days) - 1
    keys, techs = [], []
    for m in range(len(first_idx)):
        ok = (hired <= cal.dates[first_idx[m]]) & (left > cal.dates[last_idx[m]])
        for g in range(n_groups):
            t = np.flatnonzero(ok & has[:, g])
            keys.append((m * n_outlets + oi[t]) * n_groups + g)
            techs.append(t)
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    flat = np.concatenate(techs)[order].astype(np.int64)
    lens = np.bincount(key, minlength=len(first_idx) * n_outlets * n_groups)
    if (lens == 0).any():
        raise AssertionError("a month, outlet and skill group without an eligible technician")
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return starts, lens, flat
