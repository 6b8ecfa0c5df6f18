"""Agent assist: the procedures that answer what the citizen asked, ready to send in one click."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import Unavailable
from desk_api.models import Agent, Message
from desk_api.schemas import AssistOut, SuggestionOut
from desk_api.services import desk
from knowledge.answers import procedure_card, summary
from knowledge.base import KnowledgeBase, KnowledgeUnavailable

CITIZEN_MESSAGES = 3  # the citizen's latest messages make the question


async def suggestions(
    session: AsyncSession,
    kb: KnowledgeBase,
    agent: Agent,
    conversation_id: str,
    query: str | None = None,
    k: int = 5,
) -> AssistOut:
    conversation = await desk.get_visible(session, agent, conversation_id)
    if query is None or not query.strip():
        messages = await desk.transcript(session, conversation.id)
        query = " ".join(_typed(messages)[-CITIZEN_MESSAGES:])
    try:
        return await asyncio.to_thread(_suggest, kb, query, k)
    except KnowledgeUnavailable as exc:
        raise Unavailable(
            "La base de conocimiento no está disponible en este momento. Inténtelo más tarde."
        ) from exc


def _typed(messages: list[Message]) -> list[str]:
    """What the citizen wrote, without the titles of buttons they pressed."""
    typed: list[str] = []
    offered: set[str] = set()
    for message in messages:
        if message.sender == "bot":
            items = (message.buttons or {}).get("items") or []
            offered |= {str(b.get("title")) for b in items if isinstance(b, dict)}
        elif message.sender == "citizen":
            if message.text not in offered and not message.text.startswith("/"):
                typed.append(message.text)
            offered = set()
    return typed


def _suggest(kb: KnowledgeBase, query: str, k: int) -> AssistOut:
    result = kb.ask(query, k)
    out = []
    for hit in result.hits:
        procedure = hit.procedure
        unit = kb.directory.get(procedure.unit) if procedure.unit else None
        out.append(
            SuggestionOut(
                id=procedure.id,
                title=procedure.title,
                summary=summary(procedure),
                category=procedure.category,
                unit=unit.name if unit else None,
                url=procedure.url,
                score=round(hit.score, 4),
                answer=procedure_card(procedure, unit),
            )
        )
    return AssistOut(
        query=result.query, confident=result.answer, probability=result.probability,
        suggestions=out,
    )  # fmt: skip
