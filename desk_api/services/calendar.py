"""The service's calendar and deadline policy: one ``BusinessCalendar`` (national, Extremadura and
local holidays, per office) under one ``BusinessHours`` per schedule (the service's opening hours,
with the summer schedule), configured by ``TUA_DEADLINES_*`` settings.

Local holidays per office come from the offices feed (``knowledge/data/offices.jsonl``, each
office's ``local_holidays``); the seat's (``TUA_CASES_LOCAL_HOLIDAYS``) apply when no office is
named. Built on first use and cached; tests reset the cache with ``reset()``.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.business_hours import BusinessHours, Schedule
from desk_api.selfservice.business_days import BusinessCalendar, CaseSettings
from knowledge.settings import DATA as KNOWLEDGE_DATA

logger = logging.getLogger(__name__)


class DeadlineSettings(BaseSettings):
    """Deadlines of the desk; environment variables prefixed ``TUA_DEADLINES_``."""

    model_config = SettingsConfigDict(
        env_prefix="TUA_DEADLINES_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    # First answer by a person, in business hours after the hand-off; per channel overrides
    # (JSON: '{"voz": 4}'): a phone call asked to be called back sooner, an email later.
    first_response_hours: float = Field(default=8.0, gt=0, le=400)
    first_response_hours_by_channel: dict[str, float] = Field(
        default_factory=lambda: {"voz": 4.0, "email": 16.0}
    )
    # Resolution of a conversation, in business days after the hand-off day (the closing time
    # of the last one); per channel overrides.
    resolution_days: int = Field(default=5, ge=0, le=120)
    resolution_days_by_channel: dict[str, int] = Field(default_factory=dict)
    # A complaint or suggestion: the unit's first action, in business hours (its resolution is
    # the legal period of ``TUA_CASES_COMPLAINT_DAYS``, see ``selfservice.business_days``).
    case_first_response_hours: float = Field(default=16.0, gt=0, le=400)
    # Warn when this share of the allowed business time has passed.
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    # How often the worker looks for warnings and breaches; 0 switches the worker off.
    check_seconds: float = Field(default=60.0, ge=0)
    # The office whose local holidays apply to remote conversations (the seat: Mérida).
    default_office: str | None = "OF-001"
    offices_file: Path = KNOWLEDGE_DATA / "offices.jsonl"
    # Opening hours (``connectors.business_hours.Schedule``): winter mornings and afternoons,
    # summer (16 June - 15 September) mornings only; per channel overrides.
    schedule: Schedule = Field(default_factory=Schedule)
    schedules_by_channel: dict[str, Schedule] = Field(default_factory=dict)
    timezone: str = "Europe/Madrid"

    def first_response_seconds(self, channel: str) -> float:
        return self.first_response_hours_by_channel.get(channel, self.first_response_hours) * 3600

    def resolution_days_for(self, channel: str) -> int:
        return self.resolution_days_by_channel.get(channel, self.resolution_days)


class ServiceCalendar:
    """Business hours per channel over one holiday calendar."""

    def __init__(self, settings: DeadlineSettings, calendar: BusinessCalendar) -> None:
        self.settings = settings
        self.calendar = calendar
        self._default = BusinessHours(settings.schedule, calendar)
        self._by_channel = {
            channel: BusinessHours(schedule, calendar)
            for channel, schedule in settings.schedules_by_channel.items()
        }

    def hours(self, channel: str | None = None) -> BusinessHours:
        if channel is None:
            return self._default
        return self._by_channel.get(channel, self._default)


def office_holidays(path: Path) -> dict[str, list[date]]:
    """Each office's local holidays from the offices feed (JSON lines); bad lines are skipped."""
    found: dict[str, list[date]] = {}
    if not path.exists():
        logger.warning("deadlines.no_offices_feed", extra={"path": str(path)})
        return found
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            days = [date.fromisoformat(day) for day in record.get("local_holidays") or []]
            found[str(record["id"])] = days
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("deadlines.bad_office_line", extra={"line": number})
    return found


@lru_cache
def get_settings() -> DeadlineSettings:
    return DeadlineSettings()


@lru_cache
def get_calendar() -> ServiceCalendar:
    settings = get_settings()
    calendar = BusinessCalendar(
        CaseSettings().local_holidays, office_holidays=office_holidays(settings.offices_file)
    )
    return ServiceCalendar(settings, calendar)


def reset() -> None:
    """Forget the cached settings and calendar (tests that change ``TUA_DEADLINES_*``)."""
    get_settings.cache_clear()
    get_calendar.cache_clear()
