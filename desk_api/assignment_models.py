"""ORM models of assignment: agents' availability and capacity, snoozed conversations.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from desk_api.models import Base, utcnow


class AgentAvailability(Base):
    """An agent's status for automatic assignment (no row: «away»), their capacity (none: the
    setting's default) and when they were last given a conversation (the round-robin's key).

    The row is also the lock that serialises assignments to its agent (``FOR UPDATE``)."""

    __tablename__ = "agent_availability"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(9), default="away")  # available | busy | away
    capacity: Mapped[int | None] = mapped_column(Integer)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationSnooze(Base):
    """«Posponer»: the assignee hides a conversation from «Mías» until a moment (``until``) or,
    with ``until`` empty, until the citizen writes; the citizen writing always wakes it."""

    __tablename__ = "conversation_snoozes"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    until: Mapped[datetime | None] = mapped_column(index=True)
    until_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
