"""What the assistant understood of each citizen message, kept (masked) for the content teams
and the analysts: the prediction Rasa made, what followed in the same turn, and what the
knowledge base did for a procedure question."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors import pii
from connectors.rasa_client import BotReply, RasaClient
from desk_api.nlu_models import NluTurn
from desk_api.schemas import MessageOut
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


def understanding_of(parse: dict[str, Any]) -> Understanding:
    """The parts of a user event's ``parse_data`` kept for review (never its metadata: it
    carries the conversation's self-service token)."""
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


def fill(turn: NluTurn, understanding: Understanding | None, now: datetime) -> None:
    """Complete a recorded turn with Rasa's parse (None: Rasa no longer has the message)."""
    turn.parsed_at = now
    if understanding is None:
        return
    turn.intent = understanding.intent
    turn.confidence = understanding.confidence
    turn.ranking = understanding.ranking
    turn.entities = understanding.entities
    if turn.outcome == "answered" and understanding.intent == FALLBACK_INTENT:
        turn.outcome = "fallback"


def handoff_of(replies: list[BotReply]) -> HandoffRequest | None:
    for reply in replies:
        request = HandoffRequest.from_custom_payload(reply.custom)
        if request is not None:
            return request
    return None


def turn_row(
    *,
    conversation_id: str,
    channel: str,
    message_id: int,
    text: str,
    model_id: str | None,
    replies: list[BotReply],
    handoff: HandoffRequest | None,
) -> NluTurn:
    """The row of one turn, before Rasa's parse (``fill`` adds it). ``text`` is already masked
    (``pii.mask_for_review``): the content teams never see personal data."""
    kb_outcome, kb_procedure = kb_signal(replies)
    return NluTurn(
        message_id=message_id,
        conversation_id=conversation_id,
        channel=channel,
        text=text,
        model_id=model_id,
        outcome="handoff" if handoff is not None else "answered",
        handoff_reason=str(handoff.reason) if handoff is not None else None,
        kb_outcome=kb_outcome,
        kb_procedure=kb_procedure,
    )


class TurnRecorder:
    """Records turns in the background, after the citizen has the bot's answer (finding names
    in the text must not slow the reply down). Rasa's parse is added later by ``TurnParser``,
    one tracker read per conversation instead of one per message."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], rasa: RasaClient) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._pending: set[asyncio.Task[NluTurn | None]] = set()
        self.enabled = True

    def record_later(
        self, channel: str, stored: MessageOut, replies: list[BotReply], handed_off: bool
    ) -> None:
        if not self.enabled:
            return
        task = asyncio.create_task(self.record(channel, stored, replies, handed_off))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def record(
        self, channel: str, stored: MessageOut, replies: list[BotReply], handed_off: bool
    ) -> NluTurn | None:
        """Store the masked turn, its outcome and the model answering now. Never raises:
        review data is not worth an error."""
        try:
            masked = await asyncio.to_thread(pii.mask_for_review, stored.text)  # NER off the loop
            turn = turn_row(
                conversation_id=stored.conversation_id,
                channel=channel,
                message_id=stored.id,
                text=masked,
                model_id=await self._rasa.model_id(),
                replies=replies,
                handoff=handoff_of(replies) if handed_off else None,
            )
            async with self._sessions() as session:
                session.add(turn)
                await session.commit()
            return turn
        except IntegrityError:  # recorded already (a retried turn)
            return None
        except Exception:
            logger.exception("nlu_capture.failed", extra={"message_id": stored.id})
            return None

    async def drain(self) -> None:
        """Wait for the turns being recorded (on shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
