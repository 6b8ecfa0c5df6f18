"""ORM models of the desk's working tools: private notes, labels and canned answers.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk_api.models import Agent, Base, Unit, utcnow


class ConversationNote(Base):
    """An agent's private note on a conversation: for colleagues only, never sent to the
    citizen or to the bot (a separate table, so no outbox or transcript path can carry it)."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[Agent] = relationship(lazy="joined")


class Label(Base):
    """A tag agents put on conversations ("urgente", "ayudas agrarias"), for views and reports."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    color: Mapped[str] = mapped_column(String(7), default="#5a6470")  # #rrggbb
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), primary_key=True, index=True)
    added_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    label: Mapped[Label] = relationship(lazy="joined")


class CannedAnswer(Base):
    """A ready answer with variables (``{nombre}``, ``{tramite}``), managed per unit; no unit:
    shared by every informer."""

    __tablename__ = "canned_answers"
    __table_args__ = (UniqueConstraint("unit_id", "shortcut", name="uq_canned_answers_shortcut"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    shortcut: Mapped[str] = mapped_column(String(32))  # typed as /shortcut in the composer
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class SatisfactionSurvey(Base):
    """The 1–5 question a citizen is asked on their channel after a person resolved their
    conversation (CSAT), with the optional comment; reported per agent, unit and channel."""

    __tablename__ = "satisfaction_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="asked")  # asked|rated|closed
    rating: Mapped[int | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    rated_at: Mapped[datetime | None] = mapped_column()
