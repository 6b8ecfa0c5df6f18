"""Opening hours of the phone service: when a person can take a call, and which day a
voicemail left out of hours is called back.

Defaults: Monday to Friday 8:30–14:30 and 16:00–18:00; from 16 June to 15 September only
8:30–14:30 (jornada de verano); Europe/Madrid time; closed on the national, Extremadura and
configured local holidays (``BusinessCalendar``) and on the configured closed days (24 and 31
December by default: the offices of the Spanish administrations close on those days although
they are business days for legal deadlines — check the year's calendar before going live).

The same object measures business time for the desk's deadlines (``desk_api.services.deadlines``):
``business_seconds`` between two instants and ``add_business_time``, per office (the office's
local holidays). Opening periods are Madrid wall-clock times turned into instants day by day, so
an hour is an hour across the daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from desk_api.selfservice.business_days import BusinessCalendar

SEARCH_DAYS = 400  # more than a year: every schedule with an opening day finds it


@dataclass(frozen=True, order=True)
class Period:
    """One opening period of a day, ``start`` included, ``end`` excluded."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _period(value: Any) -> Any:
    """``"08:30-14:30"`` → ``Period``; what settings and environment variables hold."""
    if not isinstance(value, str):
        return value
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError as exc:
        raise ValueError(f"opening period {value!r} is not HH:MM-HH:MM") from exc
    if start >= end:
        raise ValueError(f"opening period {value!r} ends before it starts")
    return Period(start, end)


def _month_day(value: Any) -> Any:
    """``"06-16"`` → ``(6, 16)``: a day of every year."""
    if not isinstance(value, str):
        return value
    try:
        month, day = (int(part) for part in value.split("-"))
        date(2024, month, day)  # a leap year: 02-29 is a real day
    except ValueError as exc:
        raise ValueError(f"day {value!r} is not MM-DD") from exc
    return (month, day)


OpeningPeriod = Annotated[Period, BeforeValidator(_period)]
MonthDay = Annotated[tuple[int, int], BeforeValidator(_month_day)]


class Schedule(BaseModel):
    """The weekly schedule; in settings as ``TUA_VOICE_HOURS__REGULAR='["08:30-14:30"]'``."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "Europe/Madrid"
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    regular: tuple[OpeningPeriod, ...] = (
        Period(time(8, 30), time(14, 30)),
        Period(time(16, 0), time(18, 0)),
    )
    # Summer hours, from ``summer_start`` to ``summer_end`` inclusive (MM-DD).
    summer: tuple[OpeningPeriod, ...] = (Period(time(8, 30), time(14, 30)),)
    summer_start: MonthDay = (6, 16)
    summer_end: MonthDay = (9, 15)
    closed_days: frozenset[MonthDay] = frozenset({(12, 24), (12, 31)})

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: frozenset[int]) -> frozenset[int]:
        if not value <= set(range(7)):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return value

    @field_validator("regular", "summer")
    @classmethod
    def _sorted(cls, value: tuple[Period, ...]) -> tuple[Period, ...]:
        periods = tuple(sorted(value))
        for earlier, later in pairwise(periods):
            if later.start < earlier.end:
                raise ValueError(f"opening periods {earlier} and {later} overlap")
        return periods

    @model_validator(mode="after")
    def _opens_sometime(self) -> Schedule:
        if not self.weekdays or not (self.regular or self.summer):
            raise ValueError("the schedule never opens")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def in_summer(self, day: date) -> bool:
        key = (day.month, day.day)
        if self.summer_start <= self.summer_end:
            return self.summer_start <= key <= self.summer_end
        return key >= self.summer_start or key <= self.summer_end  # a period across New Year


class BusinessHours:
    """Answers "are we open?" for a schedule and a holiday calendar."""

    def __init__(self, schedule: Schedule, calendar: BusinessCalendar) -> None:
        self.schedule = schedule
        self.calendar = calendar
        self._zone = schedule.zone

    def periods(self, day: date, office: str | None = None) -> tuple[Period, ...]:
        """The day's opening periods; none on weekends, holidays and closed days."""
        if (
            day.weekday() not in self.schedule.weekdays
            or (day.month, day.day) in self.schedule.closed_days
            or self.calendar.holiday(day, office) is not None
        ):
            return ()
        return self.schedule.summer if self.schedule.in_summer(day) else self.schedule.regular

    def is_open(self, now: datetime) -> bool:
        local = self._local(now)
        moment = local.time().replace(tzinfo=None)
        return any(p.start <= moment < p.end for p in self.periods(local.date()))

    def next_opening(self, now: datetime) -> datetime:
        """When the next opening period starts (after ``now``; if open now, the next one)."""
        local = self._local(now)
        for day in self._days_from(local.date()):
            for period in self.periods(day):
                start = datetime.combine(day, period.start, tzinfo=self._zone)
                if start > local:
                    return start
        raise ValueError("the schedule does not open within a year")  # pragma: no cover

    def next_business_day(self, now: datetime) -> date:
        """The day a callback is due: the first opening day whose hours have not ended yet at
        ``now`` (a voicemail left at 7:00 on a Tuesday is called back that Tuesday; one left on
        Friday at 18:05, on Monday)."""
        local = self._local(now)
        moment = local.time().replace(tzinfo=None)
        for day in self._days_from(local.date()):
            periods = self.periods(day)
            if periods and (day > local.date() or moment < periods[-1].end):
                return day
        raise ValueError("the schedule does not open within a year")  # pragma: no cover

    # --- business time (deadlines) ----------------------------------------------------------

    def open_spans(self, day: date, office: str | None = None) -> list[tuple[datetime, datetime]]:
        """The day's opening periods as UTC instants (start included, end excluded)."""
        return [
            (
                datetime.combine(day, p.start, tzinfo=self._zone).astimezone(UTC),
                datetime.combine(day, p.end, tzinfo=self._zone).astimezone(UTC),
            )
            for p in self.periods(day, office)
        ]

    def business_seconds(self, start: datetime, end: datetime, office: str | None = None) -> int:
        """Seconds of opening time between two instants (0 if ``end`` is not after ``start``)."""
        if end <= start:
            return 0
        start, end = self._local(start).astimezone(UTC), self._local(end).astimezone(UTC)
        total = 0.0
        day, last = start.astimezone(self._zone).date(), end.astimezone(self._zone).date()
        while day <= last:
            for opens, closes in self.open_spans(day, office):
                overlap = (min(closes, end) - max(opens, start)).total_seconds()
                total += max(0.0, overlap)
            day += timedelta(days=1)
        return round(total)

    def add_business_time(
        self, start: datetime, seconds: float, office: str | None = None
    ) -> datetime:
        """The instant when ``seconds`` of opening time have passed since ``start`` (UTC).

        Zero seconds give ``start`` itself; otherwise the result always falls inside (or at the
        end of) an opening period."""
        moment = self._local(start).astimezone(UTC)
        if seconds <= 0:
            return moment
        left = float(seconds)
        for day in self._days_from(moment.astimezone(self._zone).date()):
            for opens, closes in self.open_spans(day, office):
                if closes <= moment:
                    continue
                begin = max(opens, moment)
                available = (closes - begin).total_seconds()
                if left <= available:
                    return begin + timedelta(seconds=left)
                left -= available
        raise ValueError("the schedule does not open within a year")  # pragma: no cover

    def close_after_open_days(
        self, start: datetime, days: int, office: str | None = None
    ) -> datetime:
        """The closing time of the ``days``-th opening day after the day of ``start`` (counted
        from the next day, like a legal period; 0: the closing time of the first opening day
        from ``start``'s own day on)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = self._local(start).date()
        if days == 0:
            while not self.periods(day, office):
                day += timedelta(days=1)
        for _ in range(days):
            day += timedelta(days=1)
            while not self.periods(day, office):
                day += timedelta(days=1)
        return self.open_spans(day, office)[-1][1]

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("business hours need a timezone-aware datetime")
        return now.astimezone(self._zone)

    @staticmethod
    def _days_from(first: date) -> Iterator[date]:
        for offset in range(SEARCH_DAYS):
            yield first + timedelta(days=offset)
