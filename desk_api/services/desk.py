"""What agents do with handed-off conversations: list, take, reply, derive, resolve.

Every change is one transaction with its audit entry; live notifications go out after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.gateway import Gateway
from desk_api.errors import Conflict, Forbidden, NotFound
from desk_api.live import LiveHub
from desk_api.models import Agent, Conversation, Derivation, Message, Unit, utcnow
from desk_api.schemas import ConversationSummary, MessageOut
from desk_api.services import csat, deadlines, desk_events
from desk_api.services.transcript import append_message, audit
from handoff import notices
from handoff.contract import Controller, State, Tier


@dataclass
class DeskContext:
    session: AsyncSession
    gateway: Gateway
    hub: LiveHub


def visible(agent: Agent) -> Select[Conversation]:
    """Conversations the agent may see: N2 only what was derived to its unit."""
    query = select(Conversation).where(Conversation.handed_off_at.is_not(None))
    if agent.role == "n2":
        derived_here = exists().where(
            Derivation.conversation_id == Conversation.id, Derivation.to_unit_id == agent.unit_id
        )
        query = query.where(or_(Conversation.unit_id == agent.unit_id, derived_here))
    return query


async def list_conversations(
    session: AsyncSession, agent: Agent, view: str
) -> list[ConversationSummary]:
    """The first page of an inbox view; ``services.inbox`` has the filters and the cursor."""
    from desk_api.services import inbox  # inbox builds on visible() above

    return (await inbox.page(session, agent, inbox.InboxQuery(view=view))).items


async def get_visible(session: AsyncSession, agent: Agent, conversation_id: str) -> Conversation:
    conversation = await session.scalar(visible(agent).where(Conversation.id == conversation_id))
    if conversation is None:
        raise NotFound("No existe esa conversación o no tiene permiso para verla.")
    return conversation


async def take(ctx: DeskContext, agent: Agent, conversation_id: str) -> Conversation:
    """Assign a queued conversation to ``agent``; atomic, so only one agent can win."""
    conversation = await get_visible(ctx.session, agent, conversation_id)
    _require_tier(agent, conversation)
    result = await ctx.session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == State.QUEUED,
            Conversation.assigned_agent_id.is_(None),
        )
        .values(state=State.ASSIGNED, assigned_agent_id=agent.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await ctx.session.refresh(conversation)
        if conversation.state == State.ASSIGNED:
            raise Conflict("Otro informador ya ha tomado esta conversación.")
        raise Conflict("La conversación no está esperando en la cola.")
    await _assignment().on_assigned(ctx.session, conversation_id, agent.id)
    notice = await append_message(
        ctx.session,
        conversation_id,
        "system",
        notices.taken(agent.full_name, conversation.tier or "n1"),
    )
    audit(
        ctx.session,
        "take",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"tier": conversation.tier},
    )
    return await _commit_and_notify(ctx, conversation_id, [notice], "conversation.updated")


async def reply(ctx: DeskContext, agent: Agent, conversation_id: str, text: str) -> MessageOut:
    conversation = await get_visible(ctx.session, agent, conversation_id)
    _require_assignee(agent, conversation)
    message = await append_message(
        ctx.session, conversation_id, "agent", text, agent=agent, tier=conversation.tier
    )
    audit(
        ctx.session,
        "reply",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"message_id": message.id, "seq": message.seq},
    )
    await ctx.session.commit()
    out = MessageOut.of(message)
    await ctx.gateway.deliver(conversation, [out])
    desk_events.publish_messages(ctx.hub, conversation, [out])
    return out


async def typing(ctx: DeskContext, agent: Agent, conversation_id: str) -> None:
    """Show the citizen that the agent attending them is writing."""
    conversation = await get_visible(ctx.session, agent, conversation_id)
    _require_assignee(agent, conversation)
    ctx.gateway.notify_typing(conversation)


async def derive(
    ctx: DeskContext, agent: Agent, conversation_id: str, unit_code: str, reason: str
) -> Conversation:
    """Send an N1 conversation to an N2 unit's queue: same conversation, same transcript."""
    conversation = await get_visible(ctx.session, agent, conversation_id)
    if agent.role not in ("n1", "admin"):
        raise Forbidden("Solo el nivel N1 puede derivar conversaciones a una unidad N2.")
    _require_assignee(agent, conversation)
    if conversation.tier != Tier.N1:
        raise Conflict("La conversación ya está en una unidad especializada (N2).")
    unit = await ctx.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise NotFound(f"No existe la unidad «{unit_code}» en el directorio.")
    derivation = Derivation(
        conversation_id=conversation_id, from_agent_id=agent.id, to_unit_id=unit.id, reason=reason
    )
    ctx.session.add(derivation)
    conversation.tier = Tier.N2
    conversation.unit_id = unit.id
    conversation.state = State.QUEUED
    conversation.assigned_agent_id = None
    await ctx.session.flush()
    notice = await append_message(
        ctx.session, conversation_id, "system", notices.derived(unit.name)
    )
    audit(
        ctx.session,
        "derive",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"unit_code": unit.code, "reason": reason, "derivation_id": derivation.id},
    )
    await _commit_and_notify(ctx, conversation_id, [notice], "conversation.queued")
    await _assignment().queued(ctx, conversation_id)  # to an available N2 agent
    await _assignment().released(ctx, agent.id, conversation_id)
    return await get_visible_unchecked(ctx.session, conversation_id)


async def resolve(
    ctx: DeskContext, agent: Agent, conversation_id: str, note: str | None
) -> Conversation:
    """Close the human attention and hand the conversation back to the bot."""
    conversation = await get_visible(ctx.session, agent, conversation_id)
    _require_assignee(agent, conversation)
    conversation.controller = Controller.BOT
    conversation.state = State.RESOLVED
    await deadlines.on_resolved(ctx.session, conversation_id)
    notice = await append_message(ctx.session, conversation_id, "system", notices.resolved())
    audit(
        ctx.session,
        "resolve",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"note": note, "tier": conversation.tier},
    )
    resolved = await _commit_and_notify(ctx, conversation_id, [notice], "conversation.updated")
    ctx.gateway.notify_controller(resolved)
    await ctx.gateway.resume_bot(conversation_id)
    await csat.ask(ctx, agent, resolved)  # the citizen rates the attention (CSAT)
    await _assignment().released(ctx, agent.id, conversation_id)  # room for the next
    return resolved


async def derivations(session: AsyncSession, conversation_id: str) -> list[Derivation]:
    return list(
        await session.scalars(
            select(Derivation)
            .where(Derivation.conversation_id == conversation_id)
            .order_by(Derivation.id)
        )
    )


async def transcript(session: AsyncSession, conversation_id: str) -> list[Message]:
    return list(
        await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
    )


def _assignment() -> ModuleType:
    from desk_api.services import assignment  # builds on this module

    return assignment


def _require_tier(agent: Agent, conversation: Conversation) -> None:
    if agent.role == "admin":
        return
    if conversation.tier == Tier.N1 and agent.role != "n1":
        raise Forbidden("Esta conversación está en la cola de N1; su perfil no puede atenderla.")
    if conversation.tier == Tier.N2 and (
        agent.role != "n2" or agent.unit_id != conversation.unit_id
    ):
        raise Forbidden("Esta conversación está derivada a otra unidad; no puede atenderla.")


def _require_assignee(agent: Agent, conversation: Conversation) -> None:
    if conversation.state == State.RESOLVED or conversation.controller != Controller.HUMAN:
        raise Conflict("La conversación ya no está en manos del equipo de atención.")
    if conversation.state != State.ASSIGNED:
        raise Conflict("Primero hay que tomar la conversación («Atender»).")
    if conversation.assigned_agent_id != agent.id:
        raise Forbidden("Solo la persona que atiende la conversación puede hacer esto.")


async def _commit_and_notify(
    ctx: DeskContext, conversation_id: str, notices_: list[Message], kind: str
) -> Conversation:
    await ctx.session.commit()
    conversation = await get_visible_unchecked(ctx.session, conversation_id)
    out = [MessageOut.of(m) for m in notices_]
    await ctx.gateway.deliver(conversation, out)
    desk_events.publish_messages(ctx.hub, conversation, out)
    desk_events.publish_conversation(ctx.hub, kind, conversation, out[-1].text if out else None)
    return conversation


async def get_visible_unchecked(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        raise NotFound("No existe esa conversación.")
    return conversation
