"""Deadlines in business days (Ley 39/2015, art. 30) with the Spanish/Extremadura calendar."""

from __future__ import annotations

from datetime import date

import pytest

from desk_api.selfservice.business_days import (
    BusinessCalendar,
    CaseSettings,
    add_business_days,
    registration_day,
    spanish_date,
)

CALENDAR = BusinessCalendar()


def test_weekends_are_skipped_and_the_count_starts_the_next_day() -> None:
    friday = date(2026, 10, 2)
    assert add_business_days(friday, 0, CALENDAR) == friday
    assert add_business_days(friday, 1, CALENDAR) == date(2026, 10, 5)  # Monday
    assert add_business_days(friday, 5, CALENDAR) == date(2026, 10, 9)
    assert add_business_days(date(2026, 10, 3), 1, CALENDAR) == date(2026, 10, 5)  # Saturday


def test_the_dia_de_extremadura_is_not_a_business_day() -> None:
    assert CALENDAR.holiday(date(2026, 9, 8)) == "Día de Extremadura"
    assert not CALENDAR.is_business_day(date(2026, 9, 8))  # a Tuesday
    friday = date(2026, 9, 4)
    assert add_business_days(friday, 1, CALENDAR) == date(2026, 9, 7)
    assert add_business_days(friday, 2, CALENDAR) == date(2026, 9, 9)


def test_national_holidays_and_the_year_change() -> None:
    assert CALENDAR.holiday(date(2026, 12, 25)) is not None
    assert CALENDAR.holiday(date(2026, 12, 7)) is not None  # Monday after the Constitution day
    wednesday = date(2026, 12, 23)
    assert add_business_days(wednesday, 5, CALENDAR) == date(2026, 12, 31)
    assert add_business_days(wednesday, 6, CALENDAR) == date(2027, 1, 4)  # 1 Jan, weekend
    assert add_business_days(wednesday, 8, CALENDAR) == date(2027, 1, 7)  # 6 Jan (Reyes)


def test_fifteen_business_days_over_the_december_bridge() -> None:
    monday = date(2026, 11, 30)
    # 7 and 8 December are holidays: 1-4, 9-11, 14-18, 21-23.
    assert add_business_days(monday, 15, CALENDAR) == date(2026, 12, 23)


def test_local_holidays_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUA_CASES_LOCAL_HOLIDAYS", '["2026-09-01", "2026-12-10"]')
    monkeypatch.setenv("TUA_CASES_COMPLAINT_DAYS", "20")
    settings = CaseSettings()
    assert settings.days_for("queja") == 20 and settings.days_for("sugerencia") == 15
    local = BusinessCalendar(settings.local_holidays)
    assert local.holiday(date(2026, 9, 1)) == "Fiesta local"
    monday = date(2026, 8, 31)
    assert add_business_days(monday, 1, CALENDAR) == date(2026, 9, 1)
    assert add_business_days(monday, 1, local) == date(2026, 9, 2)
    assert add_business_days(monday, 2, local) == date(2026, 9, 3)  # 8 Sep is still a holiday
    assert add_business_days(monday, 6, local) == date(2026, 9, 10)


def test_bad_settings_fail_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUA_CASES_LOCAL_HOLIDAYS", '["2026-13-01"]')
    with pytest.raises(ValueError):
        CaseSettings()
    monkeypatch.delenv("TUA_CASES_LOCAL_HOLIDAYS")
    monkeypatch.setenv("TUA_CASES_COMPLAINT_DAYS", "0")
    with pytest.raises(ValueError):
        CaseSettings()


def test_a_submission_on_a_non_business_day_counts_from_the_next_one() -> None:
    assert registration_day(date(2026, 11, 28), CALENDAR) == date(2026, 11, 30)  # Saturday
    assert registration_day(date(2026, 12, 7), CALENDAR) == date(2026, 12, 9)  # 7 and 8 Dec
    assert registration_day(date(2026, 12, 9), CALENDAR) == date(2026, 12, 9)
    with pytest.raises(ValueError):
        add_business_days(date(2026, 12, 9), -1, CALENDAR)


def test_spanish_dates() -> None:
    assert spanish_date(date(2026, 12, 15)) == "15 de diciembre de 2026"
    assert spanish_date(date(2027, 1, 4)) == "4 de enero de 2027"
