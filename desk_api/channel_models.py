"""ORM models of the channels (issue 5): who writes from where, what the providers delivered,
what is still to be sent, files, callbacks to make and in-person attentions.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk_api.models import Agent, Base, utcnow


class ChannelIdentity(Base):
    """A citizen as one channel knows them: a Telegram chat, a WhatsApp number, a phone, an
    email address.

    ``user_hash`` (keyed HMAC of the provider's user id) is what identifies them everywhere
    (Rasa's sender metadata, logs, Miespacio links); ``address`` is kept only because replies
    must reach them, and never leaves the gateway and the delivery worker."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "user_hash", name="uq_channel_identities_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320))
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    # Flood control: the start of the current one-minute window and what arrived in it.
    window_started_at: Mapped[datetime | None] = mapped_column()
    window_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundReceipt(Base):
    """A provider delivery already taken in (Telegram ``update_id``, Twilio ``MessageSid``, an
    email's ``Message-ID``): providers retry, and a retry must change nothing."""

    __tablename__ = "inbound_receipts"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_inbound_receipts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One transcript message on its way to a provider channel: the persistent outbox.

    Written in the same transaction as the message, so a restart loses nothing; the worker
    sends, retries with backoff, and marks permanent failures for the desk to see."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # One delivery per message and identity: a retry updates it; a fallback to another
        # channel of the same citizen is a second row.
        UniqueConstraint("message_id", "identity_id", name="uq_deliveries_message_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"))
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(255))
    provider_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class Attachment(Base):
    """A file that came with a message (a photo on Telegram, a PDF by email...), stored under
    ``var/attachments`` by content hash; the desk downloads it."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskTask(Base):
    """Work for the desk that is not a live conversation: a callback to make after a voicemail
    left out of hours, due on a business day."""

    __tablename__ = "desk_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # callback
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    details: Mapped[dict[str, Any]] = mapped_column()  # recording url, transcription, duration
    outcome: Mapped[str | None] = mapped_column(Text)
    done_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    done_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InPersonAttention(Base):
    """An informer's record of a citizen attended at an office, so the citizen's history is
    complete across channels. Its conversation (channel ``presencial``) holds the notes."""

    __tablename__ = "in_person_attentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    office_code: Mapped[str | None] = mapped_column(String(32))
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    dni: Mapped[str | None] = mapped_column(String(9))  # when the citizen gave it, validated
    topic: Mapped[str] = mapped_column(String(255))
    procedure_code: Mapped[str | None] = mapped_column(String(32))
    procedure_title: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))  # resuelta | derivada | cita | pendiente
    attended_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[Agent] = relationship(lazy="joined")
