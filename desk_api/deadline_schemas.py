"""What the API says about deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

DeadlineStateName = Literal["en_plazo", "proximo", "vencido", "pausado", "cumplido", "incumplido"]

STATE_TEXTS: dict[str, str] = {
    "en_plazo": "En plazo",
    "proximo": "Vence pronto",
    "vencido": "Plazo vencido",
    "pausado": "En pausa: esperando al ciudadano",
    "cumplido": "Resuelta en plazo",
    "incumplido": "Resuelta fuera de plazo",
}


class DeadlineOut(BaseModel):
    """A conversation's or case's deadlines and where they stand now.

    ``target`` is the next deadline that matters (the first answer until there is one, then the
    resolution); ``business_seconds_left`` is the business time left to it (negative: overdue
    by that much; frozen while paused)."""

    state: DeadlineStateName
    text: str  # the state in words, for the desk and Miespacio (never colour alone)
    target: Literal["first_response", "resolution"]
    due_at: datetime
    business_seconds_left: int
    started_at: datetime
    first_response_due: datetime
    first_response_at: datetime | None
    resolution_due: datetime
    resolved_at: datetime | None
    paused: bool
    paused_seconds: int
    office_code: str | None


class AlertOut(BaseModel):
    id: int
    kind: Literal["warning", "breach"]
    target: Literal["first_response", "resolution"]
    conversation_id: str | None
    case_code: str | None
    channel: str
    tier: str | None
    unit_code: str | None
    agent_id: int | None
    due_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None


class DeadlineReportRow(BaseModel):
    key: str
    label: str
    total: int
    closed: int
    on_time: int
    on_time_rate: float | None  # closed on time / closed
    breaches: int  # attentions with a deadline missed (first answer or resolution)
    mean_first_response_hours: float | None  # business hours
