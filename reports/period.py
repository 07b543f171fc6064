"""The period a report covers, parsed from ``--period``.

Forms: ``YYYY-MM`` (a calendar month), ``YYYY-Www`` (an ISO week, Monday to Sunday),
``FROM:TO`` (inclusive dates, one period with no grain), ``last-month`` and ``last-week``.

``last-month`` / ``last-week`` are the last *complete* month / ISO week before the as-of date.
The as-of date is today in the business time zone (what a cron job wants: run on the 1st, get
the month just ended), or ``--as-of YYYY-MM-DD`` to pin it (tests, re-running a missed report),
or ``--as-of data``: the day after the latest ticket, i.e. the last complete period in the data.
The metrics' own "now" (SLA due times, backlog ages) stays the data's latest timestamp, as on the
dashboard, so a re-run on the same data gives the same numbers whatever the date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aftersales.errors import UserError
from metrics import periods

EXAMPLES = "2026-10, 2026-W44, 2026-10-01:2026-10-15, last-month or last-week"


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day
    end: dt.date  # last day (inclusive)
    grain: str | None  # "month", "week", or None for a FROM:TO range
    slug: str  # in file names: 2026-10, 2026-W44, 2026-10-01_2026-10-15

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> dt.date:
        return self.end + dt.timedelta(days=1)

    def label(self, lang: str) -> str:
        """2026年10月 / October 2026; 2026年第44周(10-26 至 11-01) / 2026-W44 (26 Oct – 1 Nov)."""
        if self.grain == "month":
            return f"{self.start.year}年{self.start.month}月" if lang == "zh" else self.start.strftime("%B %Y")
        if self.grain == "week":
            y, w, _ = self.start.isocalendar()
            if lang == "zh":
                return f"{y}年第{w}周({self.start:%m-%d} 至 {self.end:%m-%d})"
            return f"{y}-W{w:02d} ({self.start.day} {self.start:%b} – {self.end.day} {self.end:%b})"
        sep = " 至 " if lang == "zh" else " – "
        return f"{self.start.isoformat()}{sep}{self.end.isoformat()}"

    def previous(self) -> Period:
        """The comparison period (环比): the previous month/week, or the same number of days before."""
        if self.grain is not None:
            return make(periods.shift(self.start, self.grain, -1), self.grain)
        return custom(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def last_year(self) -> Period:
        """The same period a year earlier (同比): 52 weeks earlier for a week, else the same dates."""
        if self.grain is not None:
            return make(periods.last_year(self.start, self.grain), self.grain)
        start = periods.last_year(self.start, "month")  # 29 Feb → 28 Feb
        return custom(start, start + dt.timedelta(days=self.days - 1))


def make(start: dt.date, grain: str) -> Period:
    """The month or ISO week starting on ``start``."""
    start = periods.trunc(start, grain)
    end = periods.shift(start, grain) - dt.timedelta(days=1)
    if grain == "month":
        slug = f"{start:%Y-%m}"
    else:
        y, w, _ = start.isocalendar()
        slug = f"{y}-W{w:02d}"
    return Period(start, end, grain, slug)


def custom(start: dt.date, end: dt.date) -> Period:
    return Period(start, end, None, f"{start.isoformat()}_{end.isoformat()}")


def today(timezone: str) -> dt.date:
    """Today's date in the business time zone."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


def parse_as_of(text: str | None) -> dt.date | str | None:
    """``--as-of``: a date, the word ``data``, or None (today)."""
    if text is None or text.strip().lower() == "today":
        return None
    if text.strip().lower() == "data":
        return "data"
    return _date(text, "--as-of")


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-31") from None


def parse(text: str, as_of: dt.date) -> Period:
    """``--period`` → Period; ``as_of`` is the run date that last-week / last-month count back from."""
    t = (text or "").strip()
    low = t.lower()
    if low == "last-month":
        return make(periods.shift(periods.trunc(as_of, "month"), "month", -1), "month")
    if low == "last-week":
        return make(periods.trunc(as_of, "week") - dt.timedelta(weeks=1), "week")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", t)
    if m:
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise UserError(f"--period {t!r}: month {month} is not 1..12; e.g. 2026-10")
        return make(dt.date(year, month, 1), "month")
    m = re.fullmatch(r"(\d{4})-?[Ww](\d{1,2})", t)
    if m:
        year, week = int(m[1]), int(m[2])
        try:
            monday = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise UserError(f"--period {t!r}: {year} has no ISO week {week}; e.g. 2026-W44") from None
        return make(monday, "week")
    if ":" in t:
        a, b = t.split(":", 1)
        start, end = _date(a, "--period start"), _date(b, "--period end")
        if end < start:
            raise UserError(f"--period {t!r} ends before it starts; write FROM:TO with FROM first")
        return custom(start, end)
    raise UserError(f"--period {t!r} is not a period; write one of {EXAMPLES}")
