"""Who attends what: agents' status and capacity, automatic round-robin assignment, supervisors'
reassignment and the N2 → N1 return.

Rules (see docs/assignment.md):

- An agent is ``available``, ``busy`` (keeps what they have, gets nothing new) or ``away``
  (the default, and what logging out sets). Capacity: open conversations assigned to them
  (snoozed ones included) that automatic assignment never exceeds.
- A conversation entering a queue (hand-off to N1, derivation to a unit, return to N1) goes to
  an available agent of its tier (and unit) with spare capacity: the one whose last assignment
  is oldest, ties broken by fewest open conversations. An agent who becomes available or frees
  capacity pulls the oldest waiting conversations of their queue, up to capacity.

Concurrency: an agent's ``agent_availability`` row is the lock on their load. Routing a
conversation locks it (``SKIP LOCKED``: someone else is already placing it) and then the
candidate agents' rows, in id order; pulling locks the agent's row and then the queue's rows
with ``SKIP LOCKED``. Whoever holds an agent's row never waits for a conversation, so there is
no deadlock, and the count of open conversations is read under the agent's lock, so capacity
holds. Anything skipped is picked up by the periodic sweep (``Assigner.tick``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk_api.assignment_models import AgentAvailability, ConversationSnooze
from desk_api.assignment_schemas import AgentLoadOut
from desk_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation, Derivation, Message, utcnow
from desk_api.schemas import ConversationSummary, MessageOut, UnitOut
from desk_api.services import desk_events, snooze
from desk_api.services.desk import (
    DeskContext,
    _require_assignee,
    get_visible,
    get_visible_unchecked,
)
from desk_api.services.supervision import can_supervise
from desk_api.services.transcript import append_message, audit, last_texts
from handoff import notices
from handoff.contract import Controller, State, Tier

if TYPE_CHECKING:
    from connectors.gateway import Gateway

logger = logging.getLogger(__name__)

STATUSES = ("available", "busy", "away")
STATUS_LABELS = {"available": "Disponible", "busy": "Ocupado", "away": "Ausente"}
ASSIGNABLE_ROLES = ("n1", "n2")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AssignmentSettings(BaseSettings):
    """TUA_AUTO_ASSIGN, TUA_AGENT_CAPACITY, TUA_ASSIGNMENT_TICK_SECONDS."""

    model_config = SettingsConfigDict(env_prefix="TUA_", env_file=".env", extra="ignore")

    auto_assign: bool = True
    agent_capacity: int = Field(default=5, ge=1, le=50)
    # How often snoozes wake and the queues are swept for available agents with spare capacity.
    assignment_tick_seconds: float = Field(default=15.0, gt=0)


@dataclass
class Assigned:
    """A conversation just given to an agent, announced after the commit."""

    conversation_id: str
    agent_id: int
    notice: Message
    mode: str  # auto | reassign | return


def settings_of(ctx: DeskContext) -> AssignmentSettings:
    engine = getattr(ctx.gateway, "assignment", None)
    if isinstance(engine, Assigner):
        return engine.settings
    return AssignmentSettings()


# --- status and capacity ---------------------------------------------------------------------


async def availability(session: AsyncSession, agent_id: int) -> AgentAvailability:
    """The agent's row, created «away» if missing, locked for this transaction (PostgreSQL)."""
    dialect = (await session.connection()).dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(AgentAvailability)
        .values(agent_id=agent_id, status="away", status_changed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["agent_id"])
    )
    row = await session.scalar(
        select(AgentAvailability)
        .where(AgentAvailability.agent_id == agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def open_counts(session: AsyncSession, agent_ids: Sequence[int]) -> dict[int, int]:
    if not agent_ids:
        return {}
    rows = await session.execute(
        select(Conversation.assigned_agent_id, func.count())
        .where(Conversation.assigned_agent_id.in_(agent_ids), Conversation.state == State.ASSIGNED)
        .group_by(Conversation.assigned_agent_id)
    )
    return {int(agent_id or 0): int(count) for agent_id, count in rows.all()}


def _capacity(row: AgentAvailability | None, settings: AssignmentSettings) -> int:
    return row.capacity if row is not None and row.capacity is not None else settings.agent_capacity


def _load(
    agent: Agent, row: AgentAvailability | None, open_: int, settings: AssignmentSettings
) -> AgentLoadOut:
    return AgentLoadOut(
        id=agent.id,
        username=agent.username,
        full_name=agent.full_name,
        role=agent.role,
        unit=UnitOut.of(agent.unit),
        status=row.status if row is not None else "away",  # type: ignore[arg-type]
        open_conversations=open_,
        capacity=_capacity(row, settings),
        capacity_is_default=row is None or row.capacity is None,
        last_assigned_at=row.last_assigned_at if row else None,
        status_changed_at=row.status_changed_at if row else None,
    )


async def load_of(
    session: AsyncSession, agent: Agent, settings: AssignmentSettings
) -> AgentLoadOut:
    row = await session.get(AgentAvailability, agent.id, populate_existing=True)
    counts = await open_counts(session, [agent.id])
    return _load(agent, row, counts.get(agent.id, 0), settings)


async def agents_load(ctx: DeskContext, viewer: Agent) -> list[AgentLoadOut]:
    """Every active desk agent with status and load: for supervisors only."""
    if not can_supervise(viewer):
        raise Forbidden("Solo la supervisión puede ver el estado y la carga de los informadores.")
    settings = settings_of(ctx)
    agents = list(
        await ctx.session.scalars(
            select(Agent)
            .where(Agent.active.is_(True), Agent.role.in_(ASSIGNABLE_ROLES))
            .order_by(Agent.role, Agent.full_name, Agent.id)
        )
    )
    rows = {
        r.agent_id: r
        for r in await ctx.session.scalars(
            select(AgentAvailability).execution_options(populate_existing=True)
        )
    }
    counts = await open_counts(ctx.session, [a.id for a in agents])
    return [_load(a, rows.get(a.id), counts.get(a.id, 0), settings) for a in agents]


async def set_status(ctx: DeskContext, agent: Agent, status: str) -> AgentLoadOut:
    """The agent's own status; becoming available pulls waiting conversations at once."""
    if status not in STATUSES:
        raise InvalidInput("Estado no válido: use «available», «busy» o «away».")
    settings = settings_of(ctx)
    row = await availability(ctx.session, agent.id)
    previous = row.status
    assigned: list[Assigned] = []
    if previous != status:
        row.status = status
        row.status_changed_at = utcnow()
        audit(
            ctx.session,
            "agent.status",
            conversation_id=None,
            actor_type="agent",
            actor_id=agent.id,
            details={"agent_id": agent.id, "from": previous, "to": status},
        )
    if status == "available":
        assigned = await _pull(ctx.session, agent, row, settings)
    await ctx.session.commit()
    await _announce(ctx, assigned)
    load = await load_of(ctx.session, agent, settings)
    if previous != status:
        _publish_agent(ctx.hub, load)
    return load


async def set_capacity(
    ctx: DeskContext, supervisor: Agent, agent_id: int, capacity: int | None
) -> AgentLoadOut:
    if not can_supervise(supervisor):
        raise Forbidden("Solo la supervisión puede cambiar la capacidad de un informador.")
    agent = await ctx.session.get(Agent, agent_id)
    if agent is None or not agent.active or agent.role not in ASSIGNABLE_ROLES:
        raise NotFound("No existe ese informador o no atiende conversaciones.")
    settings = settings_of(ctx)
    row = await availability(ctx.session, agent.id)
    previous = row.capacity
    row.capacity = capacity
    audit(
        ctx.session,
        "agent.capacity",
        conversation_id=None,
        actor_type="agent",
        actor_id=supervisor.id,
        details={"agent_id": agent.id, "from": previous, "to": capacity},
    )
    assigned = await _pull(ctx.session, agent, row, settings)  # more room: fill it now
    await ctx.session.commit()
    await _announce(ctx, assigned)
    load = await load_of(ctx.session, agent, settings)
    _publish_agent(ctx.hub, load)
    return load


# --- automatic assignment --------------------------------------------------------------------


def _eligible(conversation: Conversation) -> list[Any]:
    if conversation.tier == Tier.N2:
        return [Agent.role == "n2", Agent.unit_id == conversation.unit_id]
    return [Agent.role == "n1"]


def _queue_of(agent: Agent) -> list[Any] | None:
    if agent.role == "n1":
        return [Conversation.tier == Tier.N1]
    if agent.role == "n2" and agent.unit_id is not None:
        return [Conversation.tier == Tier.N2, Conversation.unit_id == agent.unit_id]
    return None


async def route(
    ctx: DeskContext, conversation_id: str, prefer_agent_id: int | None = None
) -> int | None:
    """Give a queued conversation to an available agent with room; the agent's id, or None
    (it stays in the queue). ``prefer_agent_id`` wins if they qualify (N2 → N1 return)."""
    settings = settings_of(ctx)
    if not settings.auto_assign:
        return None
    session = ctx.session
    await session.commit()  # a fresh transaction: every read below sees what is committed
    conversation = await session.scalar(
        select(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == State.QUEUED,
            Conversation.assigned_agent_id.is_(None),
            Conversation.handed_off_at.is_not(None),
            Conversation.controller == Controller.HUMAN,
        )
        .with_for_update(skip_locked=True, of=Conversation)
        .execution_options(populate_existing=True)
    )
    if conversation is None:  # not queued any more, or being placed by someone else
        await session.commit()
        return None
    candidates = list(
        (
            await session.execute(
                select(AgentAvailability, Agent)
                .join(Agent, Agent.id == AgentAvailability.agent_id)
                .where(
                    AgentAvailability.status == "available",
                    Agent.active.is_(True),
                    *_eligible(conversation),
                )
                .order_by(AgentAvailability.agent_id)
                .with_for_update(of=AgentAvailability)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    counts = await open_counts(session, [agent.id for _, agent in candidates])
    with_room = [
        (row, agent)
        for row, agent in candidates
        if counts.get(agent.id, 0) < _capacity(row, settings)
    ]
    if not with_room:
        await session.commit()
        return None
    preferred = [pair for pair in with_room if pair[1].id == prefer_agent_id]
    row, agent = (preferred or sorted(
        with_room,
        key=lambda pair: (
            pair[0].last_assigned_at or _EPOCH, counts.get(pair[1].id, 0), pair[1].id
        ),
    ))[0]  # fmt: skip
    done = await _assign(session, conversation, agent, row, "return" if preferred else "auto")
    await session.commit()
    if done is None:
        return None
    await _announce(ctx, [done])
    return agent.id


async def pull(ctx: DeskContext, agent_id: int) -> list[str]:
    """The agent freed capacity (resolved, derived, returned, lost one): fill it from the queue."""
    settings = settings_of(ctx)
    if not settings.auto_assign:
        return []
    session = ctx.session
    await session.commit()
    agent = await session.get(Agent, agent_id, populate_existing=True)
    if agent is None or agent.role not in ASSIGNABLE_ROLES:
        return []
    row = await session.scalar(
        select(AgentAvailability)
        .where(AgentAvailability.agent_id == agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        await session.commit()
        return []
    assigned = await _pull(session, agent, row, settings)
    await session.commit()
    await _announce(ctx, assigned)
    return [a.conversation_id for a in assigned]


async def _pull(
    session: AsyncSession, agent: Agent, row: AgentAvailability, settings: AssignmentSettings
) -> list[Assigned]:
    """Inside the caller's transaction, with ``row`` locked: the oldest waiting conversations
    of the agent's queue, up to their spare capacity."""
    queue = _queue_of(agent)
    if not settings.auto_assign or row.status != "available" or not agent.active or queue is None:
        return []
    room = _capacity(row, settings) - (await open_counts(session, [agent.id])).get(agent.id, 0)
    if room <= 0:
        return []
    waiting = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.state == State.QUEUED,
                Conversation.assigned_agent_id.is_(None),
                Conversation.handed_off_at.is_not(None),
                Conversation.controller == Controller.HUMAN,
                *queue,
            )
            .order_by(Conversation.handed_off_at, Conversation.id)
            .limit(room)
            .with_for_update(skip_locked=True, of=Conversation)
            .execution_options(populate_existing=True)
        )
    )
    assigned = []
    for conversation in waiting:
        done = await _assign(session, conversation, agent, row, "auto")
        if done is not None:
            assigned.append(done)
    return assigned


async def _assign(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent,
    row: AgentAvailability,
    mode: str,
) -> Assigned | None:
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            Conversation.state == State.QUEUED,
            Conversation.assigned_agent_id.is_(None),
        )
        .values(state=State.ASSIGNED, assigned_agent_id=agent.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row.last_assigned_at = utcnow()
    await session.execute(
        delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation.id)
    )
    notice = await append_message(
        session,
        conversation.id,
        "system",
        notices.taken(agent.full_name, conversation.tier or "n1"),
    )
    audit(
        session,
        "assign",
        conversation_id=conversation.id,
        actor_type="system",
        details={"agent_id": agent.id, "mode": mode, "tier": conversation.tier},
    )
    logger.info(
        "assignment.assigned",
        extra={"conversation_id": conversation.id, "agent_id": agent.id, "mode": mode},
    )
    return Assigned(conversation.id, agent.id, notice, mode)


async def on_assigned(session: AsyncSession, conversation_id: str, agent_id: int) -> None:
    """A person took or was given the conversation: the round-robin moves them to the back,
    and a snooze left from an earlier assignment no longer applies."""
    await session.execute(
        update(AgentAvailability)
        .where(AgentAvailability.agent_id == agent_id)
        .values(last_assigned_at=utcnow())
    )
    await session.execute(
        delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation_id)
    )


async def released(ctx: DeskContext, agent_id: int, conversation_id: str) -> None:
    """After a resolve or a derivation committed: the agent has room again. Never fails the
    operation that called it (it is already done); the periodic sweep retries."""
    try:
        await ctx.session.execute(
            delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation_id)
        )
        await ctx.session.commit()
        await pull(ctx, agent_id)
    except Exception:
        await ctx.session.rollback()
        logger.exception("assignment.pull_failed", extra={"agent_id": agent_id})


async def queued(ctx: DeskContext, conversation_id: str) -> None:
    """After a conversation entered a queue (derivation): route it; never fails the caller."""
    try:
        await route(ctx, conversation_id)
    except Exception:
        await ctx.session.rollback()
        logger.exception("assignment.route_failed", extra={"conversation_id": conversation_id})


# --- supervisors' reassignment and the N2 → N1 return ----------------------------------------


async def reassign(
    ctx: DeskContext, supervisor: Agent, conversation_id: str, agent_id: int
) -> Conversation:
    """A supervisor gives an open conversation to another agent of its tier (and unit). A
    deliberate decision: it may go over the agent's capacity and ignores their status."""
    if not can_supervise(supervisor):
        raise Forbidden("Solo la supervisión puede reasignar conversaciones.")
    session = ctx.session
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.handed_off_at.is_not(None))
        .with_for_update(of=Conversation)
        .execution_options(populate_existing=True)
    )
    if conversation is None:
        raise NotFound("No existe esa conversación.")
    if conversation.controller != Controller.HUMAN or conversation.state not in (
        State.QUEUED,
        State.ASSIGNED,
    ):
        raise Conflict("La conversación ya no está en manos del equipo de atención.")
    target = await session.get(Agent, agent_id)
    if target is None or not target.active:
        raise NotFound("No existe ese informador o su cuenta está desactivada.")
    if conversation.tier == Tier.N2:
        if target.role != "n2" or target.unit_id != conversation.unit_id:
            raise InvalidInput(
                f"{target.full_name} no pertenece a la unidad que tiene la conversación."
            )
    elif target.role != "n1":
        raise InvalidInput(f"{target.full_name} no atiende la cola de N1.")
    previous = conversation.assigned_agent_id
    if previous == target.id:
        raise Conflict(f"La conversación ya la atiende {target.full_name}.")
    conversation.state = State.ASSIGNED
    conversation.assigned_agent_id = target.id
    conversation.updated_at = utcnow()
    await on_assigned(session, conversation_id, target.id)
    notice = await append_message(
        session,
        conversation_id,
        "system",
        notices.taken(target.full_name, conversation.tier or "n1"),
    )
    audit(
        session,
        "reassign",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=supervisor.id,
        details={"from_agent_id": previous, "to_agent_id": target.id, "tier": conversation.tier},
    )
    await session.commit()
    await _announce(ctx, [Assigned(conversation_id, target.id, notice, "reassign")])
    if previous is not None:
        await released(ctx, previous, conversation_id)
    return await get_visible_unchecked(session, conversation_id)


async def return_to_n1(
    ctx: DeskContext, agent: Agent, conversation_id: str, answer: str
) -> Conversation:
    """N2 hands the conversation back to N1 with an internal answer for N1 to relay (never
    shown to the citizen nor sent to the bot): to the N1 agent who derived it if they are
    available with room, else to whoever the round-robin picks, else the N1 queue."""
    session = ctx.session
    conversation = await get_visible(session, agent, conversation_id)
    if agent.role not in ("n2", "admin"):
        raise Forbidden("Solo una unidad especializada (N2) puede devolver conversaciones a N1.")
    _require_assignee(agent, conversation)
    if conversation.tier != Tier.N2:
        raise Conflict("La conversación no está derivada a una unidad especializada (N2).")
    answer = answer.strip()
    if not answer:
        raise InvalidInput("Escriba la respuesta de la unidad para N1.")
    derivation = await session.scalar(
        select(Derivation)
        .where(Derivation.conversation_id == conversation_id, Derivation.returned_at.is_(None))
        .order_by(Derivation.id.desc())
        .limit(1)
    )
    if derivation is None:
        raise Conflict("No hay ninguna derivación abierta de esta conversación que devolver.")
    unit_code = conversation.unit.code if conversation.unit else None
    derivation.returned_at = utcnow()
    derivation.returned_by_agent_id = agent.id
    derivation.return_answer = answer
    conversation.tier = Tier.N1
    conversation.unit_id = None
    conversation.state = State.QUEUED
    conversation.assigned_agent_id = None
    conversation.updated_at = utcnow()
    await session.execute(
        delete(ConversationSnooze).where(ConversationSnooze.conversation_id == conversation_id)
    )
    audit(
        session,
        "return",
        conversation_id=conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        # The answer stays in the derivation record: it may carry personal data.
        details={
            "derivation_id": derivation.id,
            "unit_code": unit_code,
            "to_agent_id": derivation.from_agent_id,
            "answer_chars": len(answer),
        },
    )
    deriver = derivation.from_agent_id
    await session.commit()
    returned = await get_visible_unchecked(session, conversation_id)
    previews = await last_texts(session, [conversation_id])
    summary = ConversationSummary.of(returned, previews.get(conversation_id))
    ctx.hub.publish(
        DESK_TOPIC,
        {
            "type": "conversation.queued",
            "conversation": summary.model_dump(mode="json"),
            "assignment": {"kind": "returned", "to_agent_id": deriver, "unit_code": unit_code},
        },
    )
    try:
        await route(ctx, conversation_id, prefer_agent_id=deriver)
    except Exception:
        await session.rollback()
        logger.exception("assignment.route_failed", extra={"conversation_id": conversation_id})
    await released(ctx, agent.id, conversation_id)
    return await get_visible_unchecked(session, conversation_id)


# --- live events -------------------------------------------------------------------------------


async def _announce(ctx: DeskContext, assigned: list[Assigned]) -> None:
    """After the commit: the citizen's notice goes out and the desk hears of the assignment."""
    for done in assigned:
        conversation = await get_visible_unchecked(ctx.session, done.conversation_id)
        out = [MessageOut.of(done.notice)]
        await ctx.gateway.deliver(conversation, out)
        desk_events.publish_messages(ctx.hub, conversation, out)
        summary = ConversationSummary.of(conversation, done.notice.text)
        ctx.hub.publish(
            DESK_TOPIC,
            {
                "type": "conversation.updated",
                "conversation": summary.model_dump(mode="json"),
                "assignment": {"kind": "assigned", "agent_id": done.agent_id, "mode": done.mode},
            },
        )


def _publish_agent(hub: LiveHub, load: AgentLoadOut) -> None:
    """To the agent themself (their other tabs) and to supervisors."""
    hub.publish(
        DESK_TOPIC,
        {
            "type": "agent.status",
            "agent": load.model_dump(mode="json"),
            "audience": {"agents": [load.id], "supervisors": True},
        },
    )


# --- the app's engine: gateway hooks and the periodic task ------------------------------------


class Assigner:
    """Set on the gateway by the app: routes hand-offs, wakes snoozes when the citizen writes,
    and every ``assignment_tick_seconds`` wakes due snoozes and sweeps the queues."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        gateway: Gateway,
        hub: LiveHub,
        settings: AssignmentSettings,
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.hub = hub
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def queued(self, conversation_id: str) -> None:
        async with self.sessions() as session:
            await queued(DeskContext(session, self.gateway, self.hub), conversation_id)

    async def citizen_wrote(self, conversation_id: str) -> None:
        try:
            async with self.sessions() as session:
                await snooze.wake(session, self.hub, conversation_id, "citizen")
        except Exception:
            logger.exception("snooze.wake_failed", extra={"conversation_id": conversation_id})

    async def tick(self) -> None:
        async with self.sessions() as session:
            await snooze.wake_due(session, self.hub)
            if not self.settings.auto_assign:
                return
            agent_ids = list(
                await session.scalars(
                    select(AgentAvailability.agent_id)
                    .join(Agent, Agent.id == AgentAvailability.agent_id)
                    .where(
                        AgentAvailability.status == "available",
                        Agent.active.is_(True),
                        Agent.role.in_(ASSIGNABLE_ROLES),
                    )
                    .order_by(AgentAvailability.agent_id)
                )
            )
            await session.commit()
            for agent_id in agent_ids:
                await pull(DeskContext(session, self.gateway, self.hub), agent_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="assignment-tick")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.assignment_tick_seconds)
            try:
                await self.tick()
            except Exception:
                logger.exception("assignment.tick_failed")
