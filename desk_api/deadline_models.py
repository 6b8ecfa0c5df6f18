"""ORM models of the legal deadlines: one ``Deadline`` per handed-off conversation and
per complaint/suggestion case, and the warnings and breaches (escalations) raised on them.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desk_api.models import Base, utcnow


class Deadline(Base):
    """The clock of one attention: when it started, when the first answer and the resolution
    are due (instants in UTC, computed in business time), and the time paused while waiting for
    the citizen. A conversation handed off again starts a new ``cycle`` on the same row."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    office_code: Mapped[str | None] = mapped_column(String(32))  # whose local holidays apply
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column()
    first_response_due: Mapped[datetime] = mapped_column()
    first_response_warn_at: Mapped[datetime] = mapped_column()
    first_response_at: Mapped[datetime | None] = mapped_column()
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)  # business seconds
    resolution_due: Mapped[datetime] = mapped_column()
    resolution_warn_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    # Waiting for the citizen (the last message is the agent's): since when, and how much
    # business time earlier waits added to the due times.
    paused_since: Mapped[datetime | None] = mapped_column()
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_deadlines_open", "resolved_at", "resolution_warn_at"),
        Index("ix_deadlines_started_at", "started_at"),
    )


class DeadlineAlert(Base):
    """A warning before a deadline, or its breach (an escalation to the supervisors); at most
    one of each kind per deadline, cycle and target, whatever the number of workers."""

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # warning | breach
    target: Mapped[str] = mapped_column(String(16))  # first_response | resolution
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # who was told
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    due_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))

    __table_args__ = (
        UniqueConstraint("deadline_id", "cycle", "kind", "target", name="uq_deadline_alerts_once"),
    )
