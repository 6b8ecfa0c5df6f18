"""Business time for deadlines: holidays (national, Extremadura's, an office's local ones),
weekends, the summer schedule's edges and both daylight-saving changes, with explicit instants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.business_hours import BusinessHours, Schedule
from desk_api.selfservice.business_days import BusinessCalendar
from desk_api.services.calendar import DeadlineSettings, ServiceCalendar, office_holidays

MADRID = ZoneInfo("Europe/Madrid")
HOUR = 3600
EIGHT_HOURS = 8 * HOUR


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


@pytest.fixture
def hours() -> BusinessHours:
    return BusinessHours(
        Schedule(), BusinessCalendar(office_holidays={"OF-001": [date(2026, 12, 10)]})
    )


def test_spring_forward_keeps_business_hours_whole(hours: BusinessHours) -> None:
    # Friday 27 March 2026, 13:30 CET; clocks go forward on Sunday 29 March.
    start = at(2026, 3, 27, 13, 30)
    due = hours.add_business_time(start, EIGHT_HOURS)
    # Friday 13:30-14:30 and 16:00-18:00 (3 h), Monday 8:30-13:30 (5 h), now in CEST.
    assert due == at(2026, 3, 30, 13, 30)
    assert due == datetime(2026, 3, 30, 11, 30, tzinfo=UTC)  # not 12:30: UTC+2 now
    assert hours.business_seconds(start, due) == EIGHT_HOURS


def test_fall_back_keeps_business_hours_whole(hours: BusinessHours) -> None:
    # Friday 23 October 2026, 13:30 CEST; clocks go back on Sunday 25 October.
    start = at(2026, 10, 23, 13, 30)
    due = hours.add_business_time(start, EIGHT_HOURS)
    assert due == at(2026, 10, 26, 13, 30)
    assert due == datetime(2026, 10, 26, 12, 30, tzinfo=UTC)
    assert hours.business_seconds(start, due) == EIGHT_HOURS


def test_weekend_and_national_holiday_are_skipped(hours: BusinessHours) -> None:
    # Friday 9 October 2026, 17:00; Monday 12 October is the Fiesta Nacional.
    due = hours.add_business_time(at(2026, 10, 9, 17), EIGHT_HOURS)
    assert due == at(2026, 10, 13, 17)  # Fri 1 h, Tue 8:30-14:30 6 h, 16:00-17:00 1 h


def test_dia_de_extremadura_in_summer(hours: BusinessHours) -> None:
    # Monday 7 September 2026, 14:00 (summer: mornings only); Tuesday 8 is Día de Extremadura.
    due = hours.add_business_time(at(2026, 9, 7, 14), EIGHT_HOURS)
    assert due == at(2026, 9, 10, 10)  # Mon 0.5 h, Wed 6 h, Thu 8:30-10:00


def test_summer_schedule_edges(hours: BusinessHours) -> None:
    # 15 September is the last summer day (no afternoon), 16 September has one again.
    assert hours.add_business_time(at(2026, 9, 15, 13, 30), EIGHT_HOURS) == at(2026, 9, 16, 17)
    # 15 June has an afternoon, 16 June (summer) has none.
    assert hours.add_business_time(at(2026, 6, 15, 16), EIGHT_HOURS) == at(2026, 6, 16, 14, 30)
    assert hours.business_seconds(at(2026, 6, 16, 8), at(2026, 6, 16, 20)) == 6 * HOUR
    assert hours.business_seconds(at(2026, 6, 15, 8), at(2026, 6, 15, 20)) == 8 * HOUR


def test_local_holiday_applies_to_its_office_only(hours: BusinessHours) -> None:
    # Wednesday 9 December 2026, 14:00; Thursday 10 is a local holiday in Mérida (OF-001).
    start = at(2026, 12, 9, 14)
    assert hours.add_business_time(start, EIGHT_HOURS, "OF-001") == at(2026, 12, 11, 14)
    assert hours.add_business_time(start, EIGHT_HOURS, "OF-003") == at(2026, 12, 10, 14)
    assert hours.add_business_time(start, EIGHT_HOURS) == at(2026, 12, 10, 14)


def test_offices_feed_gives_each_office_its_local_holidays() -> None:
    found = office_holidays(DeadlineSettings().offices_file)
    assert found["OF-001"] == [date(2026, 5, 21), date(2026, 12, 10)]  # Mérida
    assert found["OF-002"] == [date(2026, 2, 17), date(2026, 6, 24)]  # Badajoz
    calendar = BusinessCalendar(office_holidays=found)
    assert calendar.holiday(date(2026, 6, 24), "OF-002") == "Fiesta local"
    assert calendar.holiday(date(2026, 6, 24), "OF-001") is None
    assert not calendar.is_business_day(date(2026, 9, 8), "OF-002")  # Día de Extremadura


def test_resolution_day_is_counted_from_the_next_opening_day(hours: BusinessHours) -> None:
    # Monday 30 November 2026 + 5 opening days: 1, 2, 3, 4 December, then Monday 7 and
    # Tuesday 8 are holidays, so Wednesday 9 December, at its closing time.
    assert hours.close_after_open_days(at(2026, 11, 30, 10), 5) == at(2026, 12, 9, 18)
    # A hand-off on Saturday with 0 days: Monday's closing time.
    assert hours.close_after_open_days(at(2026, 12, 12, 10), 0) == at(2026, 12, 14, 18)
    # Seven days from Wednesday 9 December in Mérida: 11, 14, 15, 16, 17, 18, 21 December.
    assert hours.close_after_open_days(at(2026, 12, 9, 10), 7, "OF-001") == at(2026, 12, 21, 18)


def test_business_seconds_is_zero_backwards_and_outside_hours(hours: BusinessHours) -> None:
    assert hours.business_seconds(at(2026, 12, 9, 10), at(2026, 12, 9, 9)) == 0
    assert hours.business_seconds(at(2026, 12, 12, 0), at(2026, 12, 13, 23)) == 0  # weekend
    assert hours.add_business_time(at(2026, 12, 12, 10), 0) == at(2026, 12, 12, 10)
    assert hours.add_business_time(at(2026, 12, 12, 10), 1) == datetime(
        2026, 12, 14, 8, 30, 1, tzinfo=MADRID
    )


def test_schedules_per_channel() -> None:
    settings = DeadlineSettings(
        schedules_by_channel={"webchat": Schedule(summer=Schedule().regular)},
        offices_file=DeadlineSettings().offices_file,
    )
    service = ServiceCalendar(settings, BusinessCalendar())
    july = (at(2026, 7, 15, 8), at(2026, 7, 15, 20))  # a summer Wednesday
    assert service.hours("webchat").business_seconds(*july) == 8 * HOUR
    assert service.hours("voz").business_seconds(*july) == 6 * HOUR  # phone: mornings only
    assert service.hours().business_seconds(*july) == 6 * HOUR
