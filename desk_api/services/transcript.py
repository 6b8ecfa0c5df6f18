"""Appending to a conversation's transcript and to the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import Delivery
from desk_api.models import Agent, AuditEvent, Conversation, Message, utcnow

OUTBOX = "outbox"  # Conversation.outbound: replies leave through the persistent outbox


async def append_message(
    session: AsyncSession,
    conversation_id: str,
    sender: str,
    text: str,
    *,
    buttons: list[dict[str, str]] | None = None,
    agent: Agent | None = None,
    tier: str | None = None,
    client_message_id: str | None = None,
) -> Message:
    """Add a message with the next ``seq``; the counter update also locks the row in PostgreSQL."""
    now = utcnow()
    seq, outbound, channel, identity_id = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_seq=Conversation.last_seq + 1, updated_at=now)
            .returning(
                Conversation.last_seq,
                Conversation.outbound,
                Conversation.channel,
                Conversation.identity_id,
            )
        )
    ).one()
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        text=text,
        buttons={"items": buttons} if buttons else None,
        agent=agent,
        tier=tier,
        client_message_id=client_message_id,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    from desk_api.services import deadlines  # an agent's message pauses, others resume

    await deadlines.on_message(session, conversation_id, sender, now)
    if sender != "citizen" and outbound == OUTBOX and identity_id is not None:
        # The transactional outbox: the message and its delivery commit together.
        session.add(
            Delivery(
                conversation_id=conversation_id,
                message_id=message.id,
                channel=channel,
                identity_id=identity_id,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return message


def audit(
    session: AsyncSession,
    action: str,
    *,
    conversation_id: str | None,
    actor_type: str,
    actor_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        conversation_id=conversation_id,
        action=action,
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        details=details,
    )
    session.add(event)
    return event


async def messages_after(
    session: AsyncSession, conversation_id: str, after: int = 0
) -> list[Message]:
    result = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
    )
    return list(result)


async def last_texts(session: AsyncSession, conversation_ids: list[str]) -> dict[str, str]:
    """The newest message text of each conversation (for list previews)."""
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(Message.conversation_id, Message.text)
        .join(
            Conversation,
            (Conversation.id == Message.conversation_id) & (Conversation.last_seq == Message.seq),
        )
        # On the conversations' ids: the planner then reaches each newest message by
        # (conversation_id, seq) instead of scanning every message of the page's conversations.
        .where(Conversation.id.in_(conversation_ids))
    )
    return {conversation_id: text for conversation_id, text in rows.all()}
