"""ORM models of the formal answer to a complaint or suggestion: the draft's
revisions and the workflow row that approval, return and sending update conditionally.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk_api.models import Agent, Base, utcnow


class CaseAnswerDraft(Base):
    """Where a case's formal answer stands (one row per case, created by the first save).

    ``version`` grows with every change: each change is an ``UPDATE … WHERE version = :seen``,
    so of two concurrent changes (two approvals, an edit and an approval) exactly one wins."""

    __tablename__ = "case_answer_drafts"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    # borrador | en_revision | devuelta | aprobada | enviada
    state: Mapped[str] = mapped_column(String(12), default="borrador")
    version: Mapped[int] = mapped_column(Integer, default=1)
    revisions: Mapped[int] = mapped_column(Integer, default=0)  # number of the latest revision
    # The supervisor's comment when returned to the unit (internal: never shown to the citizen).
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseAnswerRevision(Base):
    """One saved text of the draft, with its author and time; the highest number is current."""

    __tablename__ = "case_answer_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Agent] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("case_id", "number", name="uq_case_answer_revisions_case_number"),
    )
