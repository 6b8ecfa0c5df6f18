"""A citizen's history across channels: their conversations (WhatsApp, Telegram, phone, email,
web chat, in person), complaints and suggestions, in-person attentions and callbacks.

Who sees it: N1 and administrators, like every conversation. An N2 agent sees it when their
unit handled one of the citizen's conversations or cases — then the list shows every
conversation's channel, dates, state and unit (what makes the history useful), but summaries
only of the conversations they may open, only their unit's cases, attentions without the DNI and
no callbacks (N1's work, with the caller's number and voicemail).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import ChannelIdentity
from desk_api.errors import NotFound
from desk_api.models import Agent, Conversation
from desk_api.schemas import CitizenHistoryOut, HistoryCase, HistoryConversation, UnitOut
from desk_api.selfservice.models import Case, Citizen, CitizenIdentity
from desk_api.services import attentions, desk, tasks
from desk_api.services.transcript import last_texts

LIST_LIMIT = 200
NOT_VISIBLE = "No existe ese ciudadano o no tiene permiso para ver su historial."


async def citizen_history(
    session: AsyncSession, agent: Agent, citizen_id: str
) -> CitizenHistoryOut:
    if await session.get(Citizen, citizen_id) is None:
        raise NotFound(NOT_VISIBLE)
    conversations = await _conversations(session, citizen_id)
    ids = [c.id for c in conversations]
    openable = {
        c.id for c in await session.scalars(desk.visible(agent).where(Conversation.id.in_(ids)))
    }
    cases = list(
        await session.scalars(
            select(Case)
            .where(or_(Case.citizen_id == citizen_id, Case.conversation_id.in_(ids)))
            .order_by(Case.created_at.desc(), Case.id.desc())
        )
    )
    full = agent.role in ("n1", "supervisor", "admin")
    if not full:
        cases = [c for c in cases if c.unit_id is not None and c.unit_id == agent.unit_id]
        if not openable and not cases:
            raise NotFound(NOT_VISIBLE)
    previews = await last_texts(session, sorted(openable))
    attended = await attentions.of_citizen(session, citizen_id)
    if not full:
        attended = [a.model_copy(update={"dni": None}) for a in attended]
    return CitizenHistoryOut(
        citizen_id=citizen_id,
        conversations=[_conversation(c, c.id in openable, previews) for c in conversations],
        cases=[
            HistoryCase(
                code=c.code,
                kind=c.kind,
                status=c.status,
                unit_name=c.unit_name,
                conversation_id=c.conversation_id,
                created_at=c.created_at,
                deadline=c.deadline,
            )
            for c in cases
        ],
        attentions=attended,
        tasks=await tasks.of_conversations(session, ids) if full else [],
    )


async def _conversations(session: AsyncSession, citizen_id: str) -> list[Conversation]:
    """The citizen's conversations: linked to the account, or held by one of the channel
    identities they verified (also those from before the verification)."""
    identities = (
        select(ChannelIdentity.id)
        .join(
            CitizenIdentity,
            (CitizenIdentity.channel == ChannelIdentity.channel)
            & (CitizenIdentity.channel_user == ChannelIdentity.user_hash),
        )
        .where(CitizenIdentity.citizen_id == citizen_id)
    )
    return list(
        await session.scalars(
            select(Conversation)
            .where(
                or_(Conversation.citizen_id == citizen_id, Conversation.identity_id.in_(identities))
            )
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(LIST_LIMIT)
        )
    )


def _conversation(
    conversation: Conversation, can_open: bool, previews: dict[str, str]
) -> HistoryConversation:
    summary = None
    if can_open:
        handoff = conversation.handoff or {}
        summary = handoff.get("summary") or previews.get(conversation.id)
    return HistoryConversation(
        id=conversation.id,
        channel=conversation.channel,
        state=conversation.state,
        tier=conversation.tier,
        unit=UnitOut.of(conversation.unit),
        started_at=conversation.created_at,
        last_activity_at=conversation.updated_at,
        summary=None if summary is None else str(summary)[:280],
        can_open=can_open,
    )
