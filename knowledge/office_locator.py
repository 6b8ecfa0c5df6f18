"""The nearest offices to a point, whether each is open now, and the sentences the bot prints.

Opening hours come from the offices feed (``Office.hours``)::

    {"regular": {"mon": [["08:00", "15:00"]], ..., "sun": []},
     "summer": {"from": "06-16", "to": "09-15", "week": {...}}}   # optional, bounds inclusive

A day is closed when it is a national or Extremadura holiday (the ``holidays`` package) or one of
the office's ``local_holidays``. Times are Europe/Madrid; an instant must be timezone-aware.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from knowledge.feeds import Office
from knowledge.geo import fold_place, haversine_km

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400  # how far ahead to look for the next opening (a year and some holidays)

DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTH_NAMES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")


class HoursFormatError(ValueError):
    """An office's ``hours`` do not follow the feed's format; the message says where."""


# -- hours -----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end`` (minutes after midnight; ``end`` may be 1440)."""

    start: int
    end: int

    @property
    def text(self) -> str:
        return f"de {format_clock(self.start)} a {format_clock(self.end)}"


Week = tuple[tuple[Interval, ...], ...]  # seven days, Monday first


@dataclass(frozen=True)
class SummerHours:
    start: tuple[int, int]  # (month, day), inclusive
    end: tuple[int, int]  # inclusive; before ``start`` when the period wraps the year end
    week: Week

    def applies(self, day: date) -> bool:
        today = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= today <= self.end
        return today >= self.start or today <= self.end


@dataclass(frozen=True)
class WeeklyHours:
    regular: Week
    summer: SummerHours | None = None

    @classmethod
    def parse(cls, hours: Mapping[str, object]) -> WeeklyHours:
        """The feed's ``hours`` object; raises HoursFormatError when it is not usable."""
        regular = hours.get("regular")
        if not isinstance(regular, Mapping):
            raise HoursFormatError("hours.regular: missing or not an object")
        summer = hours.get("summer")
        if summer is None:
            return cls(_parse_week(regular, "hours.regular"))
        week = summer.get("week") if isinstance(summer, Mapping) else None
        if not isinstance(summer, Mapping) or not isinstance(week, Mapping):
            raise HoursFormatError("hours.summer: needs from, to and week")
        return cls(
            _parse_week(regular, "hours.regular"),
            SummerHours(
                _parse_month_day(summer.get("from"), "hours.summer.from"),
                _parse_month_day(summer.get("to"), "hours.summer.to"),
                _parse_week(week, "hours.summer.week"),
            ),
        )

    def for_day(self, day: date) -> tuple[Interval, ...]:
        """The scheduled intervals of that date, before holidays are considered."""
        week = self.summer.week if self.summer and self.summer.applies(day) else self.regular
        return week[day.weekday()]


def _parse_week(week: Mapping[str, object], where: str) -> Week:
    days = []
    for name in WEEKDAYS:
        raw = week.get(name, [])
        if not isinstance(raw, list):
            raise HoursFormatError(f"{where}.{name}: not a list of intervals")
        intervals = []
        for item in raw:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                raise HoursFormatError(f"{where}.{name}: {item!r} is not [start, end]")
            start = _parse_clock(item[0], f"{where}.{name}")
            end = _parse_clock(item[1], f"{where}.{name}")
            if end <= start:
                raise HoursFormatError(f"{where}.{name}: {item!r} ends before it starts")
            intervals.append(Interval(start, end))
        intervals.sort()
        for first, second in itertools.pairwise(intervals):
            if second.start < first.end:
                raise HoursFormatError(f"{where}.{name}: intervals overlap")
        days.append(tuple(intervals))
    return tuple(days)


def _parse_clock(value: object, where: str) -> int:
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise HoursFormatError(f"{where}: {value!r} is not HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise HoursFormatError(f"{where}: {value!r} is not a time of day")
    return hour * 60 + minute


def _parse_month_day(value: object, where: str) -> tuple[int, int]:
    match = _MONTH_DAY.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise HoursFormatError(f"{where}: {value!r} is not MM-DD")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)  # a leap year, so 02-29 is accepted
    except ValueError as exc:
        raise HoursFormatError(f"{where}: {value!r} is not a date") from exc
    return month, day


# -- holidays --------------------------------------------------------------------------------


class HolidayCalendar(Protocol):
    def holiday(self, day: date) -> str | None:
        """The holiday's name when ``day`` is a public holiday, else None."""
        ...


class SpanishHolidays:
    """National and regional holidays (``holidays`` package), in Spanish, cached by year."""

    def __init__(self, subdivision: str = "EX", language: str = "es") -> None:
        self.subdivision = subdivision
        self.language = language
        self._years: dict[int, Mapping[date, str]] = {}
        self._lock = threading.Lock()

    def holiday(self, day: date) -> str | None:
        with self._lock:
            if day.year not in self._years:
                import holidays  # ~0.1 s; only when hours are first asked for

                self._years[day.year] = holidays.country_holidays(
                    "ES", subdiv=self.subdivision, years=day.year, language=self.language
                )
            return self._years[day.year].get(day)


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaySchedule:
    day: date
    intervals: tuple[Interval, ...]  # empty when closed all day
    holiday: str | None = None  # the public holiday's name
    local_holiday: bool = False  # one of the office's local holidays


@dataclass(frozen=True)
class OpeningStatus:
    office_id: str
    at: datetime  # Europe/Madrid
    today: DaySchedule
    open_now: bool
    closes_at: datetime | None = None  # when open now: the end of this opening
    next_opening: datetime | None = None  # when closed now: the next time it opens
    hours_known: bool = True


@dataclass(frozen=True)
class NearbyOffice:
    office: Office
    distance_km: float

    @property
    def distance_text(self) -> str:
        return format_distance(self.distance_km)


# -- the locator -----------------------------------------------------------------------------


class OfficeLocator:
    """Offices by distance, and their opening status at an instant."""

    def __init__(self, offices: Iterable[Office], calendar: HolidayCalendar | None = None) -> None:
        self.offices = list(offices)
        self.calendar: HolidayCalendar = calendar if calendar is not None else SpanishHolidays()
        self._by_id = {o.id: o for o in self.offices}
        self._hours: dict[str, WeeklyHours | None] = {}
        self._search_text = {o.id: _search_text(o) for o in self.offices}

    def get(self, office_id: str) -> Office | None:
        return self._by_id.get(office_id)

    def nearest(
        self, lat: float, lon: float, k: int = 3, service: str | None = None
    ) -> list[NearbyOffice]:
        """The ``k`` offices nearest to the point (great-circle km), nearest first.

        ``service`` keeps offices whose type, name or a service has a word starting with it,
        accents and case ignored ("registro", "empleo", "PAC", "especializada").
        """
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"not a coordinate: {lat}, {lon}")
        candidates = self.offices
        if service and service.strip():
            pattern = re.compile(r"\b" + re.escape(fold_place(service.strip())))
            candidates = [o for o in candidates if pattern.search(self._search_text[o.id])]
        ranked = sorted(
            (NearbyOffice(o, haversine_km(lat, lon, o.lat, o.lon)) for o in candidates),
            key=lambda n: (n.distance_km, n.office.id),
        )
        return ranked[: max(0, k)]

    def hours(self, office: Office) -> WeeklyHours | None:
        """The office's parsed hours; None when the feed has none usable."""
        if office.id not in self._hours:
            try:
                self._hours[office.id] = WeeklyHours.parse(office.hours)
            except HoursFormatError:
                self._hours[office.id] = None
        return self._hours[office.id]

    def day_schedule(self, office: Office, day: date) -> DaySchedule:
        """What the office opens on that date, holidays included."""
        if day.isoformat() in office.local_holidays:
            return DaySchedule(day, (), local_holiday=True)
        name = self.calendar.holiday(day)
        if name:
            return DaySchedule(day, (), holiday=name)
        hours = self.hours(office)
        return DaySchedule(day, hours.for_day(day) if hours else ())

    def status(self, office: Office, at: datetime) -> OpeningStatus:
        """Open now? Until when? If closed, when does it next open?"""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("the instant must be timezone-aware")
        at = at.astimezone(MADRID)
        today = self.day_schedule(office, at.date())
        if self.hours(office) is None:
            return OpeningStatus(office.id, at, today, open_now=False, hours_known=False)
        second = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
        for position, interval in enumerate(today.intervals):
            if interval.start * 60 <= second < interval.end * 60:
                end = interval.end
                for following in today.intervals[position + 1 :]:  # back-to-back intervals
                    if following.start != end:
                        break
                    end = following.end
                return OpeningStatus(
                    office.id, at, today, open_now=True, closes_at=_at(today.day, end)
                )
        return OpeningStatus(
            office.id, at, today, open_now=False, next_opening=self._next_opening(office, at)
        )

    def describe(self, office: Office, at: datetime) -> str:
        """``describe_status(self.status(office, at))``."""
        return describe_status(self.status(office, at))

    def _next_opening(self, office: Office, at: datetime) -> datetime | None:
        minute = at.hour * 60 + at.minute + (1 if at.second or at.microsecond else 0)
        for offset in range(SEARCH_DAYS):
            day = at.date() + timedelta(days=offset)
            for interval in self.day_schedule(office, day).intervals:
                if offset or interval.start >= minute:
                    return _at(day, interval.start)
        return None


def _at(day: date, minutes: int) -> datetime:
    # Wall-clock arithmetic: an office opening at 8:00 opens at 8:00 on DST days too.
    return datetime(day.year, day.month, day.day, tzinfo=MADRID) + timedelta(minutes=minutes)


def _search_text(office: Office) -> str:
    return fold_place(" | ".join([office.type or "", office.name, *office.services]))


# -- Spanish text ----------------------------------------------------------------------------


def format_clock(minutes: int) -> str:
    """Minutes after midnight → "8:00", "16:30", "24:00"."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def at_clock(minutes: int) -> str:
    """ "a las 8:00", "a la 1:30" (one o'clock is singular in Spanish)."""
    article = "la" if minutes // 60 == 1 else "las"
    return f"a {article} {format_clock(minutes)}"


def format_intervals(intervals: Sequence[Interval]) -> str:
    """ "de 8:00 a 15:00 y de 16:00 a 18:00"."""
    parts = [i.text for i in intervals]
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} y {parts[-1]}"


def format_day(day: date) -> str:
    """ "lunes 9 de septiembre"."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} de {MONTH_NAMES[day.month - 1]}"


def format_distance(km: float) -> str:
    """ "a 350 m", "a 1,2 km", "a 23 km" (Spanish decimal comma)."""
    if km < 0.05:
        return "a menos de 50 m"
    metres = round(km * 100) * 10
    if metres < 1000:
        return f"a {metres} m"
    if km < 9.95:
        return f"a {km:.1f} km".replace(".", ",")
    return f"a {round(km)} km"


def describe_opening(opening: datetime, now: datetime) -> str:
    """ "Abre el lunes 9 de septiembre a las 8:00", "Abre mañana, martes 10 de …, a las 8:00"."""
    minutes = opening.hour * 60 + opening.minute
    if opening.date() == now.date():
        return f"Abre hoy {at_clock(minutes)}"
    if opening.date() == now.date() + timedelta(days=1):
        return f"Abre mañana, {format_day(opening.date())}, {at_clock(minutes)}"
    return f"Abre el {format_day(opening.date())} {at_clock(minutes)}"


def describe_status(status: OpeningStatus) -> str:
    """The line the bot prints under an office, e.g.

    "Hoy: de 8:00 a 15:00 y de 16:00 a 18:00 · Abierta ahora (cierra a las 15:00)",
    "Hoy cerrada (festivo: Día de Extremadura). Abre mañana, miércoles 9 de septiembre, a las 8:00".
    """
    if not status.hours_known:
        return "Horario no disponible"
    today = status.today
    if status.open_now and status.closes_at is not None:
        end = _minutes_on(status.closes_at, today.day)
        return f"Hoy: {format_intervals(today.intervals)} · Abierta ahora (cierra {at_clock(end)})"
    following = ""
    if status.next_opening is not None:
        following = describe_opening(status.next_opening, status.at)
    if today.holiday:
        head = f"Hoy cerrada (festivo: {today.holiday})"
    elif today.local_holiday:
        head = "Hoy cerrada (festivo local)"
    elif not today.intervals:
        head = "Hoy cerrada"
    elif status.next_opening is not None and status.next_opening.date() == today.day:
        opens = _minutes_on(status.next_opening, today.day)
        return f"Hoy: {format_intervals(today.intervals)} · Cerrada ahora (abre {at_clock(opens)})"
    else:
        head = f"Hoy: {format_intervals(today.intervals)} · Cerrada ahora"
    return f"{head}. {following}" if following else head


def _minutes_on(instant: datetime, day: date) -> int:
    """Minutes after ``day``'s midnight (so a closing at the next midnight reads 24:00)."""
    return (instant.date() - day).days * 1440 + instant.hour * 60 + instant.minute
