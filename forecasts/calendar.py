"""The business calendar as forecasting features: one holiday table and a working-day regressor.

Every event has a stable name that recurs every year (``spring_festival``, ``double11_wave_w1``
...), so a model learns one effect per event from all the years it has seen. Prophet's built-in
``add_country_holidays("CN")`` is not used: for China it yields one-off, year-specific names for
substituted days that never recur, so their effects cannot be learned or forecast.

Sources, in order:

* Statutory holidays and make-up working days (调休) come from the ``chinese_calendar`` package
  for the years it has data for (it is maintained as the State Council publishes each year's
  arrangement, usually in the autumn before, so it normally stops at the current year).
* For later years a rule stands in: weekends are off and there are no make-up working days;
  New Year, Labour Day (1–5 May) and National Day (1–7 Oct) fall on their fixed dates; Spring
  Festival, Dragon Boat and Mid-autumn fall on the dates listed below (computed from the lunar
  calendar; the lists run to 2030), Qingming on the listed solar-term day. Forecasts that reach
  past 2030 get no lunar holidays, and ``CalendarGapWarning`` says so.
* Shopping festivals (618, Double 11, Double 12) are fixed Gregorian dates set by the platforms.

Other calendars (``--country``, ``--events``): a calendar is described by a small JSON-safe dict,
``{"country": "US", "events": [[name, "YYYY-MM-DD", lower_window, upper_window], ...]}``, built by
:func:`spec` and stored with the run. China (the default) uses everything above; another
country takes its public holidays from the ``holidays`` package (the same source Prophet's
``add_country_holidays`` uses), each under its own recurring name, with Monday–Friday working days
except those holidays and no shopping festivals. A planner's own events (promotions) are added
to either, with Prophet's day windows around each date. Functions take the dict's hashable
:func:`key` (``None`` = China, no events).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from chinese_calendar import constants as cn

D = dt.date

# Lunar New Year's Day (正月初一). 2015–2026 are checked against chinese_calendar in the tests.
LUNAR_NEW_YEAR = {
    2015: D(2015, 2, 19), 2016: D(2016, 2, 8), 2017: D(2017, 1, 28), 2018: D(2018, 2, 16),
    2019: D(2019, 2, 5), 2020: D(2020, 1, 25), 2021: D(2021, 2, 12), 2022: D(2022, 2, 1),
    2023: D(2023, 1, 22), 2024: D(2024, 2, 10), 2025: D(2025, 1, 29), 2026: D(2026, 2, 17),
    2027: D(2027, 2, 6), 2028: D(2028, 1, 26), 2029: D(2029, 2, 13), 2030: D(2030, 2, 3),
}
# Rule-based fallbacks for years chinese_calendar does not know yet.
_QINGMING = {2027: D(2027, 4, 5), 2028: D(2028, 4, 4), 2029: D(2029, 4, 4), 2030: D(2030, 4, 5)}
_DRAGON_BOAT = {2027: D(2027, 6, 9), 2028: D(2028, 5, 28), 2029: D(2029, 6, 16), 2030: D(2030, 6, 5)}
_MID_AUTUMN = {2027: D(2027, 9, 15), 2028: D(2028, 10, 3), 2029: D(2029, 9, 22), 2030: D(2030, 9, 12)}

_CN_NAMES = {  # chinese_calendar's names -> ours
    "New Year's Day": "new_year", "Spring Festival": "spring_festival", "Tomb-sweeping Day": "qingming",
    "Labour Day": "labour_day", "Dragon Boat Festival": "dragon_boat", "National Day": "national_day",
    "Mid-autumn Festival": "mid_autumn",
}
STATUTORY = tuple(_CN_NAMES.values())

_KNOWN_YEARS = frozenset(d.year for d in cn.holidays) & frozenset(d.year for d in cn.workdays)


class CalendarGapWarning(UserWarning):
    """A year is beyond both chinese_calendar and the lunar-date lists here."""


def calendar_source(year: int) -> str:
    """'chinese_calendar' for years the package covers, else 'rule'."""
    return "chinese_calendar" if year in _KNOWN_YEARS else "rule"


def _span(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def statutory_holidays(year: int) -> dict[str, list[dt.date]]:
    """Days off of each statutory holiday in ``year``, by stable name (see module docstring)."""
    if year in _KNOWN_YEARS:
        out: dict[str, list[dt.date]] = {}
        for day, name in sorted(cn.holidays.items()):
            if day.year == year and name in _CN_NAMES:
                out.setdefault(_CN_NAMES[name], []).append(day)
        return out
    out = {
        "new_year": [D(year, 1, 1)],
        "labour_day": _span(D(year, 5, 1), D(year, 5, 5)),
        "national_day": _span(D(year, 10, 1), D(year, 10, 7)),
    }
    lny = LUNAR_NEW_YEAR.get(year)
    if lny is None:
        warnings.warn(f"no lunar dates for {year}: Spring Festival, Qingming, Dragon Boat and Mid-autumn "
                      "are left out of its calendar; extend the lists in forecasts/calendar.py",
                      CalendarGapWarning, stacklevel=2)
        return out
    out["spring_festival"] = _span(lny - dt.timedelta(days=1), lny + dt.timedelta(days=6))
    out["qingming"] = [_QINGMING[year]]
    out["dragon_boat"] = [_DRAGON_BOAT[year]]
    out["mid_autumn"] = [_MID_AUTUMN[year]]
    return out


@dataclass(frozen=True)
class Segment:
    """Days ``first..last`` (inclusive offsets) relative to an anchor date share one effect."""

    name: str
    first: int
    last: int


# Shopping festivals: a pre-sale window, the peak around the day, then the after-sales wave
# (deliveries, returns, refunds) in weekly segments so the model learns how it decays.
_FESTIVALS: dict[str, tuple[tuple[int, int], tuple[Segment, ...]]] = {
    # 618: pre-sale from late May, the first sales from 1 June (JD's anniversary), the peak days.
    "festival_618": ((6, 18), (
        Segment("festival_618_presale", -29, -18), Segment("festival_618_first_wave", -17, -3),
        Segment("festival_618_peak", -2, 0), Segment("festival_618_wave_w1", 1, 7),
        Segment("festival_618_wave_w2", 8, 14), Segment("festival_618_wave_w3", 15, 21))),
    # Double 11: pre-sale from about 20 October, the first sales period from 1 November, the peak.
    "double11": ((11, 11), (
        Segment("double11_presale", -21, -11), Segment("double11_first_wave", -10, -2),
        Segment("double11_peak", -1, 1), Segment("double11_wave_w1", 2, 8),
        Segment("double11_wave_w2", 9, 15), Segment("double11_wave_w3", 16, 22))),
    "double12": ((12, 12), (
        Segment("double12_presale", -5, -1), Segment("double12_peak", 0, 0),
        Segment("double12_wave_w1", 1, 7), Segment("double12_wave_w2", 8, 14))),
}
# Before and after a holiday's days off, relative to its first (negative) and last (positive) day.
_AROUND = {
    "spring_festival": (Segment("spring_festival_shutdown_w2", -14, -8), Segment("spring_festival_shutdown_w1", -7, -1),
                        Segment("spring_festival_return_w1", 1, 7), Segment("spring_festival_return_w2", 8, 14)),
    "national_day": (Segment("national_day_return", 1, 7),),
}

EVENT_NAMES: tuple[str, ...] = (
    *STATUTORY,
    *(s.name for segs in _AROUND.values() for s in segs),
    *(s.name for _, segs in _FESTIVALS.values() for s in segs),
)


def event_dates(year: int) -> dict[str, dt.date]:
    """Anchor day of the events the event backtest starts from: Spring Festival (lunar new year),
    618 and Double 11 of ``year``."""
    out = {"festival_618": D(year, 6, 18), "double11": D(year, 11, 11)}
    if year in LUNAR_NEW_YEAR:
        out["spring_festival"] = LUNAR_NEW_YEAR[year]
    return out


def _split(seg: Segment, days: int) -> list[Segment]:
    """A multi-day segment cut into pieces of at most ``days`` days (``_a``, ``_b`` ...)."""
    n = seg.last - seg.first + 1
    if days <= 0 or n <= days:
        return [seg]
    return [Segment(f"{seg.name}_{chr(97 + i)}", seg.first + k, min(seg.first + k + days - 1, seg.last))
            for i, k in enumerate(range(0, n, days))]


def holiday_table(start: dt.date, end: dt.date, split_days: int = 0, cal: CalendarKey | None = None) -> pd.DataFrame:
    """The holiday table for Prophet (pandas at Prophet's door): one row per day, columns
    ``holiday, ds, lower_window, upper_window`` (windows 0: every day of a named segment
    shares one effect). Covers ``start - 1 year .. end + 1 year`` so events straddling the
    edges are whole. ``split_days`` > 0 cuts the segments around holidays and festivals into
    pieces of that many days (finer shapes, more effects to learn). ``cal`` (:func:`key`) picks
    another country's holidays and adds a planner's events."""
    country, events = cal or (CHINA, ())
    if country != CHINA:
        frame = _country_table(country, start, end)
    else:
        frame = _china_table(start, end, split_days)
    if events:
        frame = pd.concat([frame, _events_table(events)], ignore_index=True)
    return frame


def _china_table(start: dt.date, end: dt.date, split_days: int) -> pd.DataFrame:
    rows: list[tuple[str, dt.date]] = []
    for year in range(start.year - 1, end.year + 2):
        with warnings.catch_warnings():
            if year > end.year or year < start.year:
                warnings.simplefilter("ignore", CalendarGapWarning)
            stat = statutory_holidays(year)
        for name, days in stat.items():
            rows += [(name, d) for d in days]
            for seg in (piece for whole in _AROUND.get(name, ()) for piece in _split(whole, split_days)):
                base = days[-1] if seg.first > 0 else days[0]
                rows += [(seg.name, base + dt.timedelta(days=k)) for k in range(seg.first, seg.last + 1)]
        for (month, day), segs in _FESTIVALS.values():
            anchor = D(year, month, day)
            for seg in (piece for whole in segs for piece in _split(whole, split_days)):
                rows += [(seg.name, anchor + dt.timedelta(days=k)) for k in range(seg.first, seg.last + 1)]
    frame = pd.DataFrame(rows, columns=["holiday", "ds"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame = frame.drop_duplicates().sort_values(["ds", "holiday"]).reset_index(drop=True)
    frame["lower_window"] = 0
    frame["upper_window"] = 0
    return frame


def working_days(dates: Iterable[dt.date] | pd.DatetimeIndex | pl.Series, cal: CalendarKey | None = None) -> np.ndarray:
    """1.0 for a working day, 0.0 for a day off, per date: make-up working weekends (调休) count
    as working days, statutory days off as days off. Beyond chinese_calendar's years, the rule:
    Monday–Friday work except the rule-based holidays. With another country (``cal``):
    Monday–Friday except its public holidays."""
    if isinstance(dates, pl.Series):
        dates = dates.to_list()
    days = [d.date() if isinstance(d, (pd.Timestamp, dt.datetime)) else d for d in dates]
    if cal is not None and cal[0] != CHINA:
        off = _country_days(cal[0], frozenset(d.year for d in days))
        return np.array([float(d.weekday() < 5 and d not in off) for d in days])
    rule_off: dict[int, set[dt.date]] = {}
    out = np.empty(len(days), dtype=float)
    for i, d in enumerate(days):
        if d.year in _KNOWN_YEARS:
            if d in cn.workdays:
                out[i] = 1.0
            elif d in cn.holidays:
                out[i] = 0.0
            else:
                out[i] = float(d.weekday() < 5)
        else:
            if d.year not in rule_off:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", CalendarGapWarning)
                    rule_off[d.year] = {x for v in statutory_holidays(d.year).values() for x in v}
            out[i] = float(d.weekday() < 5 and d not in rule_off[d.year])
    return out


# ---- other countries and a planner's events -----------------------------------------------------

CHINA = "CN"
CalendarKey = tuple[str, tuple[tuple[str, str, int, int], ...]]


def check_country(code: str) -> str:
    """An ISO 3166 country code the ``holidays`` package knows (upper-cased), else a ``UserError``."""
    import holidays

    from aftersales.errors import UserError

    code = str(code).strip().upper()
    if code != CHINA and code not in holidays.list_supported_countries():
        raise UserError(f"--country {code}: no holiday calendar for that code; give an ISO 3166 two-letter code "
                        "such as US, GB, DE, JP (the `holidays` package's list)")
    return code


def read_events(path: str) -> list[list]:
    """A planner's events file (promotions, closures): CSV with a ``date`` column (YYYY-MM-DD)
    and optional ``name``, ``lower_window`` (0 or negative: days before that share the event)
    and ``upper_window`` (0 or positive: days after). Rows without a name are ``event``."""
    from pathlib import Path

    from aftersales.errors import UserError

    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise UserError(f"--events {path}: no such file (or empty); give a CSV with columns date[,name]"
                        "[,lower_window][,upper_window]")
    try:
        raw = pl.read_csv(p, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"--events {path}: cannot be read as CSV ({str(exc).splitlines()[0]})") from exc
    cols = {c.strip().lower(): c for c in raw.columns}
    date_col = cols.get("date") or cols.get("ds") or cols.get("日期")
    if date_col is None:
        raise UserError(f"--events {path}: no date column; the file needs date[,name][,lower_window][,upper_window] "
                        f"(it has {', '.join(raw.columns)})")
    out = []
    for i, row in enumerate(raw.iter_rows(named=True), start=2):
        text = (row[date_col] or "").strip()[:10].replace("/", "-")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise UserError(f"--events {path}: row {i}, column {date_col}: {row[date_col]!r} is not a date "
                            "(YYYY-MM-DD)") from None
        name = (row.get(cols.get("name", ""), None) or row.get(cols.get("holiday", ""), None) or "event").strip()
        windows = []
        for col, sign in (("lower_window", -1), ("upper_window", 1)):
            value = (row.get(cols.get(col, ""), None) or "0").strip() or "0"
            try:
                n = int(value)
            except ValueError:
                raise UserError(f"--events {path}: row {i}, column {col}: {value!r} is not a whole number of days") from None
            if n * sign < 0:
                raise UserError(f"--events {path}: row {i}, column {col}: {n} — lower_window counts days before "
                                "(0 or negative), upper_window days after (0 or positive)")
            windows.append(n)
        out.append([f"event_{name}", day.isoformat(), *windows])
    if not out:
        raise UserError(f"--events {path} has no rows")
    return out


def spec(country: str | None = None, events_file: str | None = None) -> dict | None:
    """The JSON-safe calendar description a run's settings carry (``None``: China, no events)."""
    if not country and not events_file:
        return None
    return {"country": check_country(country) if country else CHINA,
            "events": read_events(events_file) if events_file else [], "events_file": events_file}


def key(cal: dict | None) -> CalendarKey | None:
    """The hashable form of :func:`spec`'s dict, for caches and the functions here."""
    if not cal:
        return None
    return str(cal.get("country") or CHINA), tuple((str(n), str(d), int(lo), int(hi)) for n, d, lo, hi in cal.get("events") or ())


def describe(cal: dict | None) -> str:
    """``"CN"``, ``"US + 12 events"``..."""
    if not cal:
        return CHINA
    n = len(cal.get("events") or ())
    return f"{cal.get('country') or CHINA}" + (f" + {n} event(s) from {cal.get('events_file')}" if n else "")


def _country_days(country: str, years: frozenset[int]) -> dict[dt.date, str]:
    import holidays

    return dict(holidays.country_holidays(country, years=sorted(years)).items()) if years else {}


def _country_table(country: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    days = _country_days(country, frozenset(range(start.year - 1, end.year + 2)))
    # one recurring name per holiday ("Christmas Day"), as for China: an effect learned each year
    frame = pd.DataFrame([(f"{country}_{re.sub(r'[^0-9A-Za-z]+', '_', n).strip('_').lower()}", d)
                          for d, names in days.items() for n in names.split("; ")], columns=["holiday", "ds"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame = frame.drop_duplicates().sort_values(["ds", "holiday"]).reset_index(drop=True)
    frame["lower_window"] = 0
    frame["upper_window"] = 0
    return frame


def _events_table(events: tuple[tuple[str, str, int, int], ...]) -> pd.DataFrame:
    frame = pd.DataFrame(list(events), columns=["holiday", "ds", "lower_window", "upper_window"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame
