"""Deadlines of complaints and suggestions, in business days (días hábiles).

Ley 39/2015, art. 30: Saturdays, Sundays and holidays are not business days, and a period
counts from the day after the one it starts on. Art. 30.6: a day that is a holiday where the
citizen lives or where the deciding body sits is a holiday in any case — the calendar takes the
national and Extremadura holidays from the ``holidays`` package (Spain, subdivision "EX") and the
local holidays of the seat (Mérida's, configured) from the settings. Art. 31.2: something
registered on a non-business day counts as registered on the next business day.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SPANISH_MONTHS = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
).split()


class CaseSettings(BaseSettings):
    """Complaints and suggestions; environment variables prefixed ``TUA_CASES_``."""

    model_config = SettingsConfigDict(env_prefix="TUA_CASES_", env_file=".env", extra="ignore")

    # Response period in business days. Decreto 139/2000 of Extremadura (quejas y sugerencias,
    # amended by Decreto 18/2007) gave 15 business days to answer; the State's rule (RD 951/2005,
    # art. 16) gives 20, and the 2026 decree on citizen attention replaces the regional one.
    # Unsure which figure the current regional decree sets: 15 is the default, check it before
    # going live and set TUA_CASES_COMPLAINT_DAYS / TUA_CASES_SUGGESTION_DAYS accordingly.
    complaint_days: int = Field(default=15, ge=1, le=120)
    suggestion_days: int = Field(default=15, ge=1, le=120)
    # Local holidays of the seat (Mérida), ISO dates, as JSON: '["2026-09-01", "2026-12-10"]'.
    local_holidays: list[date] = Field(default_factory=list)
    # The desk unit that handles cases no desk unit of the directory chain can (created on first
    # use); N2 agents of a DIR3 unit or of one of its ancestors get their unit's cases.
    default_unit_code: str = Field(default="TUA-QYS", min_length=1, max_length=32)
    default_unit_name: str = Field(default="Unidad de Quejas y Sugerencias", min_length=1)
    # The day a case is registered is the day in Spain, not in UTC.
    timezone: str = "Europe/Madrid"
    # Failed status lookups (wrong code or second factor) allowed per conversation and hour.
    max_failed_lookups: int = Field(default=5, ge=1)

    # Whether a formal answer needs a supervisor's approval before it is sent, per kind, as
    # JSON: '{"queja": true, "sugerencia": false}'. A kind left out: no.
    approval: dict[str, bool] = Field(default_factory=lambda: {"queja": True, "sugerencia": False})

    def needs_approval(self, kind: str) -> bool:
        return self.approval.get(kind, False)

    def days_for(self, kind: str) -> int:
        return self.complaint_days if kind == "queja" else self.suggestion_days


class BusinessCalendar:
    """National and Extremadura holidays plus the configured local ones, cached by year.

    ``local_holidays`` are the seat's (they apply when no office is named); ``office_holidays``
    maps an office's code to its municipality's local holidays (the offices feed's
    ``local_holidays``), which apply instead to what is attended from that office."""

    def __init__(
        self,
        local_holidays: Iterable[date] = (),
        subdivision: str = "EX",
        office_holidays: Mapping[str, Iterable[date]] | None = None,
    ) -> None:
        self.subdivision = subdivision
        self.local_holidays = frozenset(local_holidays)
        self.office_holidays = {
            code: frozenset(days) for code, days in (office_holidays or {}).items()
        }
        self._years: dict[int, Mapping[date, str]] = {}
        self._lock = threading.Lock()

    def locals_of(self, office: str | None) -> frozenset[date]:
        """The local holidays that apply: the office's if it is known, else the seat's."""
        if office is not None and office in self.office_holidays:
            return self.office_holidays[office]
        return self.local_holidays

    def holiday(self, day: date, office: str | None = None) -> str | None:
        """The holiday's name, or None on a day that is not a public holiday."""
        if day in self.locals_of(office):
            return "Fiesta local"
        with self._lock:
            if day.year not in self._years:
                import holidays  # ~0.1 s, only when a deadline is first computed

                self._years[day.year] = holidays.country_holidays(
                    "ES", subdiv=self.subdivision, years=day.year, language="es"
                )
            return self._years[day.year].get(day)

    def is_business_day(self, day: date, office: str | None = None) -> bool:
        return day.weekday() < 5 and self.holiday(day, office) is None


def registration_day(day: date, calendar: BusinessCalendar) -> date:
    """The day a submission counts as made: ``day`` itself or the next business day."""
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(start: date, days: int, calendar: BusinessCalendar) -> date:
    """The day ``days`` business days after ``start`` (counted from the day after)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            days -= 1
    return day


def spanish_date(day: date) -> str:
    """``15 de diciembre de 2026``."""
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"
