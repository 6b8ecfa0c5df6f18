"""What a conversation is about: the knowledge inventory's procedure category, guessed at
hand-off from what the citizen wrote and corrected by the agents; the inbox filters on it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import InvalidInput
from desk_api.live import LiveHub
from desk_api.models import Agent, Conversation, utcnow
from desk_api.services import desk, desk_events
from desk_api.services.transcript import audit, last_texts
from knowledge.base import KnowledgeBase, KnowledgeUnavailable


def catalogue(kb: KnowledgeBase | None) -> list[str]:
    if kb is None:
        return []
    try:
        return kb.categories
    except KnowledgeUnavailable:
        return []


async def set_category(
    session: AsyncSession,
    hub: LiveHub,
    kb: KnowledgeBase | None,
    agent: Agent,
    conversation_id: str,
    category: str | None,
) -> Conversation:
    """Any agent who may see the conversation corrects what it is about (audited, live)."""
    conversation = await desk.get_visible(session, agent, conversation_id)
    known = catalogue(kb)
    if category is not None and category not in known:
        raise InvalidInput(
            f"«{category}» no es una categoría del inventario de procedimientos. "
            "Elija una de la lista."
        )
    before = conversation.category
    if before == category:
        return conversation
    conversation.category = category
    conversation.updated_at = utcnow()
    audit(
        session,
        "category.set",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"from": before, "to": category},
    )
    await session.commit()
    previews = await last_texts(session, [conversation_id])
    desk_events.publish_conversation(
        hub, "conversation.updated", conversation, previews.get(conversation_id)
    )
    return conversation
