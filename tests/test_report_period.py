"""--period parsing: calendar months, ISO weeks (Monday start), ranges, and the relative forms."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.errors import UserError
from reports.period import parse, parse_as_of

AS_OF = dt.date(2026, 11, 5)  # a Thursday


@pytest.mark.parametrize(("text", "start", "end", "grain", "slug"), [
    ("2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month", "2026-10"),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "month", "2024-02"),
    ("2026-W44", dt.date(2026, 10, 26), dt.date(2026, 11, 1), "week", "2026-W44"),
    ("2026w1", dt.date(2025, 12, 29), dt.date(2026, 1, 4), "week", "2026-W01"),  # ISO week 1 starts in 2025
    ("2026-10-01:2026-10-15", dt.date(2026, 10, 1), dt.date(2026, 10, 15), None, "2026-10-01_2026-10-15"),
    ("last-month", dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month", "2026-10"),
    ("last-week", dt.date(2026, 10, 26), dt.date(2026, 11, 1), "week", "2026-W44"),
])
def test_forms(text, start, end, grain, slug) -> None:
    p = parse(text, AS_OF)
    assert (p.start, p.end, p.grain, p.slug) == (start, end, grain, slug)


def test_relative_periods_are_the_last_complete_ones() -> None:
    assert parse("last-month", dt.date(2026, 11, 1)).slug == "2026-10"  # run on the 1st: the month just ended
    assert parse("last-month", dt.date(2026, 1, 31)).slug == "2025-12"
    assert parse("last-week", dt.date(2026, 11, 2)).slug == "2026-W44"  # a Monday: the week just ended
    assert parse("last-week", dt.date(2026, 11, 1)).slug == "2026-W43"  # a Sunday: its week is not over


def test_comparison_periods() -> None:
    month = parse("2026-03", AS_OF)
    assert month.previous().slug == "2026-02" and month.last_year().slug == "2025-03"
    week = parse("2026-W44", AS_OF)
    assert week.previous().slug == "2026-W43" and week.last_year().start == dt.date(2025, 10, 27)  # 52 weeks
    rng = parse("2024-02-20:2024-02-29", AS_OF)
    assert (rng.previous().start, rng.previous().end) == (dt.date(2024, 2, 10), dt.date(2024, 2, 19))
    assert (rng.last_year().start, rng.last_year().end) == (dt.date(2023, 2, 20), dt.date(2023, 3, 1))


def test_labels() -> None:
    assert parse("2026-10", AS_OF).label("zh") == "2026年10月"
    assert parse("2026-10", AS_OF).label("en") == "October 2026"
    assert parse("2026-W44", AS_OF).label("zh") == "2026年第44周(10-26 至 11-01)"


@pytest.mark.parametrize(("text", "message"), [
    ("2026-13", "month 13"), ("2026-W54", "no ISO week 54"), ("2026-10-15:2026-10-01", "ends before it starts"),
    ("yesterday", "is not a period"), ("2026-10-01:soon", "is not a date"), ("", "is not a period"),
])
def test_bad_periods_say_what_to_write(text, message) -> None:
    with pytest.raises(UserError, match=message):
        parse(text, AS_OF)


def test_as_of() -> None:
    assert parse_as_of(None) is None and parse_as_of("today") is None and parse_as_of("data") == "data"
    assert parse_as_of("2026-11-05") == AS_OF
    with pytest.raises(UserError, match="--as-of"):
        parse_as_of("05/11/2026")
