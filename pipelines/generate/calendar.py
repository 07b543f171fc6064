"""The business calendar: daily ticket intensity by service type and category, and the daily
load that slows service down.

Statutory holidays and make-up working days (调休) come from ``chinese_calendar``; years it does not
cover fall back to weekends plus approximate fixed holidays. On top: the weekday pattern, the
Spring Festival trough and catch-up, the National Day golden week, the Double 11 / 618 / Double 12
waves of delivery, return, refund and exchange tickets (and the orders that cause them), the summer
air-conditioner peak and mild growth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
import numpy as np

from aftersales.model import CHANNELS, PRODUCT_CATEGORIES, SERVICE_TYPES
from pipelines.generate.vocab import CATEGORY_SHARE

SERVICES = list(SERVICE_TYPES)  # delivery, install, repair, return, exchange, refund, consult
CATEGORIES = list(PRODUCT_CATEGORIES)
S = {s: i for i, s in enumerate(SERVICES)}
K = {c: i for i, c in enumerate(CATEGORIES)}
FIELD = np.array([s in ("delivery", "install", "repair", "exchange") for s in SERVICES])
SALES_CHANNELS = [c for c in CHANNELS if c != "phone"]

# Service-type mix by category (rows: CATEGORIES, columns: SERVICES).
MIX = np.array([
    [.08, .34, .28, .05, .04, .06, .15],  # air_conditioner
    [.08, .30, .30, .05, .04, .06, .17],  # water_heater
    [.12, .16, .34, .08, .06, .08, .16],  # washer
    [.15, .05, .36, .08, .07, .09, .20],  # fridge
    [.12, .20, .26, .10, .07, .10, .15],  # tv
    [.08, .30, .26, .07, .05, .08, .16],  # kitchen
    [.12, .00, .14, .20, .10, .22, .22],  # small_appliance
])
GROWTH_PER_YEAR = 0.12
# Shopping festivals: (month, day, ticket-wave amplitude, order multiplier on the day).
FESTIVALS = [(11, 11, 2.0, 6.0), (11, 1, 0.5, 2.5), (6, 18, 1.6, 4.0), (6, 1, 0.4, 2.0), (12, 12, 0.6, 2.5)]
# How strongly each service type rides a festival wave, and the shape of its lag (gamma a, scale days).
WAVE_WEIGHT = np.array([0.9, 0.25, 0.08, 1.0, 0.8, 1.0, 0.5])
WAVE_SHAPE = {"delivery": (3.0, 1.5)}
WAVE_DEFAULT_SHAPE = (4.0, 2.3)
PRESALE_WEIGHT = np.array([0.05, 0.0, 0.0, 0.05, 0.0, 0.12, 0.25])

# Fallback for years chinese_calendar does not know: Spring Festival (first holiday day).
_SPRING_FESTIVAL = {2027: (2, 6), 2028: (1, 25), 2029: (2, 12), 2030: (2, 2), 2031: (1, 22), 2032: (2, 10)}


def _day_info(day: dt.date) -> tuple[bool, str | None]:
    """(is_workday, holiday name or None) for one day."""
    try:
        workday = chinese_calendar.is_workday(day)
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return workday, (name if on_holiday else None)
    except NotImplementedError:
        sf = _SPRING_FESTIVAL.get(day.year)
        if sf and 0 <= (day - dt.date(day.year, *sf)).days < 8:
            return False, "Spring Festival"
        if day.month == 10 and day.day <= 7:
            return False, "National Day"
        if (day.month, day.day) in {(1, 1), (5, 1), (5, 2), (5, 3)}:
            return False, "Other"
        return day.weekday() < 5, None


def _gamma_kernel(a: float, scale: float, length: int = 28) -> np.ndarray:
    k = np.arange(1, length + 1, dtype=float)
    y = k ** (a - 1) * np.exp(-k / scale)
    return y / y.max()


@dataclass
class Calendar:
    dates: np.ndarray  # datetime64[D]
    day_sec: np.ndarray  # local midnight, seconds since 1970-01-01 (naive)
    weekday: np.ndarray
    workday: np.ndarray
    lam: np.ndarray  # (days, services, categories) relative ticket intensity
    orders: np.ndarray  # (days, sales channels) relative order intensity
    field_wait: np.ndarray  # days of field backlog waiting on that day
    desk_wait: np.ndarray  # days of desk (customer service / finance) backlog
    closed_p: np.ndarray  # share of field work that cannot be done on that day (holiday shutdown)
    resume_day: np.ndarray  # next day index on which field work runs normally
    month: np.ndarray  # month index from the first month
    week: np.ndarray  # week index from the first day

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def day_of(self, t: np.ndarray) -> np.ndarray:
        """Calendar day index of timestamps ``t`` (seconds), clipped to the calendar."""
        return np.clip((t - self.day_sec[0]) // 86400, 0, self.n_days - 1)

    def snap(self, t: np.ndarray, rng: np.random.Generator, open_h: float, close_h: float,
             closures: bool = False) -> np.ndarray:
        """Move timestamps outside working hours to the next opening (plus a little queueing);
        with ``closures``, work that falls on a holiday shutdown moves to the first day back."""
        day, sec = t // 86400, t % 86400
        jitter = rng.uniform(0, 3600, len(t)).astype(np.int64)
        opening = int(open_h * 3600)
        t = np.where(sec < opening, day * 86400 + opening + jitter, t)
        t = np.where(sec >= int(close_h * 3600), (day + 1) * 86400 + opening + jitter, t)
        if closures:
            raw = (t - self.day_sec[0]) // 86400
            idx = np.clip(raw, 0, self.n_days - 1)
            shut = (raw < self.n_days) & (rng.random(len(t)) < self.closed_p[idx])
            spread = rng.uniform(0, (close_h - open_h) * 3600 * 0.7, len(t)).astype(np.int64)
            t = np.where(shut, self.day_sec[self.resume_day[idx]] + opening + spread, t)
        return t


def build_calendar(start: str, end: str, seed: int) -> Calendar:
    d0, d1 = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if d1 < d0:
        raise ValueError(f"end {end} is before start {start}")
    days = [d0 + dt.timedelta(i) for i in range((d1 - d0).days + 1)]
    n = len(days)
    info = [_day_info(d) for d in days]
    workday = np.array([w for w, _ in info])
    name = np.array([h or "" for _, h in info])
    weekday = np.array([d.weekday() for d in days])
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    t_years = np.arange(n) / 365.25
    dates = np.array(days, dtype="datetime64[D]")

    spring = name == "Spring Festival"
    golden = np.array([d.month == 10 and d.day <= 8 for d in days]) & (name != "")
    other_hol = (name != "") & ~spring & ~golden

    # Base day factors, separately for field work (B2B-ish, quiet at weekends) and desk work.
    field_wd = np.array([1.10, 1.05, 1.0, 1.0, 0.97, 0.72, 0.62])
    desk_wd = np.array([1.12, 1.02, 1.0, 0.98, 0.97, 0.90, 0.88])
    f_field = np.where(workday, np.where(weekday < 5, field_wd[weekday], 1.0), field_wd[weekday])
    f_desk = np.where(workday, np.where(weekday < 5, desk_wd[weekday], 1.0), desk_wd[weekday])
    staff_field = np.where(workday, 1.0, 0.75)
    staff_desk = np.where(workday, 1.0, 0.95)
    f_delivery = f_desk.copy()
    closed_p = np.zeros(n)

    f_field[other_hol], f_desk[other_hol], f_delivery[other_hol] = 0.7, 0.9, 0.85
    staff_field[other_hol], staff_desk[other_hol] = 0.7, 0.95
    closed_p[other_hol] = 0.15
    for mask, field_level, desk_level, staff, shut in ((golden, 0.55, 0.8, 0.55, 0.35), (spring, 0.30, 0.45, 0.25, 0.75)):
        f_field[mask], f_desk[mask], f_delivery[mask] = field_level, desk_level, field_level * 0.7
        staff_field[mask], staff_desk[mask] = staff, max(staff, 0.5)
        closed_p[mask] = shut
    # Around each holiday span: the slide into it and the catch-up after it.
    for mask, pre_days, post_days, surge in ((spring, 7, 14, 0.6), (golden, 0, 5, 0.25)):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        for span in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
            first, last = span[0], span[-1]
            for k in range(1, pre_days + 1):
                i = first - k
                if i >= 0:
                    level = 0.45 + 0.5 * (k - 1) / pre_days
                    f_field[i] *= level
                    f_desk[i] *= min(1.0, level + 0.2)
                    f_delivery[i] *= max(0.25, level - 0.15)
                    staff_field[i] *= min(1.0, level + 0.25)
                    if k <= 2:
                        closed_p[i] = 0.3
            for k in range(1, post_days + 1):
                i = last + k
                if i < n:
                    boost = 1 + surge * (1 - (k - 1) / post_days)
                    f_field[i] *= boost
                    f_desk[i] *= 1 + (boost - 1) * 0.6
                    f_delivery[i] *= 1 + (boost - 1) * 0.5

    n_s, n_c = len(SERVICES), len(CATEGORIES)
    day_factor = np.where(FIELD[None, :], f_field[:, None], f_desk[:, None])
    day_factor[:, S["delivery"]] = f_delivery
    day_factor[:, S["exchange"]] = (f_field + f_desk) / 2

    # Festival waves: the surge comes one to three weeks after the festival day, plus a pre-sale bump.
    wave = np.ones((n, n_s))
    order_mult = np.ones(n)
    years = range(d0.year - 1, d1.year + 1)
    for year in years:
        for month, day, amp, order_peak in FESTIVALS:
            f_idx = (dt.date(year, month, day) - d0).days
            for s_name, s in S.items():
                kernel = _gamma_kernel(*WAVE_SHAPE.get(s_name, WAVE_DEFAULT_SHAPE))
                lo, hi = max(f_idx + 1, 0), min(f_idx + 1 + len(kernel), n)
                if lo < hi:
                    wave[lo:hi, s] += amp * WAVE_WEIGHT[s] * kernel[lo - f_idx - 1:hi - f_idx - 1]
                pre = np.arange(max(f_idx - 10, 0), min(f_idx, n))
                wave[pre, s] += amp * PRESALE_WEIGHT[s] * (1 - (f_idx - pre) / 11)
            if 0 <= f_idx < n:
                order_mult[f_idx] *= order_peak
            pre = np.arange(max(f_idx - 20 if amp > 1 else f_idx - 3, 0), min(f_idx, n))
            order_mult[pre] *= 1.15 if amp > 1 else 1.3
    order_mult[spring] *= 0.5

    # Seasons by category: the summer air-conditioner peak, a winter water-heater bump.
    season = np.ones((n, n_s, n_c))
    summer = np.exp(-0.5 * ((doy - 196) / 28) ** 2)
    winter = np.exp(-0.5 * (np.minimum(np.abs(doy - 10), 365 - np.abs(doy - 10)) / 30) ** 2)
    ac, wh = K["air_conditioner"], K["water_heater"]
    season[:, S["install"], ac] += 1.4 * summer
    season[:, S["repair"], ac] += 1.1 * summer
    season[:, S["delivery"], ac] += 0.5 * summer
    season[:, S["repair"], K["fridge"]] += 0.3 * summer
    season[:, S["install"], wh] += 0.4 * winter
    season[:, S["repair"], wh] += 0.4 * winter

    growth = np.exp(np.log1p(GROWTH_PER_YEAR) * t_years)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    noise = rng.lognormal(0.0, 0.05, n)
    share = np.array([CATEGORY_SHARE[c] for c in CATEGORIES])
    lam = (share[None, None, :] * MIX.T[None, :, :]) * (day_factor * wave)[:, :, None] * season
    lam *= (growth * noise)[:, None, None]

    field_wait = _queue_wait(lam[:, FIELD].sum(axis=(1, 2)), staff_field, growth)
    desk_wait = _queue_wait(lam[:, ~FIELD].sum(axis=(1, 2)), staff_desk, growth)

    ch_amp = np.array([{"store": 0.3, "wechat": 0.5, "suning": 0.8, "vip": 0.6, "weidian": 0.4}.get(c, 1.0)
                       for c in SALES_CHANNELS])
    ch_weekend = np.array([1.3 if c == "store" else 1.05 for c in SALES_CHANNELS])
    orders = (1 + (order_mult[:, None] - 1) * ch_amp[None, :]) * np.where(weekday[:, None] >= 5, ch_weekend, 1.0)
    orders *= (growth * rng.lognormal(0.0, 0.04, n))[:, None]

    resume = np.arange(n)
    for i in range(n - 2, -1, -1):
        if closed_p[i] > 0:
            resume[i] = resume[i + 1] if closed_p[i + 1] > 0 else i + 1
    months = np.array([(d.year - d0.year) * 12 + d.month - d0.month for d in days])
    day_sec = (dates - np.datetime64("1970-01-01", "D")).astype(np.int64) * 86400
    return Calendar(dates, day_sec, weekday, workday, lam, orders, field_wait, desk_wait, closed_p, resume,
                    months, np.arange(n) // 7)


def _queue_wait(demand: np.ndarray, staff: np.ndarray, growth: np.ndarray, util: float = 0.88) -> np.ndarray:
    """Days of work waiting in a queue whose capacity follows the trend and (with a lag) the
    season, so sudden waves (Double 11, the Spring Festival catch-up) build a backlog that
    overtime then works off within a couple of weeks."""
    trend = growth * np.median(demand / growth)
    ma = np.convolve(np.concatenate([np.full(27, demand[:28].mean()), demand]), np.ones(28) / 28, "valid")
    ref = (0.6 * trend + 0.4 * ma) / util
    cap = staff * ref
    wait = np.zeros(len(demand))
    b = 0.0
    for i in range(len(demand)):
        overtime = 1.0 + 0.6 * min(b / ref[i], 1.5)
        b = max(0.0, b + demand[i] - cap[i] * overtime)
        wait[i] = b / ref[i]
    return wait
