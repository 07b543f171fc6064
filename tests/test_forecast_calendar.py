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


def test_another_country_recurs_under_stable_names_and_sets_working_days():
    us = calendar.key(calendar.spec("us"))
    table = calendar.holiday_table(D(2024, 1, 1), D(2025, 12, 31), 0, us)
    assert {"US_independence_day", "US_christmas_day"} <= _names_in(table, 2024) & _names_in(table, 2025)
    assert "spring_festival" not in set(table["holiday"]) and "double11_peak" not in set(table["holiday"])
    # 4 July 2024 is a Thursday off; Friday 5 July a working day; Saturday off
    assert list(calendar.working_days([D(2024, 7, 4), D(2024, 7, 5), D(2024, 7, 6)], us)) == [0.0, 1.0, 0.0]
    # China stays the default: 2024-02-04 was a make-up working Sunday (调休)
    assert calendar.working_days([D(2024, 2, 4)])[0] == 1.0 and calendar.spec(None, None) is None


def test_a_planners_events_are_added_with_their_windows(tmp_path):
    ev = tmp_path / "promos.csv"
    ev.write_text("date,name,lower_window,upper_window\n2024-03-08,women_day,-2,1\n2025-03-08,women_day,,\n"
                  "2025-09-01\n", encoding="utf-8")
    cal = calendar.spec(None, str(ev))
    assert cal["country"] == "CN" and cal["events"][0] == ["event_women_day", "2024-03-08", -2, 1]
    table = calendar.holiday_table(D(2024, 1, 1), D(2025, 12, 31), 0, calendar.key(cal))
    ours = table[table["holiday"].str.startswith("event_")]
    assert len(ours) == 3 and set(ours["holiday"]) == {"event_women_day", "event_event"}
    assert ours["lower_window"].tolist() == [-2, 0, 0]
    assert "spring_festival" in set(table["holiday"])  # China's table is still there


@pytest.mark.parametrize("body, message", [
    ("name\nsale\n", "no date column"),
    ("date\n2024-13-01\n", "row 2, column date"),
    ("date,upper_window\n2024-01-01,-1\n", "row 2, column upper_window"),
    ("date,lower_window\n2024-01-01,two\n", "not a whole number"),
])
def test_bad_events_files_name_the_row(tmp_path, body, message):
    from aftersales.errors import UserError

    ev = tmp_path / "e.csv"
    ev.write_text(body, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        calendar.spec(None, str(ev))
    with pytest.raises(UserError, match="no holiday calendar"):
        calendar.spec("XX")


def test_the_workload_model_uses_the_calendar_it_is_given():
    from forecasts import workload

    us = workload.calendar_key({"calendar": {"country": "US"}})
    names = set(workload._holiday_rows(us, D(2024, 1, 1), D(2024, 12, 31), 0)[0]["holiday"])
    assert "US_thanksgiving_day" in names and "national_day" not in names
    china = workload.calendar_key({})
    assert "national_day" in set(workload._holiday_rows(china, D(2024, 1, 1), D(2024, 12, 31), 0)[0]["holiday"])
