"""ORM models of the self-service flows (issue 4): the personal-data vault, Miespacio accounts and
their verified channel identities, one-time codes, modelo 050 payments, and complaint and
suggestion cases. Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk_api.models import Base, Unit, utcnow


class PiiValue(Base):
    """A personal datum the gateway took out of a citizen's message before it went to the bot.

    The bot sees only ``[DNI_1]``, ``[EMAIL_2]``...; self-service endpoints resolve the reference
    here, for the same conversation only."""

    __tablename__ = "pii_vault"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    ref: Mapped[str] = mapped_column(String(24))  # "DNI_1": the placeholder without brackets
    kind: Mapped[str] = mapped_column(String(16))  # dni | nie | email | telefono | iban
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("conversation_id", "ref", name="uq_pii_vault_ref"),)


class Counter(Base):
    """Named sequences (tracking codes per year, 050 justificantes), taken under a row lock."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Citizen(Base):
    """A Miespacio account: created only after the email or mobile was verified by a code."""

    __tablename__ = "citizens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164
    privacy_accepted_at: Mapped[datetime] = mapped_column()
    privacy_version: Mapped[str] = mapped_column(String(32))  # the notice version accepted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CitizenIdentity(Base):
    """A channel identity (web chat conversation, Telegram chat, WhatsApp number) of a citizen."""

    __tablename__ = "citizen_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    channel_user: Mapped[str] = mapped_column(String(128))
    verified_by: Mapped[str] = mapped_column(String(8))  # email | phone
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    citizen: Mapped[Citizen] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("channel", "channel_user", name="uq_citizen_identities_channel_user"),
    )


class OtpChallenge(Base):
    """A one-time code sent to an email or mobile; only its hash is kept."""

    __tablename__ = "otp_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | phone
    destination: Mapped[str] = mapped_column(String(254), index=True)  # normalised
    code_hash: Mapped[str] = mapped_column(String(128))
    # sending | pending | verified | completed | blocked | superseded | failed
    status: Mapped[str] = mapped_column(String(12), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Payment(Base):
    """A modelo 050 self-assessment and its payment through the configured gateway."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    justificante: Mapped[str] = mapped_column(String(13), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    concept: Mapped[str] = mapped_column(String(255))
    plate: Mapped[str | None] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column()  # tariff year, lines, VAT, station...
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|paid|cancelled
    gateway: Mapped[str] = mapped_column(String(32))
    gateway_reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()


class PaymentEvent(Base):
    """Each gateway callback, once: a repeated event id changes nothing."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # paid | cancelled | rejected
    details: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """A complaint (queja) or suggestion (sugerencia), routed to the responsible N2 unit."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # QS-2026-000123
    kind: Mapped[str] = mapped_column(String(12))  # queja | sugerencia
    status: Mapped[str] = mapped_column(String(16), default="registrada")
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(32))  # DIR3 code of the responsible unit
    unit_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    dni: Mapped[str | None] = mapped_column(String(9))
    contact_preference: Mapped[str] = mapped_column(String(16))  # email | telefono | canal
    contact: Mapped[str | None] = mapped_column(String(254))
    deadline: Mapped[date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class CaseEvent(Base):
    """The trace of a case: registered, assigned, answered, closed, each with who and when."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_type: Mapped[str] = mapped_column(String(8))  # citizen | bot | agent | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
