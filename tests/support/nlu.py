"""NLU turns as the gateway records them, for tests of the annotation inbox and its export."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import SatisfactionSurvey
from desk_api.models import Conversation, Message, utcnow
from desk_api.nlu_models import NluTurn
from desk_api.services.transcript import audit


async def add_turn(
    session: AsyncSession,
    text: str,
    intent: str | None = "informacion_tramite",
    confidence: float | None = 0.95,
    *,
    outcome: str = "answered",
    channel: str = "webchat",
    conversation_id: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    minutes_ago: float = 0,
    status: str = "pending",
    reviewed_intent: str | None = None,
) -> NluTurn:
    """A turn (with its conversation and citizen message); flushed, not committed."""
    if conversation_id is None:
        conversation_id = uuid.uuid4().hex
        session.add(Conversation(id=conversation_id, channel=channel))
        await session.flush()
    moment = utcnow() - timedelta(minutes=minutes_ago)
    seq = uuid.uuid4().int % 1_000_000_000
    message = Message(
        conversation_id=conversation_id, seq=seq, sender="citizen", text=text, created_at=moment
    )
    session.add(message)
    await session.flush()
    ranking = [{"intent": intent, "confidence": confidence}] if intent and confidence else []
    turn = NluTurn(
        message_id=message.id,
        conversation_id=conversation_id,
        channel=channel,
        text=text,
        intent=intent,
        confidence=confidence,
        ranking=ranking,
        entities=entities or [],
        outcome=outcome,
        handoff_reason="citizen_request" if outcome == "handoff" else None,
        created_at=moment,
        status=status,
        reviewed_intent=reviewed_intent,
    )
    session.add(turn)
    await session.flush()
    return turn


async def rate(session: AsyncSession, conversation_id: str, rating: int) -> None:
    session.add(
        SatisfactionSurvey(
            conversation_id=conversation_id,
            channel="webchat",
            status="rated",
            rating=rating,
            rated_at=utcnow(),
        )
    )
    await session.flush()


def correct_topic(
    session: AsyncSession, conversation_id: str, agent_id: int, before: str | None, after: str
) -> None:
    """What ``topics.set_category`` leaves in the audit trail."""
    audit(session, "category.set", conversation_id=conversation_id, actor_type="agent",
          actor_id=agent_id, details={"from": before, "to": after})  # fmt: skip
