"""Business hours of the phone service, with explicit Madrid datetimes (no clock involved)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.business_hours import BusinessHours, Period, Schedule
from desk_api.selfservice.business_days import BusinessCalendar

MADRID = ZoneInfo("Europe/Madrid")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


@pytest.fixture
def hours() -> BusinessHours:
    return BusinessHours(Schedule(), BusinessCalendar())


def test_winter_weekday_has_morning_and_afternoon(hours: BusinessHours) -> None:
    # Wednesday 9 December 2026.
    assert not hours.is_open(at(2026, 12, 9, 8, 29))
    assert hours.is_open(at(2026, 12, 9, 8, 30))
    assert hours.is_open(at(2026, 12, 9, 14, 29))
    assert not hours.is_open(at(2026, 12, 9, 14, 30))
    assert not hours.is_open(at(2026, 12, 9, 15, 0))
    assert hours.is_open(at(2026, 12, 9, 17, 30))
    assert not hours.is_open(at(2026, 12, 9, 18, 0))
    assert hours.next_opening(at(2026, 12, 9, 15, 0)) == at(2026, 12, 9, 16, 0)
    # Between the two periods the callback is still due today.
    assert hours.next_business_day(at(2026, 12, 9, 15, 0)) == date(2026, 12, 9)


def test_summer_has_no_afternoon(hours: BusinessHours) -> None:
    # Wednesday 15 July 2026: only 8:30-14:30.
    assert hours.is_open(at(2026, 7, 15, 10, 0))
    assert not hours.is_open(at(2026, 7, 15, 17, 0))
    assert hours.next_opening(at(2026, 7, 15, 17, 0)) == at(2026, 7, 16, 8, 30)
    assert hours.next_business_day(at(2026, 7, 15, 17, 0)) == date(2026, 7, 16)
    # The summer schedule's edges: 16 June and 15 September are summer, 15 June is not.
    assert not hours.is_open(at(2026, 6, 16, 16, 30))
    assert not hours.is_open(at(2026, 9, 15, 16, 30))
    assert hours.is_open(at(2026, 6, 15, 16, 30))
    assert hours.is_open(at(2026, 9, 16, 16, 30))


def test_friday_evening_is_called_back_on_monday(hours: BusinessHours) -> None:
    friday = at(2026, 12, 11, 18, 5)
    assert not hours.is_open(friday)
    assert hours.next_business_day(friday) == date(2026, 12, 14)
    assert hours.next_opening(friday) == at(2026, 12, 14, 8, 30)


def test_weekend_is_closed(hours: BusinessHours) -> None:
    saturday = at(2026, 12, 12, 11, 0)
    assert not hours.is_open(saturday)
    assert hours.next_business_day(saturday) == date(2026, 12, 14)


def test_early_morning_is_called_back_the_same_day(hours: BusinessHours) -> None:
    assert not hours.is_open(at(2026, 12, 15, 7, 0))
    assert hours.next_business_day(at(2026, 12, 15, 7, 0)) == date(2026, 12, 15)
    assert hours.next_opening(at(2026, 12, 15, 7, 0)) == at(2026, 12, 15, 8, 30)


def test_dia_de_extremadura_is_a_holiday(hours: BusinessHours) -> None:
    # Tuesday 8 September 2026 (regional holiday; summer hours otherwise).
    assert not hours.is_open(at(2026, 9, 8, 10, 0))
    assert hours.next_business_day(at(2026, 9, 7, 19, 0)) == date(2026, 9, 9)
    assert hours.next_opening(at(2026, 9, 8, 10, 0)) == at(2026, 9, 9, 8, 30)


def test_christmas_eve_and_christmas_are_closed(hours: BusinessHours) -> None:
    # Thursday 24 December 2026 (closed day), Friday 25 (holiday), then the weekend.
    assert hours.is_open(at(2026, 12, 23, 10, 0))
    assert not hours.is_open(at(2026, 12, 24, 10, 0))
    assert hours.next_business_day(at(2026, 12, 23, 18, 30)) == date(2026, 12, 28)
    assert hours.next_opening(at(2026, 12, 24, 10, 0)) == at(2026, 12, 28, 8, 30)


def test_local_holidays_come_from_the_calendar() -> None:
    hours = BusinessHours(Schedule(), BusinessCalendar([date(2026, 12, 10)]))
    assert not hours.is_open(at(2026, 12, 10, 10, 0))
    assert hours.next_business_day(at(2026, 12, 9, 19, 0)) == date(2026, 12, 11)


def test_any_timezone_is_read_in_madrid_time(hours: BusinessHours) -> None:
    # 7:45 UTC on a winter day is 8:45 in Madrid; in summer 6:45 UTC is 8:45.
    assert hours.is_open(datetime(2026, 12, 9, 7, 45, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 7, 15, 6, 45, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 7, 15, 6, 15, tzinfo=UTC))
    with pytest.raises(ValueError):
        hours.is_open(datetime(2026, 12, 9, 10, 0))


class _Env(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUA_TEST_", env_nested_delimiter="__")
    hours: Schedule = Schedule()


def test_schedule_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUA_TEST_HOURS__REGULAR", '["09:00-14:00"]')
    monkeypatch.setenv("TUA_TEST_HOURS__CLOSED_DAYS", '["12-24"]')
    monkeypatch.setenv("TUA_TEST_HOURS__WEEKDAYS", "[0, 1, 2, 3, 4, 5]")
    schedule = _Env().hours
    assert schedule.regular == (Period(time(9), time(14)),)
    assert schedule.closed_days == frozenset({(12, 24)})
    hours = BusinessHours(schedule, BusinessCalendar())
    assert hours.is_open(at(2026, 12, 12, 10, 0))  # a Saturday
    assert hours.is_open(at(2026, 12, 31, 10, 0))  # no longer closed


@pytest.mark.parametrize(
    "bad",
    [
        {"regular": ["14:30-08:30"]},
        {"regular": ["08:30-14:30", "14:00-18:00"]},
        {"regular": ["8.30 to 14.30"]},
        {"closed_days": ["12-32"]},
        {"timezone": "Europe/Merida"},
        {"weekdays": [7]},
        {"weekdays": []},
    ],
)
def test_bad_schedules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(bad)
