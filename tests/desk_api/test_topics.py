"""What conversations are about: the inventory's categories, guessed at hand-off from what the
citizen wrote (when the knowledge base is loaded and fairly sure), corrected by agents (audited),
and the inbox's category filter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from desk_api.models import AuditEvent, Conversation
from desk_api.settings import Settings
from knowledge.base import KnowledgeBase, shared
from knowledge.settings import KnowledgeSettings, get_knowledge_settings
from knowledge.topics import guess_category
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.clients import Citizen, DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


@pytest.fixture(scope="module")
def loaded_kb() -> KnowledgeBase:
    """The app's own (process-wide) knowledge base, loaded as ``make run`` warms it up."""
    kb = shared(get_knowledge_settings())
    kb.warm_up()
    return kb


async def test_guesses_only_when_loaded_and_fairly_sure(loaded_kb: KnowledgeBase) -> None:
    asked = ["hola", "mi hijo come en el colegio y no nos llega para pagar el comedor"]
    assert await guess_category(loaded_kb, asked) == "Educación"
    assert await guess_category(loaded_kb, ["🙂🙂 asdfgh qwerty"]) is None
    assert await guess_category(loaded_kb, []) is None
    cold = KnowledgeBase(KnowledgeSettings())  # not loaded: a hand-off never waits for it
    assert await guess_category(cold, asked) is None
    assert await guess_category(None, asked) is None


async def test_a_hand_off_records_what_it_is_about(
    loaded_kb: KnowledgeBase, citizen: Citizen, login: Login, settings: Settings
) -> None:
    await citizen.say("mi hijo come en el colegio y no nos llega para pagar el comedor")
    await citizen.say("quiero hablar con una persona", payload="/hablar_con_agente")
    n1 = await login("n1")
    detail = await n1.ok("GET", f"/conversations/{citizen.conversation_id}")
    assert detail["category"] == "Educación"
    listed = await n1.ok("GET", "/conversations", params={"view": "all", "category": "Educación"})
    assert [c["id"] for c in listed] == [citizen.conversation_id]
    assert (
        await n1.ok("GET", "/conversations", params={"view": "all", "category": "Vivienda"}) == []
    )


async def test_agents_correct_the_category(web: str, login: Login, settings: Settings) -> None:
    async with database(settings) as s:
        dep = await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-DEP")
        await s.commit()
    n1, n2_other = await login("n1"), await login("n2_other")
    categories = await n1.ok("GET", "/categories")
    assert len(categories) == 21 and categories == sorted(categories)
    assert "Vivienda" in categories and "Educación" in categories

    path = f"/conversations/{dep}/category"
    changed = await n1.ok("PUT", path, json={"category": "Vivienda"})
    assert changed["category"] == "Vivienda"
    bad = await n1.call("PUT", path, json={"category": "Astronáutica"})
    assert bad.status_code == 422 and "Astronáutica" in bad.json()["detail"]
    assert (await n2_other.call("PUT", path, json={"category": "Empleo"})).status_code == 404
    cleared = await n1.ok("PUT", path, json={"category": None})
    assert cleared["category"] is None
    async with database(settings) as s:
        assert (await s.get(Conversation, dep)).category is None  # type: ignore[union-attr]
        trail = list(
            await s.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.conversation_id == dep, AuditEvent.action == "category.set"
                )
            )
        )
    assert trail == [{"from": None, "to": "Vivienda"}, {"from": "Vivienda", "to": None}]
    anonymous = DeskAgent(web)
    assert (await anonymous.call("GET", "/categories")).status_code == 401
    await anonymous.aclose()
