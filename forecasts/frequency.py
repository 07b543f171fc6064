"""The frequency of a planner's series: daily ``'D'``, weekly ``'W'`` (any weekday) or monthly
``'M'`` (any day of the month; 31 stands for the month's last day, so month ends are one anchor),
detected from the dates or given with ``--freq``, and what follows from it: seasonal periods,
the MASE lag, lead times and horizons in periods, and the dates of a grid or a horizon.

Detection, on the distinct dates of a file:

* every date on one day of the month (month ends included) → ``'M'``;
* every date on one weekday → ``'W'``;
* otherwise, if at least half of the steps between consecutive dates are one day → ``'D'``;
* otherwise the file is refused: the closer of weekly and monthly is named with the rows whose
  dates break it (a stray Tuesday in a file of Mondays), or, when neither is close, the rows
  whose dates fit no frequency.

Monthly arithmetic is anchored on a date: a month end stays a month end (31 Jan → 29 Feb →
31 Mar), any other day keeps its day, clipped to short months.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from aftersales.errors import UserError

DAILY, WEEKLY, MONTHLY = "D", "W", "M"
FREQS = (DAILY, WEEKLY, MONTHLY)
NAMES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly"}
NAMES_ZH = {DAILY: "按日", WEEKLY: "按周", MONTHLY: "按月"}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_END = 31  # the monthly anchor meaning "the month's last day"
SHOW_ROWS = 5   # how many breaking rows a message names

# Days per period: lead times in days become periods with these (a month is 365.25 / 12 days).
PERIOD_DAYS = {DAILY: 1.0, WEEKLY: 7.0, MONTHLY: 365.25 / 12}
# Seasonal period: the week for daily data, the year for weekly and monthly data.
SEASON = {DAILY: 7, WEEKLY: 52, MONTHLY: 12}
# The same point a year earlier (the annual naive): 52 weeks of days keep the weekday.
ANNUAL_LAG = {DAILY: 364, WEEKLY: 52, MONTHLY: 12}


class FrequencyError(UserError):
    """The dates fit no frequency (or not the one asked for); ``rows`` are the breaking rows."""

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


@dataclass(frozen=True)
class Frequency:
    """A detected frequency with its anchor: a weekday (0 = Monday) for ``'W'``, a day of the
    month (1–31, 31 = month end) for ``'M'``, ``None`` for ``'D'``."""

    code: str
    anchor: int | None = None

    def describe(self) -> str:
        if self.code == WEEKLY and self.anchor is not None:
            return f"weekly ({_WEEKDAYS[self.anchor]}s)"
        if self.code == MONTHLY and self.anchor is not None:
            return "monthly (month ends)" if self.anchor == MONTH_END else f"monthly (day {self.anchor})"
        return NAMES[self.code]


def check_code(freq: str) -> str:
    """``freq`` upper-cased if it is one of D, W, M; else a ``UserError``."""
    code = str(freq).strip().upper()
    if code not in FREQS:
        raise UserError(f"frequency {freq!r} is not one of D (daily), W (weekly), M (monthly)")
    return code


# ---- what follows from the frequency -------------------------------------------------------

def season_length(freq: str) -> int:
    """Seasonal period in periods: 7 (daily: the week), 52 (weekly) or 12 (monthly: the year)."""
    return SEASON[check_code(freq)]


def annual_lag(freq: str) -> int:
    """The annual naive's lag: 364 days (keeps the weekday), 52 weeks, 12 months."""
    return ANNUAL_LAG[check_code(freq)]


def mase_lag(freq: str, n_obs: int | None = None) -> int:
    """Lag of the seasonal naive that scales MASE: the seasonal period, or 1 where the training
    history (``n_obs`` periods) is too short to hold one season plus a step."""
    m = season_length(freq)
    return 1 if n_obs is not None and n_obs <= m else m


def period_days(freq: str) -> float:
    """Days in one period: 1, 7 or 30.44 (365.25 / 12)."""
    return PERIOD_DAYS[check_code(freq)]


def periods_from_days(days: float, freq: str) -> float:
    """A span in days (a lead time) in periods of ``freq``, fractional: 14 days = 2 weeks = 0.46 months."""
    return float(days) / period_days(freq)


def whole_periods(days: float, freq: str) -> int:
    """Whole periods covering ``days`` (rounded up, at least 1): a 10-day lead time is 2 weeks."""
    return max(1, math.ceil(periods_from_days(days, freq) - 1e-9))


def horizon(settings: dict, freq: str) -> int:
    """The horizon in periods of ``freq`` from a config section: ``horizon_periods`` (what
    ``--horizon`` sets) if given, else ``horizon_days`` (workload) or ``horizon_weeks`` (parts)
    converted to whole periods (84 days = 12 weeks; 12 weeks = 3 months)."""
    if settings.get("horizon_periods"):
        return int(settings["horizon_periods"])
    if settings.get("horizon_days"):
        return whole_periods(float(settings["horizon_days"]), freq)
    if settings.get("horizon_weeks"):
        return whole_periods(7.0 * float(settings["horizon_weeks"]), freq)
    return default_horizon(freq)


def default_horizon(freq: str) -> int:
    """Default horizon in periods: 84 days, 12 weeks, 6 months."""
    return {DAILY: 84, WEEKLY: 12, MONTHLY: 6}[check_code(freq)]


# ---- date arithmetic -----------------------------------------------------------------------

def _is_month_end(d: dt.date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _on_anchor(d: dt.date, anchor: int) -> bool:
    return d.day == min(anchor, calendar.monthrange(d.year, d.month)[1])


def add_periods(d: dt.date, k: int, freq: str) -> dt.date:
    """``d`` moved by ``k`` periods (``k`` may be negative). Monthly: a month end stays a month
    end, any other day keeps its day (clipped to short months); anchored on ``d``."""
    code = check_code(freq)
    if code == DAILY:
        return d + dt.timedelta(days=k)
    if code == WEEKLY:
        return d + dt.timedelta(days=7 * k)
    months = d.year * 12 + d.month - 1 + k
    year, month = divmod(months, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, last if _is_month_end(d) else min(d.day, last))


def date_grid(start: dt.date, end: dt.date, freq: str) -> list[dt.date]:
    """``start``, ``start`` + 1 period, ... up to ``end`` inclusive."""
    out, k = [], 0
    while (d := add_periods(start, k, freq)) <= end:
        out.append(d)
        k += 1
    return out


def future_dates(last: dt.date, horizon: int, freq: str) -> list[dt.date]:
    """The ``horizon`` dates after ``last``."""
    return [add_periods(last, k, freq) for k in range(1, horizon + 1)]


def periods_between(start: dt.date, end: dt.date, freq: str) -> int:
    """Whole periods from ``start`` to ``end`` (``end`` on the grid of ``start``)."""
    code = check_code(freq)
    if code == DAILY:
        return (end - start).days
    if code == WEEKLY:
        return (end - start).days // 7
    return (end.year - start.year) * 12 + end.month - start.month


# ---- detection -----------------------------------------------------------------------------

def _as_dates(dates: Iterable) -> list[dt.date]:
    out = []
    for d in dates:
        if isinstance(d, dt.datetime):
            d = d.date()
        elif not isinstance(d, dt.date) and hasattr(d, "date"):  # pandas Timestamp
            d = d.date()
        out.append(d)
    return out


def _best_weekday(unique: list[dt.date]) -> tuple[int, int]:
    counts = Counter(d.weekday() for d in unique)
    day, n = counts.most_common(1)[0]
    return day, n


def _best_month_anchor(unique: list[dt.date]) -> tuple[int, int]:
    best = (1, -1)
    for anchor in range(1, 32):
        n = sum(_on_anchor(d, anchor) for d in unique)
        if n > best[1] or (n == best[1] and anchor == MONTH_END):  # prefer "month end" on ties
            best = (anchor, n)
    return best


def _breaking(dates: list[dt.date], rows: Sequence[int], fits) -> list[int]:  # noqa: ANN001
    return [r for d, r in zip(dates, rows, strict=True) if not fits(d)]


def _rows_text(bad: list[int], dates: list[dt.date], rows: Sequence[int]) -> str:
    by_row = dict(zip(rows, dates, strict=True))
    shown = ", ".join(f"row {r} ({by_row[r]})" for r in bad[:SHOW_ROWS])
    more = f" and {len(bad) - SHOW_ROWS} more" if len(bad) > SHOW_ROWS else ""
    return f"{len(bad)} row(s) break it: {shown}{more}"


def infer(dates: Iterable, freq: str | None = None, rows: Sequence[int] | None = None,
          where: str = "the file") -> Frequency:
    """The frequency of ``dates`` (one entry per row; ``rows`` are the row numbers to name in a
    message, default 1, 2, ...). With ``freq`` the dates are only checked against it. Raises
    :class:`FrequencyError` naming the first rows that break the frequency."""
    dates = _as_dates(dates)
    rows = list(rows) if rows is not None else list(range(1, len(dates) + 1))
    unique = sorted(set(dates))
    if freq is not None:
        code = check_code(freq)
        if code == DAILY:
            return Frequency(DAILY)
        if not unique:
            return Frequency(code)
        return _checked(code, dates, rows, unique, where, asked=True)
    if len(unique) < 3:
        raise FrequencyError(f"{where}: only {len(unique)} distinct date(s), too few to tell daily, weekly or "
                             "monthly; give --freq D, W or M")
    m_anchor, m_n = _best_month_anchor(unique)
    if m_n == len(unique):
        return Frequency(MONTHLY, m_anchor)
    w_day, w_n = _best_weekday(unique)
    if w_n == len(unique):
        return Frequency(WEEKLY, w_day)
    steps = [(b - a).days for a, b in pairwise(unique)]
    if sum(s == 1 for s in steps) >= len(steps) / 2:
        return Frequency(DAILY)
    if max(m_n, w_n) >= len(unique) / 2:  # close to weekly or monthly: name the strays
        return _checked(MONTHLY if m_n > w_n else WEEKLY, dates, rows, unique, where, asked=False)
    common = Counter(steps).most_common(1)[0][0]
    bad = [r for d, r in zip(dates, rows, strict=True) if d != unique[0]]
    raise FrequencyError(
        f"{where}: the dates fit no frequency (most are {common} days apart); the forecasts take daily, "
        f"weekly (one weekday) or monthly (one day of the month, or month ends) series — "
        f"{_rows_text(bad, dates, rows)}", bad)


def _checked(code: str, dates: list[dt.date], rows: list[int], unique: list[dt.date], where: str,
             asked: bool) -> Frequency:
    if code == WEEKLY:
        anchor, _ = _best_weekday(unique)
        bad = _breaking(dates, rows, lambda d: d.weekday() == anchor)
        want = f"weekly on {_WEEKDAYS[anchor]}s (most dates are)"
    else:
        anchor, _ = _best_month_anchor(unique)
        bad = _breaking(dates, rows, lambda d: _on_anchor(d, anchor))
        want = "monthly on month ends" if anchor == MONTH_END else f"monthly on day {anchor}"
        want += " (most dates are)"
    if bad:
        how = "with --freq " + code if asked else "as detected"
        raise FrequencyError(f"{where}: dates should be {want} {how}, but {_rows_text(bad, dates, rows)}; "
                             "fix those dates (or give the right --freq) and run again", bad)
    return Frequency(code, anchor)


def detect(dates: Iterable, rows: Sequence[int] | None = None) -> str:
    """``'D'``, ``'W'`` or ``'M'`` for ``dates`` (see the module docstring); a
    :class:`FrequencyError` naming the breaking rows when they fit none."""
    return infer(dates, rows=rows).code


def require(freq: str, allowed: Sequence[str], what: str) -> str:
    """``freq`` if ``what`` (e.g. 'workload') takes it, else a ``UserError`` saying which it takes."""
    if freq not in allowed:
        names = " or ".join(NAMES[f] for f in allowed)
        raise UserError(f"{what} series must be {names}; these are {NAMES[freq]}")
    return freq
