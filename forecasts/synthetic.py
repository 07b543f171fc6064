"""Seeded synthetic series with the shapes the real ones have, for tests and the benchmark's
speed runs (the accuracy figures use the generator's sample data, not these).

* ``daily_workload``: weekly rhythm, a summer peak, growth, Double 11 / 618 / Double 12 waves,
  the Spring Festival trough and the pile-up after it, make-up working Saturdays, and
  negative-binomial noise.
* ``weekly_parts``: a mix of smooth, erratic, intermittent and lumpy demand.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from forecasts import calendar


def _event_multiplier(days: list[dt.date], strength: float) -> np.ndarray:
    mult = np.ones(len(days))
    for i, d in enumerate(days):
        for month, day, peak in ((11, 11, 2.2), (6, 18, 1.7), (12, 12, 1.25)):
            k = (d - dt.date(d.year, month, day)).days
            if -20 <= k < 0:
                mult[i] *= 1 + (peak - 1) * 0.15 * strength
            elif 0 <= k <= 21:
                mult[i] *= 1 + (peak - 1) * strength * np.exp(-k / 7)
        for year in (d.year, d.year + 1):
            lny = calendar.LUNAR_NEW_YEAR.get(year)
            if lny is None:
                continue
            k = (d - lny).days
            if -10 <= k < -2:
                mult[i] *= 0.7
            elif -2 <= k <= 6:
                mult[i] *= 0.25
            elif 7 <= k <= 20:
                mult[i] *= 1 + 0.8 * np.exp(-(k - 7) / 5)
    return mult


def daily_workload(n_series: int = 8, start: dt.date = dt.date(2024, 1, 1), end: dt.date = dt.date(2026, 10, 31),
                   seed: int = 0, base: tuple[float, float] = (5.0, 60.0)) -> pl.DataFrame:
    """``unique_id, ds, y`` for ``n_series`` daily series (ids ``s000``...)."""
    rng = np.random.default_rng(seed)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    t = np.arange(len(days)) / 365.25
    doy = np.array([d.timetuple().tm_yday for d in days])
    work = calendar.working_days(days)
    weekday = np.array([d.weekday() for d in days])
    frames = []
    for s in range(n_series):
        level = rng.uniform(*base)
        weekly = 1 + rng.uniform(0.1, 0.4) * np.cos(2 * np.pi * (weekday - rng.integers(0, 7)) / 7)
        summer = 1 + rng.uniform(0, 0.6) * np.exp(-((doy - 200) / 35.0) ** 2)
        growth = 1 + rng.uniform(-0.05, 0.2) * t
        workday = np.where(work > 0, 1.0, 1 - rng.uniform(0.1, 0.4))
        events = _event_multiplier(days, rng.uniform(0.5, 1.2))
        mu = level * weekly * summer * growth * workday * events
        dispersion = 20.0
        y = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
        frames.append(pl.DataFrame({"unique_id": f"s{s:03d}", "ds": days, "y": y.astype(float)}))
    return pl.concat(frames)


def weekly_parts(n_series: int = 100, weeks: int = 143, end: dt.date = dt.date(2026, 10, 26),
                 seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(demand ``unique_id, ds, y`` with Monday ``ds``, master ``part_no, lead_time_days, on_hand``).
    A quarter of the parts each are smooth, erratic, intermittent and lumpy by construction."""
    rng = np.random.default_rng(seed)
    mondays = [end - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    frames, master = [], []
    for s in range(n_series):
        kind = s % 4
        if kind == 0:    # smooth
            y = rng.poisson(rng.uniform(5, 40), weeks)
        elif kind == 1:  # erratic: frequent, sizes vary a lot
            y = rng.negative_binomial(1.0, 1 / (1 + rng.uniform(5, 20)), weeks)
        elif kind == 2:  # intermittent: rare, sizes steady
            y = (rng.random(weeks) < rng.uniform(0.15, 0.5)) * (1 + rng.poisson(0.5, weeks))
        else:            # lumpy: rare and sizes vary
            y = (rng.random(weeks) < rng.uniform(0.1, 0.4)) * rng.negative_binomial(0.7, 0.1, weeks)
        uid = f"P{s:05d}"
        frames.append(pl.DataFrame({"unique_id": uid, "ds": mondays, "y": y.astype(float)}))
        master.append({"part_no": uid, "lead_time_days": int(rng.choice([7, 14, 21, 28, 42])),
                       "on_hand": int(rng.poisson(max(1.0, y.mean() * 3)))})
    return pl.concat(frames), pl.DataFrame(master)
