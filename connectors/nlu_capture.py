"""What the assistant understood of each citizen message, kept (masked) for the content teams
and the analysts: the prediction Rasa made, what followed in the same turn, and what the
knowledge base did for a procedure question."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.rasa_client import BotReply
from desk_api.nlu_models import NluTurn
from handoff.contract import KNOWLEDGE_KEY, KNOWLEDGE_OUTCOMES, HandoffRequest

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier
RANKING_KEPT = 5


@dataclass(frozen=True)
class Understanding:
    """Rasa's parse of one user message (the ``parse_data`` of its tracker event)."""

    intent: str | None
    confidence: float | None
    ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    model_id: str | None = None


def understanding_of(parse: dict[str, Any] | None, message_id: int) -> Understanding | None:
    """The parse if it is the one of ``message_id`` (a later message may have overtaken it)."""
    if not isinstance(parse, dict):
        return None
    metadata = parse.get("metadata") or {}
    if metadata.get("message_id") != message_id:
        return None
    intent = parse.get("intent") or {}
    ranking = [
        {"intent": str(item.get("name")), "confidence": round(float(item.get("confidence", 0)), 4)}
        for item in (parse.get("intent_ranking") or [])[:RANKING_KEPT]
        if isinstance(item, dict) and item.get("name")
    ]
    entities = [
        {key: item[key] for key in ("entity", "value", "start", "end") if key in item}
        for item in parse.get("entities") or []
        if isinstance(item, dict) and item.get("entity")
    ]
    confidence = intent.get("confidence")
    return Understanding(
        intent=intent.get("name"),
        confidence=round(float(confidence), 4) if confidence is not None else None,
        ranking=ranking,
        entities=entities,
    )


def kb_signal(replies: list[BotReply]) -> tuple[str | None, str | None]:
    """What the knowledge base did in this turn, from the actions' custom payload:
    ``{"tuatencion_conocimiento": {"resultado": "not_found", "tramite": null}}``."""
    for reply in replies:
        signal = (reply.custom or {}).get(KNOWLEDGE_KEY)
        if isinstance(signal, dict) and signal.get("resultado") in KNOWLEDGE_OUTCOMES:
            procedure = signal.get("tramite")
            return str(signal["resultado"]), str(procedure) if procedure else None
    return None, None


def record(
    session: AsyncSession,
    *,
    conversation_id: str,
    channel: str,
    message_id: int,
    text: str,
    understanding: Understanding,
    replies: list[BotReply],
    handoff: HandoffRequest | None,
) -> NluTurn:
    """Add the turn to the session (the caller commits it with the bot's replies). ``text`` is
    already masked (``pii.mask_for_review``): the content teams never see personal data."""
    kb_outcome, kb_procedure = kb_signal(replies)
    if handoff is not None:
        outcome = "handoff"
    elif understanding.intent == FALLBACK_INTENT:
        outcome = "fallback"
    else:
        outcome = "answered"
    turn = NluTurn(
        message_id=message_id,
        conversation_id=conversation_id,
        channel=channel,
        text=text,
        intent=understanding.intent,
        confidence=understanding.confidence,
        ranking=understanding.ranking,
        entities=understanding.entities,
        model_id=understanding.model_id,
        outcome=outcome,
        handoff_reason=str(handoff.reason) if handoff is not None else None,
        kb_outcome=kb_outcome,
        kb_procedure=kb_procedure,
    )
    session.add(turn)
    return turn
