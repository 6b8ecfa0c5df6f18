"""Automatic assignment under concurrency, on PostgreSQL (row locks): hand-offs, agents
becoming available and resolves all at once never exceed a capacity nor assign a conversation
twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from connectors.gateway import Gateway
from connectors.rasa_client import RasaClient
from desk_api.assignment_models import AgentAvailability
from desk_api.db import make_engine, make_sessionmaker
from desk_api.live import LiveHub
from desk_api.models import Agent, AuditEvent, Conversation, Message
from desk_api.services import accounts, assignment
from desk_api.services.desk import DeskContext
from tests.desk_api.test_inbox_views import add_conversation

AGENTS = 5
CAPACITY = 3
CONVERSATIONS = 24


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL only (SQLite serialises writers anyway)")
    return database_url


async def test_concurrent_hand_offs_and_status_changes_respect_capacity(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=40, max_overflow=0)
    sessions = make_sessionmaker(engine)
    hub = LiveHub()
    rasa = RasaClient("http://127.0.0.1:9", None, 1)
    gateway = Gateway(sessions, rasa, hub, 4000)
    try:
        async with sessions() as s:
            ids = []
            for i in range(AGENTS):
                agent = await accounts.create_agent(
                    s, f"carrera{i}", f"Informador {i}", "n1", "contraseña-larga"
                )
                ids.append(agent.id)
                s.add(AgentAvailability(agent_id=agent.id, status="away", capacity=CAPACITY))
            conversations = [
                await add_conversation(s, state="queued", hours_ago=1 + i / 100)
                for i in range(CONVERSATIONS)
            ]
            await s.commit()

        async def with_ctx(fn: Callable[[DeskContext], Awaitable[object]]) -> None:
            async with sessions() as session:
                await fn(DeskContext(session, gateway, hub))

        async def available(agent_id: int) -> None:
            async def go(ctx: DeskContext) -> None:
                agent = await ctx.session.get(Agent, agent_id)
                assert agent is not None
                await assignment.set_status(ctx, agent, "available")

            await with_ctx(go)

        def routed(cid: str) -> Callable[[DeskContext], Awaitable[object]]:
            return lambda ctx: assignment.route(ctx, cid)

        def pulled(agent_id: int) -> Callable[[DeskContext], Awaitable[object]]:
            return lambda ctx: assignment.pull(ctx, agent_id)

        # Everything at once: every conversation routed (twice), every agent becoming
        # available, and pulls for each of them.
        tasks = [with_ctx(routed(c)) for c in conversations * 2]
        tasks += [available(a) for a in ids] + [with_ctx(pulled(a)) for a in ids]
        order = list(range(len(tasks)))
        order = order[::2] + order[1::2]  # interleave kinds of work
        await asyncio.gather(*(tasks[i] for i in order))

        async with sessions() as s:
            load = Counter(
                dict(
                    (
                        await s.execute(
                            select(Conversation.assigned_agent_id, func.count())
                            .where(Conversation.state == "assigned")
                            .group_by(Conversation.assigned_agent_id)
                        )
                    ).all()
                )
            )
            assigns = Counter(
                await s.scalars(
                    select(AuditEvent.conversation_id).where(AuditEvent.action == "assign")
                )
            )
            notices = Counter(
                await s.scalars(
                    select(Message.conversation_id).where(Message.text.startswith("Le atiende"))
                )
            )
            queued = await s.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.state == "queued")
            )
        assert max(load.values()) <= CAPACITY
        assert sum(load.values()) == AGENTS * CAPACITY  # every slot filled: nothing lost
        assert set(load) == set(ids)
        assert queued == CONVERSATIONS - AGENTS * CAPACITY
        assert all(n == 1 for n in assigns.values()) and len(assigns) == AGENTS * CAPACITY
        assert notices == assigns  # the citizen told once, by whoever won

        # Then resolves free room while new hand-offs arrive: still within capacity.
        async with sessions() as s:
            first = list(
                await s.scalars(
                    select(Conversation).where(Conversation.state == "assigned").limit(AGENTS)
                )
            )
            for c in first:
                c.state = "resolved"
                c.controller = "bot"
            more = [await add_conversation(s, state="queued") for _ in range(6)]
            await s.commit()
        freed = [c.assigned_agent_id for c in first]
        await asyncio.gather(
            *(with_ctx(pulled(a)) for a in freed if a is not None),
            *(with_ctx(routed(c)) for c in more),
        )
        async with sessions() as s:
            rows = (
                await s.execute(
                    select(Conversation.assigned_agent_id, func.count())
                    .where(Conversation.state == "assigned")
                    .group_by(Conversation.assigned_agent_id)
                )
            ).all()
            twice = await s.scalar(
                select(func.count()).select_from(
                    select(AuditEvent.conversation_id)
                    .where(AuditEvent.action == "assign")
                    .group_by(AuditEvent.conversation_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        assert all(count <= CAPACITY for _, count in rows)
        assert sum(count for _, count in rows) == AGENTS * CAPACITY  # the freed room refilled
        assert twice == 0
    finally:
        await rasa.aclose()
        await engine.dispose()
