"""Frequency detection and the arithmetic that follows from it (forecasts/frequency.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from forecasts import frequency as fq

D = dt.date


def days(start: dt.date, n: int, step: int = 1) -> list[dt.date]:
    return [start + dt.timedelta(days=step * k) for k in range(n)]


def test_daily_weekly_monthly_detected_with_their_anchor() -> None:
    assert fq.infer(days(D(2024, 1, 1), 30)) == fq.Frequency("D")
    # 2024-01-03 is a Wednesday (weekday 2): any weekday anchors a weekly file
    assert fq.infer(days(D(2024, 1, 3), 20, 7)) == fq.Frequency("W", 2)
    month_ends = [D(2023, 11, 30), D(2023, 12, 31), D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]
    assert fq.infer(month_ends) == fq.Frequency("M", fq.MONTH_END)
    assert fq.detect([D(2024, m, 1) for m in range(1, 13)]) == "M"
    assert fq.detect([D(2024, m, 15) for m in range(1, 13)]) == "M"


def test_business_days_are_daily() -> None:
    weekdays = [d for d in days(D(2024, 1, 1), 60) if d.weekday() < 5]
    assert fq.detect(weekdays) == "D"


def test_stray_date_in_a_weekly_file_is_named_with_its_row() -> None:
    dates = days(D(2024, 1, 1), 10, 7)   # Mondays, rows 2..11
    dates.insert(4, D(2024, 1, 30))      # a Tuesday at row 6
    with pytest.raises(fq.FrequencyError) as err:
        fq.infer(dates, rows=range(2, 2 + len(dates)))
    assert err.value.rows == [6]
    assert "row 6 (2024-01-30)" in str(err.value) and "Mondays" in str(err.value)


def test_month_end_file_with_one_30th_of_a_31_day_month_is_refused() -> None:
    dates = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 30), D(2024, 4, 30), D(2024, 5, 31)]
    with pytest.raises(fq.FrequencyError) as err:
        fq.infer(dates)
    assert err.value.rows == [3]


def test_dates_three_days_apart_fit_nothing() -> None:
    with pytest.raises(fq.FrequencyError, match="fit no frequency"):
        fq.infer(days(D(2024, 1, 1), 12, 3))


def test_too_few_dates_asks_for_freq_and_freq_is_checked() -> None:
    with pytest.raises(fq.FrequencyError, match="--freq"):
        fq.infer([D(2024, 1, 1), D(2024, 1, 8)])
    assert fq.infer([D(2024, 1, 1), D(2024, 1, 8)], freq="w").code == "W"
    with pytest.raises(fq.FrequencyError, match="--freq W") as err:
        fq.infer(days(D(2024, 1, 1), 10), freq="W")   # daily dates are not weekly
    assert len(err.value.rows) == 8                  # all but the two Mondays
    with pytest.raises(fq.UserError, match="not one of"):
        fq.check_code("Q")


def test_month_arithmetic_keeps_month_ends_and_days() -> None:
    assert fq.date_grid(D(2024, 1, 31), D(2024, 5, 1), "M") == [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31),
                                                                 D(2024, 4, 30)]
    assert fq.future_dates(D(2024, 1, 15), 2, "M") == [D(2024, 2, 15), D(2024, 3, 15)]
    assert fq.add_periods(D(2024, 3, 31), -1, "M") == D(2024, 2, 29)
    assert fq.periods_between(D(2023, 11, 30), D(2024, 2, 29), "M") == 3
    assert fq.future_dates(D(2024, 1, 7), 2, "W") == [D(2024, 1, 14), D(2024, 1, 21)]


def test_periods_follow_the_frequency() -> None:
    assert [fq.season_length(f) for f in "DWM"] == [7, 52, 12]
    assert [fq.annual_lag(f) for f in "DWM"] == [364, 52, 12]
    assert fq.mase_lag("M", n_obs=40) == 12 and fq.mase_lag("M", n_obs=12) == 1
    assert fq.whole_periods(10, "W") == 2 and fq.whole_periods(14, "W") == 2 and fq.whole_periods(1, "M") == 1
    assert fq.periods_from_days(14, "D") == 14
    assert abs(fq.periods_from_days(365.25, "M") - 12) < 1e-9


def test_horizon_in_periods_from_a_config_section() -> None:
    assert fq.horizon({"horizon_days": 84}, "D") == 84 and fq.horizon({"horizon_days": 84}, "W") == 12
    assert fq.horizon({"horizon_weeks": 12}, "W") == 12 and fq.horizon({"horizon_weeks": 12}, "M") == 3
    assert fq.horizon({"horizon_weeks": 12, "horizon_periods": 6}, "M") == 6   # --horizon wins
    assert fq.horizon({}, "M") == 6
