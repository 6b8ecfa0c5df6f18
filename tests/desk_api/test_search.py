"""Search over transcripts: Spanish stemming, only what the agent may see, newest first, snippets
with the matched words marked; PostgreSQL through its GIN index, SQLite through folded LIKE."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from desk_api.models import Agent, Message
from desk_api.services import search
from desk_api.services.search import matches
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


async def seed_transcripts(settings: Settings) -> dict[str, str]:
    """Written in this order, so message ids (and times) grow down the list."""
    async with database(settings) as s:
        ids = {
            "n1": await add_conversation(s, state="queued", hours_ago=4, texts=(
                ("citizen", "Quiero pedir la beca de comedor para mi hija"),
                ("bot", "Para las becas de comedor necesita el certificado de empadronamiento."),
                ("system", "Beca: aviso interno del sistema"),
            )),
            "dep": await add_conversation(s, state="assigned", tier="n2", unit="SAMPLE-DEP",
                                          hours_ago=3, texts=(
                ("citizen", "Mi madre necesita la ayuda de dependencia y una BECA de residencia"),
            )),
            "otra": await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-OTRA",
                                           hours_ago=2, texts=(
                ("citizen", "Pregunto por la beca de transporte escolar, y por la información"),
            )),
            "bot": await add_conversation(s, state="bot", hours_ago=1, texts=(
                ("citizen", "¿Hay becas para comedor?"),
            )),
        }  # fmt: skip
        await s.commit()
    return ids


@pytest.fixture
async def seeded_transcripts(web: str, settings: Settings) -> dict[str, str]:
    return await seed_transcripts(settings)


async def found(agent: DeskAgent, q: str, **params: Any) -> list[dict[str, Any]]:
    return list(await agent.ok("GET", "/search", params={"q": q, **params}))


def marked(hit: dict[str, Any]) -> list[str]:
    return [hit["snippet"][start:end] for start, end in hit["highlights"]]


async def test_stemming_visibility_order_and_snippets(
    seeded_transcripts: dict[str, str], login: Login
) -> None:
    ids = seeded_transcripts
    n1, n2, n2_other, admin = (
        await login("n1"), await login("n2"), await login("n2_other"), await login("admin")
    )  # fmt: skip
    hits = await found(n1, "becas")  # the plural finds the singular (and «BECA»)
    assert [(h["conversation"]["id"], h["sender"], h["seq"]) for h in hits] == [
        (ids["otra"], "citizen", 1),
        (ids["dep"], "citizen", 1),
        (ids["n1"], "bot", 2),
        (ids["n1"], "citizen", 1),
    ]  # newest first; never the system's notice, never a conversation still with the bot
    assert [marked(h) for h in hits] == [["beca"], ["BECA"], ["becas"], ["beca"]]
    assert "beca de comedor para mi hija" in hits[3]["snippet"]
    assert hits[1]["conversation"]["unit"]["code"] == "SAMPLE-DEP"
    assert hits[0]["conversation"]["labels"] == []
    assert datetime.fromisoformat(hits[0]["created_at"]).utcoffset() == timedelta(0)
    assert [h["message_id"] for h in await found(admin, "becas")] == [h["message_id"] for h in hits]
    # N2 finds only its unit's conversations.
    assert [h["conversation"]["id"] for h in await found(n2, "becas")] == [ids["dep"]]
    assert [h["conversation"]["id"] for h in await found(n2_other, "becas")] == [ids["otra"]]
    # Case does not matter; several words must all appear; «-palabra» leaves it out; limit.
    assert [h["conversation"]["id"] for h in await found(n1, "RESIDENCIA")] == [ids["dep"]]
    assert [h["seq"] for h in await found(n1, "becas comedor")] == [2, 1]
    assert [h["conversation"]["id"] for h in await found(n1, "beca -transporte", limit=2)] == [
        ids["dep"],
        ids["n1"],
    ]
    assert await found(n1, "subvenciones") == []


async def test_accents_on_sqlite(
    seeded_transcripts: dict[str, str], login: Login, database_url: str
) -> None:
    """SQLite folds accents; PostgreSQL's 'spanish' configuration stems but keeps them."""
    n1 = await login("n1")
    assert [h["conversation"]["id"] for h in await found(n1, "información")] == [
        seeded_transcripts["otra"]
    ]
    if database_url.startswith("sqlite"):
        hits = await found(n1, "INFORMACION")
        assert [marked(h) for h in hits] == [["información"]]


async def test_bad_queries_are_refused_clearly(web: str, login: Login) -> None:
    n1 = await login("n1")
    for q, words in (("b", "2 caracteres"), ("  ", "2 caracteres"), ("¿?", "palabra")):
        response = await n1.call("GET", "/search", params={"q": q})
        assert response.status_code == 422 and words in response.json()["detail"], q
    missing = await n1.call("GET", "/search")
    assert missing.status_code == 422 and "«q»" in missing.json()["detail"]
    long = await n1.call("GET", "/search", params={"q": "beca " * 50})
    assert long.status_code == 422 and "200" in long.json()["detail"]
    assert (await n1.call("GET", "/search", params={"q": "beca", "limit": 51})).status_code == 422
    stranger = DeskAgent(web)
    assert (await stranger.call("GET", "/search", params={"q": "beca"})).status_code == 401
    await stranger.aclose()


async def test_postgresql_uses_the_full_text_index(
    seeded_transcripts: dict[str, str], settings: Settings, database_url: str
) -> None:
    """The search's condition is on the indexed stored vector (else the index is never used)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the GIN index exists only in PostgreSQL")
    async with database(settings) as session:
        condition = matches(session, "becas")
        query = select(Message.id).where(condition)
        await session.execute(text("SET enable_seqscan = off"))
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
    assert any("ix_messages_search_vector" in line for line in plan), plan


@pytest.mark.parametrize("role", ["n1", "n2", "n2_other", "admin"])
async def test_both_postgresql_strategies_find_the_same_page(
    seeded_transcripts: dict[str, str],
    seeded: dict[str, tuple[str, str]],
    settings: Settings,
    database_url: str,
    role: str,
) -> None:
    """Few matches are read through the GIN index, many by walking newest first (a cap of 1
    forces the walk here): the same hits either way, for every kind of agent."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one strategy")
    async with database(settings) as session:
        agent = await session.scalar(select(Agent).where(Agent.username == seeded[role][0]))
        assert agent is not None
        for q, limit in (("becas", 20), ("becas", 1), ("beca -transporte", 20), ("ayuda", 5)):
            by_index = await search.search(session, agent, q, limit)
            by_walk = await search.search(session, agent, q, limit, candidate_cap=1)
            assert [h.message_id for h in by_walk] == [h.message_id for h in by_index], (q, limit)
        assert await search.search(session, agent, "becas", 20)  # the seeded data is found
