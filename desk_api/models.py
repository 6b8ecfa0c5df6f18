"""ORM models (SQLAlchemy 2, typed). Schema changes go through Alembic migrations only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Unit(Base):
    """An organisational unit (DIR3-style code) that N2 agents belong to."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Agent(Base):
    """A public employee using the desk."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # n1 | n2 | supervisor | admin
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class Conversation(Base):
    """One citizen conversation on one channel; the gateway owns it."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    # Secret the citizen's client proves ownership with (sha256 of the token; never the token).
    citizen_token_hash: Mapped[str | None] = mapped_column(String(64))
    controller: Mapped[str] = mapped_column(String(8), default="bot")
    state: Mapped[str] = mapped_column(String(16), default="bot")
    tier: Mapped[str | None] = mapped_column(String(4))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # The Miespacio account, once the citizen verified an email or mobile in this conversation.
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    # The provider identity the conversation belongs to (none for the web chat: its token).
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"), index=True)
    # How replies leave: "live" (web chat stream, a phone call's answer) or "outbox" (a
    # provider's API, through the persistent outbox: every non-citizen message gets a Delivery).
    outbound: Mapped[str] = mapped_column(String(8), default="live")
    handoff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    handed_off_at: Mapped[datetime | None] = mapped_column()
    # The procedure category it is about (the knowledge inventory's), for the inbox's filter:
    # guessed at hand-off from what the citizen wrote, corrected by the agents.
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    assigned_agent: Mapped[Agent | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_conversations_queue", "state", "tier", "unit_id", "handed_off_at"),)


class Message(Base):
    """One line of the transcript, whoever wrote it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(8))  # citizen | bot | agent | system
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    tier: Mapped[str | None] = mapped_column(String(4))
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[Agent | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint(
            "conversation_id", "client_message_id", name="uq_messages_conversation_client_id"
        ),
    )


class Derivation(Base):
    """A conversation sent from N1 to an N2 unit, with the reason (first-class record)."""

    __tablename__ = "derivations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    from_agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # N2 → N1 return: the unit's internal answer for N1 to relay.
    returned_at: Mapped[datetime | None] = mapped_column()
    returned_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    return_answer: Mapped[str | None] = mapped_column(Text)

    to_unit: Mapped[Unit] = relationship(lazy="joined")
    from_agent: Mapped[Agent] = relationship(lazy="joined", foreign_keys=[from_agent_id])
    returned_by: Mapped[Agent | None] = relationship(
        lazy="joined", foreign_keys=[returned_by_agent_id]
    )


class AuditEvent(Base):
    """Append-only trail of state changes; the database refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(8))  # citizen | bot | agent | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# The self-service tables share this metadata (Conversation.citizen_id points at one of them).
from desk_api import assignment_models as _assignment_models  # noqa: E402, F401
from desk_api import channel_models as _channel_models  # noqa: E402, F401
from desk_api import deadline_models as _deadline_models  # noqa: E402, F401
from desk_api import desk_models as _desk_models  # noqa: E402, F401
from desk_api import miespacio_models as _miespacio_models  # noqa: E402, F401
from desk_api import nlu_models as _nlu_models  # noqa: E402, F401
from desk_api import participation_models as _participation_models  # noqa: E402, F401
from desk_api import quejas_models as _quejas_models  # noqa: E402, F401
from desk_api.selfservice import models as _selfservice_models  # noqa: E402, F401
