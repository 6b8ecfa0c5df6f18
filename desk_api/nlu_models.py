"""ORM models of the content teams' and analysts' loops: what the assistant understood of each
citizen message (masked), the annotations on it, and the versions of the NLU model.

Same metadata as ``desk_api.models``; schema changes go through Alembic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from desk_api.models import Base, utcnow


class NluTurn(Base):
    """One citizen message the bot handled, as the content teams may see it.

    ``text`` is masked before it is stored (typed placeholders: ``[DNI]``, ``[NOMBRE]``…): the
    original stays only in the conversation's transcript. The prediction comes from the user
    event of Rasa's tracker, read once the conversation has gone quiet; ``outcome`` is what
    followed in the same turn. The review columns hold the accepted annotation (the history is in
    ``nlu_annotations``); ``version`` grows with every review change, so of two annotators
    saving at once exactly one wins."""

    __tablename__ = "nlu_turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    ranking: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    model_id: Mapped[str | None] = mapped_column(String(64))
    # answered | fallback (nlu_fallback or the bot's own fallback) | handoff
    outcome: Mapped[str] = mapped_column(String(12), default="answered")
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    # What the knowledge base did for a procedure question: card | choices | not_found
    kb_outcome: Mapped[str | None] = mapped_column(String(12))
    kb_procedure: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # When Rasa's parse was added (connectors/nlu_parse.py: later, one tracker read per
    # conversation); still None: waiting for it. Parsed with no intent: Rasa lost the message.
    parsed_at: Mapped[datetime | None] = mapped_column(index=True)
    # --- review ---
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    claimed_until: Mapped[datetime | None] = mapped_column()
    reviewed_intent: Mapped[str | None] = mapped_column(String(64))
    reviewed_entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    exported_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)


class NluAnnotation(Base):
    """Who annotated what, and when: every confirmation, correction or noise mark is kept."""

    __tablename__ = "nlu_annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("nlu_turns.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    action: Mapped[str] = mapped_column(String(12))  # confirm | correct | noise | reopen
    intent: Mapped[str | None] = mapped_column(String(64))
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    previous_intent: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    """A trained NLU model: its file, the hash of the data it was trained on, its evaluation on
    the held-out data, the gate's decision and who promoted it. At most one is ``promoted``."""

    __tablename__ = "model_versions"
    # The database itself refuses a second promoted version (concurrent promotions included).
    __table_args__ = (
        Index(
            "uq_model_versions_promoted",
            "status",
            unique=True,
            sqlite_where=text("status = 'promoted'"),
            postgresql_where=text("status = 'promoted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    data_hash: Mapped[str] = mapped_column(String(64))
    # candidate | promoted | refused | retired
    status: Mapped[str] = mapped_column(String(12), default="candidate", index=True)
    # accuracy, macro_f1, weighted_f1, per_intent {intent: {precision, recall, f1, support}}
    metrics: Mapped[dict[str, Any] | None] = mapped_column()
    # The held-out predictions: [{text, intent, predicted, confidence}] (for confusion matrices)
    predictions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    gate: Mapped[dict[str, Any] | None] = mapped_column()  # the comparison and its reasons
    train_seconds: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_by: Mapped[str | None] = mapped_column(String(64))
    promoted_at: Mapped[datetime | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    # The held-out file's hash the metrics belong to: a current model is re-evaluated only when
    # the evaluation data changed (``bot.evaluate.eval_hash``).
    eval_hash: Mapped[str | None] = mapped_column(String(16))


class TrainingJob(Base):
    """A retrain-evaluate-promote run, started from the CLI or the desk; its progress is
    polled by the desk. ``heartbeat_at`` tells a live job from one whose process died."""

    __tablename__ = "training_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))  # cli | desk
    # queued | running | promoted | refused | failed
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str | None] = mapped_column(Text)
    candidate_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # "active" while queued or running, NULL once finished: a unique index makes a second
    # concurrent job impossible, whatever the backend.
    slot: Mapped[str | None] = mapped_column(String(8), unique=True, index=True)
