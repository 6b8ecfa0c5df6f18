"""«Posponer»: the assignee hides a conversation from «Mías» until a moment or until the citizen
answers; it shows in «Pospuestas» meanwhile and comes back (live) when the time passes — the
app's periodic task — or as soon as the citizen writes.

A snooze belongs to the assignee: any new assignment of the conversation drops it
(``assignment.on_assigned``), and so do resolving, deriving and returning it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.assignment_models import ConversationSnooze
from desk_api.errors import InvalidInput
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation, as_utc, utcnow
from desk_api.schemas import ConversationSummary
from desk_api.services.desk import (
    DeskContext,
    _require_assignee,
    get_visible,
    get_visible_unchecked,
)
from desk_api.services.transcript import audit, last_texts

MAX_DAYS = 30
LOCAL_TIME = ZoneInfo("Europe/Madrid")  # a moment without an offset is the desk's local time


def validate_until(until: datetime | None, until_reply: bool, now: datetime) -> datetime | None:
    if until is None:
        if not until_reply:
            raise InvalidInput(
                "Indique hasta cuándo quiere posponer la conversación o elija «Hasta que "
                "responda el ciudadano»."
            )
        return None
    if until_reply:
        raise InvalidInput(
            "Elija una fecha y hora o «Hasta que responda el ciudadano», pero no las dos."
        )
    moment = until if until.tzinfo is not None else until.replace(tzinfo=LOCAL_TIME)
    if moment <= now:
        raise InvalidInput("La fecha y hora para posponer deben ser posteriores a este momento.")
    if moment > now + timedelta(days=MAX_DAYS):
        raise InvalidInput(f"Solo se puede posponer una conversación hasta {MAX_DAYS} días.")
    return as_utc(moment.astimezone(ZoneInfo("UTC")))


async def snooze(
    ctx: DeskContext,
    agent: Agent,
    conversation_id: str,
    until: datetime | None,
    until_reply: bool,
) -> ConversationSnooze:
    session = ctx.session
    conversation = await get_visible(session, agent, conversation_id)
    _require_assignee(agent, conversation)
    now = utcnow()
    moment = validate_until(until, until_reply, now)
    await session.execute(
        delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation_id)
    )
    row = ConversationSnooze(
        conversation_id=conversation_id,
        agent_id=agent.id,
        until=moment,
        until_reply=moment is None,
        created_at=now,
    )
    session.add(row)
    conversation.updated_at = now
    audit(
        session,
        "snooze",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"until": moment.isoformat() if moment else None, "until_reply": moment is None},
    )
    await session.commit()
    conversation = await get_visible_unchecked(session, conversation_id)
    await publish(session, ctx.hub, conversation, {"kind": "snoozed", "until": _iso(moment)})
    return row


async def unsnooze(ctx: DeskContext, agent: Agent, conversation_id: str) -> Conversation:
    """The assignee brings it back to «Mías» before its time."""
    conversation = await get_visible(ctx.session, agent, conversation_id)
    _require_assignee(agent, conversation)
    await wake(ctx.session, ctx.hub, conversation_id, "agent", actor=agent)
    return await get_visible_unchecked(ctx.session, conversation_id)


async def wake(
    session: AsyncSession,
    hub: LiveHub,
    conversation_id: str,
    reason: str,
    *,
    actor: Agent | None = None,
) -> bool:
    """Drop the conversation's snooze, if any (only one caller wins a race); True if woken."""
    if await session.get(ConversationSnooze, conversation_id, populate_existing=True) is None:
        return False  # the common case, without taking any lock
    await session.commit()
    # The conversation first, then its snooze: the same order as snoozing (no deadlock).
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update(of=Conversation)
        .execution_options(populate_existing=True)
    )
    result = await session.execute(
        delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation_id)
    )
    if conversation is None or result.rowcount != 1:  # type: ignore[attr-defined]
        await session.commit()
        return False
    now = utcnow()
    conversation.updated_at = now
    audit(
        session,
        "snooze.wake",
        conversation_id=conversation_id,
        actor_type="agent" if actor else ("citizen" if reason == "citizen" else "system"),
        actor_id=actor.id if actor else None,
        details={"reason": reason},
    )
    await session.commit()
    conversation = await get_visible_unchecked(session, conversation_id)
    await publish(session, hub, conversation, {"kind": "woken", "reason": reason})
    return True


async def wake_due(session: AsyncSession, hub: LiveHub) -> list[str]:
    """Snoozes whose time has come, and snoozes that no longer apply (the conversation was
    resolved or is someone else's now)."""
    now = utcnow()
    due = list(
        await session.scalars(
            select(ConversationSnooze.conversation_id)
            .where(ConversationSnooze.until.is_not(None), ConversationSnooze.until <= now)
            .order_by(ConversationSnooze.until)
        )
    )
    stale = list(
        await session.scalars(
            select(ConversationSnooze.conversation_id)
            .join(Conversation, Conversation.id == ConversationSnooze.conversation_id)
            .where(
                (Conversation.state != "assigned")
                | (Conversation.assigned_agent_id.is_(None))
                | (Conversation.assigned_agent_id != ConversationSnooze.agent_id)
            )
        )
    )
    await session.commit()
    if stale:
        await session.execute(
            delete(ConversationSnooze).where(ConversationSnooze.conversation_id.in_(stale))
        )
        await session.commit()
    woken = []
    for conversation_id in due:
        if conversation_id not in stale and await wake(session, hub, conversation_id, "time"):
            woken.append(conversation_id)
    return woken


async def of_conversations(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, ConversationSnooze]:
    if not conversation_ids:
        return {}
    rows = await session.scalars(
        select(ConversationSnooze).where(ConversationSnooze.conversation_id.in_(conversation_ids))
    )
    return {r.conversation_id: r for r in rows}


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


async def publish(
    session: AsyncSession, hub: LiveHub, conversation: Conversation, assignment: dict[str, Any]
) -> None:
    """``conversation.updated`` (the desk already refreshes its lists on it) with what the
    assignment did, so the assignee's desk can say it: ``{"kind": "snoozed" | "woken" | …}``."""
    previews = await last_texts(session, [conversation.id])
    summary = ConversationSummary.of(conversation, previews.get(conversation.id))
    hub.publish(
        DESK_TOPIC,
        {
            "type": "conversation.updated",
            "conversation": summary.model_dump(mode="json"),
            "assignment": {"agent_id": conversation.assigned_agent_id, **assignment},
        },
    )
