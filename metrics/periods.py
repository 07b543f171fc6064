"""Calendar periods in business time (timestamps in the database are naive local time).

Weeks start on Monday (ISO, as DuckDB's ``date_trunc('week', …)``). "Last year" for a week is
52 weeks earlier (the same weekday); for every other grain it is the same date one year earlier.
"""

from __future__ import annotations

import datetime as dt

from aftersales.errors import UserError
from metrics.registry import GRAINS


def check_grain(grain: str | None) -> str | None:
    if grain is None or grain in GRAINS:
        return grain
    raise UserError(f"unknown grain {grain!r}; valid grains: {', '.join(GRAINS)}")


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31,
            30, 31][month - 1]
    return dt.date(year, month, min(d.day, last))


def trunc(d: dt.date, grain: str) -> dt.date:
    """The start of the period containing ``d``."""
    if grain == "day":
        return d
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if grain == "year":
        return dt.date(d.year, 1, 1)
    raise UserError(f"unknown grain {grain!r}; valid grains: {', '.join(GRAINS)}")


def shift(d: dt.date, grain: str, n: int = 1) -> dt.date:
    """``d`` moved by ``n`` periods of ``grain``."""
    if grain == "day":
        return d + dt.timedelta(days=n)
    if grain == "week":
        return d + dt.timedelta(weeks=n)
    return _add_months(d, n * {"month": 1, "quarter": 3, "year": 12}[grain])


def last_year(d: dt.date, grain: str) -> dt.date:
    """The start of the same period one year earlier (同比)."""
    return d - dt.timedelta(weeks=52) if grain == "week" else _add_months(d, -12)


def polars_offsets(grain: str) -> tuple[str, str]:
    """Polars ``dt.offset_by`` strings for one period and for one year, per grain."""
    one = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "3mo", "year": "1y"}[grain]
    return one, ("52w" if grain == "week" else "1y")


def to_ts(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day)


def windows(start: dt.date, end: dt.date, grain: str | None) -> tuple[dt.date, dt.date, list[tuple[dt.date, dt.date]]]:
    """(lo, hi, scan windows): the requested periods [lo, hi), widened to whole periods, and the
    date ranges to scan so that every period's previous and last-year periods are computed in the
    same query (merged where they overlap)."""
    if end < start:
        raise UserError(f"--to {end} is before --from {start}; swap them")
    if grain is None:
        hi = end + dt.timedelta(days=1)
        return start, hi, [(start, hi)]
    lo, hi = trunc(start, grain), shift(trunc(end, grain), grain)
    return lo, hi, _merge([(last_year(lo, grain), last_year(hi, grain)), (shift(lo, grain, -1), shift(hi, grain, -1)),
                           (lo, hi)])


def last_windows(lo: dt.date, hi: dt.date, grain: str) -> list[tuple[dt.date, dt.date]]:
    """The date ranges to scan for the periods [lo, hi) and the last one's previous and last-year
    periods only (a year of months: 13 months instead of ``windows``' 24)."""
    last = shift(hi, grain, -1)
    return _merge([(lo, hi), (shift(last, grain, -1), last), (last_year(last, grain), last_year(hi, grain))])


def _merge(ranges: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    merged: list[tuple[dt.date, dt.date]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def parse_date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-01-31") from None
