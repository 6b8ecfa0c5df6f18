"""Request and response bodies of assignment, status, capacity, N2 → N1 return and snooze."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from desk_api.schemas import UnitOut

AgentStatus = Literal["available", "busy", "away"]


class StatusIn(BaseModel):
    status: AgentStatus


class CapacityIn(BaseModel):
    capacity: int | None = Field(
        default=None, ge=1, le=50, description="None: the default (TUA_AGENT_CAPACITY)"
    )


class AgentLoadOut(BaseModel):
    """An agent as the assignment sees them: status, open conversations and capacity."""

    id: int
    username: str
    full_name: str
    role: str
    unit: UnitOut | None
    status: AgentStatus
    open_conversations: int
    capacity: int
    capacity_is_default: bool
    last_assigned_at: datetime | None
    status_changed_at: datetime | None


class ReassignIn(BaseModel):
    agent_id: int


class ReturnIn(BaseModel):
    answer: str = Field(max_length=4000, description="For N1 to relay; never sent to the citizen")

    @field_validator("answer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Escriba la respuesta de la unidad para N1.")
        return value


class SnoozeIn(BaseModel):
    """Either ``until`` (a moment, at most 30 days ahead; without an offset it is Spain's
    peninsular time) or ``until_reply`` (until the citizen writes)."""

    until: datetime | None = None
    until_reply: bool = False


class SnoozeOut(BaseModel):
    conversation_id: str
    agent_id: int
    until: datetime | None
    until_reply: bool
    created_at: datetime
