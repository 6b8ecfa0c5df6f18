"""The desk's inbox: views, filters and keyset pagination, for n1, n2 of unit A and B, admin.

Conversations are written straight into the database (states, tiers, units, times), then read
through the real API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import ConversationLabel, Label
from desk_api.models import Agent, Conversation, Unit, utcnow
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


@dataclass
class Seed:
    """What a test seeded: conversation ids by name, and the ids of agents and labels."""

    ids: dict[str, str]
    agents: dict[str, int]
    labels: dict[str, int]


async def agent_ids(session: AsyncSession) -> dict[str, int]:
    return {a.username: a.id for a in await session.scalars(select(Agent))}


async def add_conversation(
    session: AsyncSession,
    *,
    state: str,
    tier: str | None = "n1",
    unit: str | None = None,
    agent_id: int | None = None,
    channel: str = "webchat",
    hours_ago: float = 1,
    texts: tuple[tuple[str, str], ...] = (("citizen", "Quiero hablar con una persona"),),
    handoff: dict[str, Any] | None = None,
    outbound: str = "live",
    identity_id: int | None = None,
) -> str:
    """A conversation in the given state; handed off and last touched ``hours_ago``."""
    moment = utcnow() - timedelta(hours=hours_ago)
    unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit)) if unit else None
    conversation = Conversation(
        id=uuid.uuid4().hex,  # hex: the database's collation sorts it as Python does
        channel=channel,
        controller="bot" if state in ("bot", "resolved") else "human",
        state=state,
        tier=None if state == "bot" else tier,
        unit_id=unit_id,
        assigned_agent_id=agent_id,
        handed_off_at=None if state == "bot" else moment,
        handoff=handoff or ({"reason": "citizen_request"} if state != "bot" else None),
        outbound=outbound,
        identity_id=identity_id,
        created_at=moment - timedelta(minutes=5),
        updated_at=moment,
    )
    session.add(conversation)
    await session.flush()
    for sender, text in texts:
        await append_message(session, conversation.id, sender, text)
    await session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(updated_at=moment)
    )
    return conversation.id


async def add_label(session: AsyncSession, name: str, color: str, *conversation_ids: str) -> int:
    label = Label(name=name, color=color)
    session.add(label)
    await session.flush()
    for conversation_id in conversation_ids:
        session.add(ConversationLabel(conversation_id=conversation_id, label_id=label.id))
    return label.id


async def seed_inbox(settings: Settings) -> Seed:
    """Eleven conversations across tiers, units, states and channels (c10 never left the bot)."""
    async with database(settings) as s:
        agents = await agent_ids(s)
        me, specialist, colleague = (
            agents["informador"],
            agents["especialista"],
            agents["informador2"],
        )
        said = (("citizen", "Hola"), ("agent", "Le escucho"))
        asked = (("agent", "¿Me dice su número?"), ("citizen", "Un momento"))
        ids = {
            "c1": await add_conversation(s, state="queued", hours_ago=5, texts=(
                ("citizen", "Quiero pedir la beca de comedor"),)),
            "c2": await add_conversation(s, state="queued", hours_ago=5, channel="telegram"),
            "c3": await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-DEP",
                                         hours_ago=3, channel="whatsapp"),
            "c4": await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-OTRA",
                                         hours_ago=2.5),
            "c5": await add_conversation(s, state="assigned", agent_id=me, hours_ago=2, texts=said),
            "c6": await add_conversation(s, state="assigned", agent_id=me, hours_ago=1.5,
                                         channel="email", texts=asked),
            "c7": await add_conversation(s, state="assigned", tier="n2", unit="SAMPLE-DEP",
                                         agent_id=specialist, hours_ago=1, texts=said),
            "c8": await add_conversation(s, state="resolved", hours_ago=10),
            "c9": await add_conversation(s, state="resolved", tier="n2", unit="SAMPLE-DEP",
                                         hours_ago=9),
            "c10": await add_conversation(s, state="bot", hours_ago=0.5, texts=(
                ("citizen", "Quiero pedir la beca de comedor"),)),
            "c11": await add_conversation(s, state="assigned", agent_id=colleague, hours_ago=0.2),
        }  # fmt: skip
        # c1 and c2 share their times: the id breaks the tie, and no page loses one of them.
        c1 = await s.get(Conversation, ids["c1"])
        assert c1 is not None
        await s.execute(
            update(Conversation)
            .where(Conversation.id == ids["c2"])
            .values(updated_at=c1.updated_at, handed_off_at=c1.handed_off_at)
        )
        labels = {"urgente": await add_label(s, "Urgente", "#d1242f", ids["c1"], ids["c7"])}
        await s.commit()
    return Seed(ids, agents, labels)


async def listed(agent: DeskAgent, **params: Any) -> list[str]:
    body = await agent.ok("GET", "/conversations", params=params)
    return [c["id"] for c in body]


def named(seed: Seed, *names: str) -> list[str]:
    return [seed.ids[n] for n in names]


def by_time(seed: Seed, *names: str) -> list[str]:
    """Newest first, as every view but the queue lists them (c1/c2 tie: higher id first)."""
    order = ["c11", "c10", "c7", "c6", "c5", "c4", "c3", "c1c2", "c9", "c8"]
    result = []
    for key in order:
        if key == "c1c2":
            result += sorted((seed.ids[n] for n in ("c1", "c2") if n in names), reverse=True)
        elif key in names:
            result.append(seed.ids[key])
    return result


@pytest.fixture
async def seed(web: str, settings: Settings) -> Seed:
    return await seed_inbox(settings)


async def test_views_for_each_role(seed: Seed, login: Login) -> None:
    n1, n2, n2_other, admin = (
        await login("n1"), await login("n2"), await login("n2_other"), await login("admin")
    )  # fmt: skip
    everything = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c11")
    queue_n1 = await listed(n1, view="queue")
    assert queue_n1 == sorted(named(seed, "c1", "c2"))  # oldest first; the tie by id
    assert await listed(n1) == queue_n1  # the default view, as before
    assert await listed(n1, view="mine") == by_time(seed, "c5", "c6")
    assert await listed(n1, view="waiting") == named(seed, "c5")
    assert await listed(n1, view="resolved") == by_time(seed, "c8", "c9")
    assert await listed(n1, view="all") == by_time(seed, *everything)
    no_unit = await n1.call("GET", "/conversations", params={"view": "unit"})
    assert no_unit.status_code == 422 and "Mi unidad" in no_unit.json()["detail"]

    assert await listed(n2, view="queue") == named(seed, "c3")
    assert await listed(n2, view="mine") == named(seed, "c7")
    assert await listed(n2, view="waiting") == named(seed, "c7")
    assert await listed(n2, view="unit") == by_time(seed, "c3", "c7", "c9")
    assert await listed(n2, view="resolved") == named(seed, "c9")
    assert await listed(n2, view="all") == by_time(seed, "c3", "c7", "c9")

    assert await listed(n2_other, view="queue") == named(seed, "c4")
    assert await listed(n2_other, view="unit") == named(seed, "c4")
    assert await listed(n2_other, view="all") == named(seed, "c4")
    assert await listed(n2_other, view="waiting") == []

    assert await listed(admin, view="queue") == [*sorted(named(seed, "c1", "c2")), *named(
        seed, "c3", "c4")]  # fmt: skip
    assert await listed(admin, view="all") == by_time(seed, *everything)
    assert await listed(admin, view="mine") == []
    stranger = DeskAgent(str(n1.http.base_url))
    assert (await stranger.call("GET", "/conversations")).status_code == 401
    await stranger.aclose()


async def test_keyset_pages_walk_everything_once(seed: Seed, login: Login) -> None:
    admin, n2 = await login("admin"), await login("n2")
    whole = await listed(admin, view="all", limit=200)
    walked: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"view": "all", "limit": 3}
        if cursor:
            params["before"] = cursor
        response = await admin.call("GET", "/conversations", params=params)
        assert response.status_code == 200, response.text
        walked += [c["id"] for c in response.json()]
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert walked == whole and pages == 4  # 10 conversations: 3 + 3 + 3 + 1

    first = await admin.call("GET", "/conversations", params={"view": "queue", "limit": 2})
    second = await listed(admin, view="queue", limit=2, before=first.headers["X-Next-Cursor"])
    assert [c["id"] for c in first.json()] + second == await listed(admin, view="queue")
    # A cursor belongs to its view; a made-up one is refused clearly; so are silly limits.
    for params in (
        {"view": "all", "before": first.headers["X-Next-Cursor"]},
        {"view": "all", "before": "not-a-cursor"},
    ):
        wrong = await admin.call("GET", "/conversations", params=params)
        assert wrong.status_code == 422 and "cursor" in wrong.json()["detail"]
    for limit in (0, 201):
        too = await admin.call("GET", "/conversations", params={"limit": limit})
        assert too.status_code == 422
    # N2's pages stay inside what N2 may see.
    one = await n2.call("GET", "/conversations", params={"view": "unit", "limit": 1})
    rest = await listed(n2, view="unit", before=one.headers["X-Next-Cursor"])
    assert [c["id"] for c in one.json()] + rest == by_time(seed, "c3", "c7", "c9")


async def test_filters_channel_label_and_words(seed: Seed, login: Login) -> None:
    n1, n2, admin = await login("n1"), await login("n2"), await login("admin")
    assert await listed(admin, view="all", channel="telegram") == named(seed, "c2")
    assert await listed(admin, view="queue", channel="whatsapp") == named(seed, "c3")
    urgent = seed.labels["urgente"]
    assert await listed(n1, view="all", label=urgent) == by_time(seed, "c1", "c7")
    assert await listed(n2, view="all", label=urgent) == named(seed, "c7")
    assert await listed(n1, view="queue", label=urgent) == named(seed, "c1")
    # Words of the transcript: "becas" finds "beca" (c10 has it too, but never left the bot).
    assert await listed(n1, view="all", q="becas") == named(seed, "c1")
    assert await listed(n2, view="all", q="becas") == []
    short = await n1.call("GET", "/conversations", params={"view": "all", "q": "b"})
    assert short.status_code == 422 and "2 caracteres" in short.json()["detail"]

    rows = await n1.ok("GET", "/conversations", params={"view": "queue"})
    by_id = {row["id"]: row for row in rows}
    assert by_id[seed.ids["c1"]]["labels"] == [
        {"id": urgent, "name": "Urgente", "color": "#d1242f"}
    ]
    assert by_id[seed.ids["c2"]]["labels"] == []
    assert by_id[seed.ids["c1"]]["last_message"] == "Quiero pedir la beca de comedor"
