"""What a report covers: Spanish days, a channel, an intent; bad values get a Spanish error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from bot.settings import get_bot_settings
from connectors.channels import CHANNEL_NAMES
from desk_api.errors import InvalidInput
from desk_api.services.spreadsheet import Period

TIMEZONE = "Europe/Madrid"
FALLBACK_INTENT = "nlu_fallback"
DAILY_UP_TO_DAYS = 31  # longer ranges are shown week by week
Bucket = Literal["day", "week"]


@lru_cache
def known_intents(domain: Path | None = None) -> frozenset[str]:
    """The assistant's intents (domain.yml) and Rasa's fallback pseudo-intent."""
    path = domain or get_bot_settings().project_root / "domain.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = {str(i) if not isinstance(i, dict) else str(next(iter(i))) for i in data["intents"]}
    return frozenset(names | {FALLBACK_INTENT})


@dataclass(frozen=True)
class ReportFilters:
    period: Period
    channel: str | None = None
    intent: str | None = None

    @classmethod
    def of(
        cls,
        start: date | None,
        end: date | None,
        channel: str | None = None,
        intent: str | None = None,
    ) -> ReportFilters:
        """Validated filters; default period: the last 30 days up to today in Spain."""
        period = Period.of(start, end, TIMEZONE)
        channel = channel or None
        intent = intent or None
        if channel is not None and channel not in CHANNEL_NAMES:
            raise InvalidInput(
                f"Canal desconocido: «{channel}». Use uno de: {', '.join(sorted(CHANNEL_NAMES))}."
            )
        if intent is not None and intent not in known_intents():
            raise InvalidInput(
                f"Intención desconocida: «{intent}». Consulte la lista de intenciones del "
                "asistente (domain.yml)."
            )
        return cls(period, channel, intent)

    @property
    def bucket(self) -> Bucket:
        days = (self.period.end - self.period.start).days + 1
        return "day" if days <= DAILY_UP_TO_DAYS else "week"

    def bucket_of(self, day: date) -> date:
        """The first day of ``day``'s period (the day itself, or its week's Monday)."""
        return day if self.bucket == "day" else day - timedelta(days=day.weekday())

    def buckets(self) -> list[date]:
        """Every period of the range, in order (empty ones included, so charts have no gaps)."""
        first, found, day = self.bucket_of(self.period.start), [], self.period.start
        found.append(first)
        while day <= self.period.end:
            key = self.bucket_of(day)
            if key != found[-1]:
                found.append(key)
            day += timedelta(days=1)
        return found

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "channel": self.channel,
            "intent": self.intent,
            "bucket": self.bucket,
        }
