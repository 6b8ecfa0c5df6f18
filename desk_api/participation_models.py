"""ORM models of citizen participation: participatory processes that N2 units publish,
their documents, and the proposals citizens submit to them.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk_api.models import Base, Unit, utcnow


class ParticipatoryProcess(Base):
    """A process a unit opens to citizens' proposals between two dates (both included, in
    Spanish local time). Its status is derived, never stored: draft until published, then
    scheduled / open / closed from the dates, or closed early by the unit (``closed_at``)."""

    __tablename__ = "participation_processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    published_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class ProcessDocument(Base):
    """A file published with a process (the draft plan, a report); bytes in the attachment
    store by content hash, public once the process is published."""

    __tablename__ = "participation_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Proposal(Base):
    """A citizen's proposal to a process: ``received`` → ``published`` or ``rejected`` (with a
    reason) by the unit → ``answered`` (the unit's public answer). ``text`` keeps exactly what
    the citizen wrote, for the unit; anything public or logged is masked."""

    __tablename__ = "participation_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="received")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    moderated_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    moderated_at: Mapped[datetime | None] = mapped_column()
    answered_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    answered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    process: Mapped[ParticipatoryProcess] = relationship(lazy="joined")
