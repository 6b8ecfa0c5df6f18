"""Private notes: what agents tell each other about a conversation.

A note is never a transcript ``Message`` (every non-citizen message of a provider conversation is
also delivered to the citizen), so no outbox, web chat stream or bot path can carry it. It is
pushed only to the desk's topic, and the audit keeps that a note was written, not its text.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import ConversationNote
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent
from desk_api.schemas import AgentRef, ConversationSummary, NoteOut
from desk_api.services.desk import get_visible
from desk_api.services.transcript import audit


def note_out(note: ConversationNote) -> NoteOut:
    return NoteOut(
        id=note.id,
        conversation_id=note.conversation_id,
        agent=AgentRef(id=note.agent.id, full_name=note.agent.full_name),
        text=note.text,
        created_at=note.created_at,
    )


async def add(
    session: AsyncSession, hub: LiveHub, agent: Agent, conversation_id: str, text: str
) -> NoteOut:
    """Any agent who may see the conversation may write one, whoever attends it."""
    conversation = await get_visible(session, agent, conversation_id)
    note = ConversationNote(conversation_id=conversation_id, agent=agent, text=text)
    session.add(note)
    await session.flush()
    audit(
        session,
        "note.added",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"note_id": note.id, "chars": len(text)},
    )
    await session.commit()
    out = note_out(note)
    summary = ConversationSummary.of(conversation, None)  # for the socket's visibility filter
    hub.publish(
        DESK_TOPIC,
        {
            "type": "note.created",
            "conversation_id": conversation_id,
            "note": out.model_dump(mode="json"),
            "conversation": summary.model_dump(mode="json"),
        },
    )
    return out


async def of_conversation(
    session: AsyncSession, agent: Agent, conversation_id: str
) -> list[NoteOut]:
    await get_visible(session, agent, conversation_id)
    rows = await session.scalars(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.created_at, ConversationNote.id)
    )
    return [note_out(note) for note in rows]
