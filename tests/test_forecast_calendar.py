"""The business calendar: stable recurring names, make-up working days, the rule beyond the package."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from chinese_calendar import constants as cn

from forecasts import calendar

D = dt.date


def _names_in(table, year: int) -> set[str]:
    return set(table[table["ds"].dt.year == year]["holiday"])


def test_every_event_recurs_under_the_same_name_each_year():
    # 2024-2026 come from chinese_calendar, 2027-2028 from the rule: same names either way.
    table = calendar.holiday_table(D(2024, 1, 1), D(2028, 12, 31))
    for year in range(2024, 2029):
        assert _names_in(table, year) == set(calendar.EVENT_NAMES), year
    assert not any(re.search(r"\d{4}", n) for n in calendar.EVENT_NAMES)  # no one-off, year-specific names
    assert table["lower_window"].eq(0).all() and table["upper_window"].eq(0).all()


def test_lunar_new_year_list_agrees_with_chinese_calendar():
    for year, day in calendar.LUNAR_NEW_YEAR.items():
        if calendar.calendar_source(year) == "chinese_calendar":
            assert cn.holidays.get(day) == "Spring Festival", year


def test_segments_sit_where_the_issue_puts_them():
    table = calendar.holiday_table(D(2025, 1, 1), D(2025, 12, 31))
    table = table[table["ds"].dt.year == 2025]  # the table also covers the years either side
    days = lambda name: sorted(table[table["holiday"] == name]["ds"].dt.date)  # noqa: E731
    assert days("double11_peak") == [D(2025, 11, 10), D(2025, 11, 11), D(2025, 11, 12)]
    wave = days("double11_wave_w1") + days("double11_wave_w2") + days("double11_wave_w3")
    assert wave[0] == D(2025, 11, 13) and len(wave) == 21  # three weeks of after-sales wave
    assert days("double11_presale")[0] < D(2025, 11, 1) <= days("double11_first_wave")[0]
    # Spring Festival 2025: statutory days 28 Jan - 4 Feb; shutdown before, return after.
    sf = days("spring_festival")
    assert sf[0] == D(2025, 1, 28) and sf[-1] == D(2025, 2, 4)
    assert days("spring_festival_shutdown_w1")[-1] == D(2025, 1, 27)
    assert days("spring_festival_return_w1")[0] == D(2025, 2, 5)
    assert days("national_day")[0] == D(2025, 10, 1)


@pytest.mark.parametrize("day, working", [
    (D(2024, 2, 4), 1.0),    # Sunday made a working day (调休) before the Spring Festival
    (D(2024, 10, 12), 1.0),  # Saturday made a working day after National Day
    (D(2024, 10, 1), 0.0),   # National Day
    (D(2024, 3, 2), 0.0),    # an ordinary Saturday
    (D(2024, 3, 4), 1.0),    # an ordinary Monday
    (D(2027, 2, 8), 0.0),    # beyond the package: Spring Festival by the rule (LNY 6 Feb 2027)
    (D(2027, 10, 4), 0.0),   # National Day by the rule
    (D(2027, 3, 1), 1.0),    # ordinary Monday by the rule
])
def test_working_day_regressor(day, working):
    assert calendar.working_days([day])[0] == working


def test_years_beyond_the_lunar_lists_warn():
    assert calendar.calendar_source(2031) == "rule"
    with pytest.warns(calendar.CalendarGapWarning):
        calendar.statutory_holidays(2031)
