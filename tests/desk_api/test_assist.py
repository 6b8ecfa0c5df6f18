"""Agent assist: the desk suggests procedures for what the citizen asked, with ready answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen, DeskAgent
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_suggestions_follow_the_citizen_and_the_informers_own_search(
    citizen: Citizen, login: Login
) -> None:
    await citizen.say("hola")
    await citizen.say("Horario de atención", payload="/horario_atencion")  # a greeting button
    await citizen.say("mi hijo come en el colegio y no nos llega para pagar el comedor")
    await citizen.say("quiero hablar con una persona", payload="/hablar_con_agente")
    n1 = await login("n1")
    path = f"/conversations/{citizen.conversation_id}/suggestions"
    assist = await n1.ok("GET", path)
    assert "comedor" in assist["query"]
    assert "Horario" not in assist["query"], "pressed buttons are not what the citizen asked"
    first = assist["suggestions"][0]
    assert first["id"] == "PROC-0052"
    assert first["title"] in first["answer"] and "Más información:" in first["answer"]
    assert len(assist["suggestions"]) <= 5
    own = await n1.ok("GET", path, params={"q": "licencia de pesca", "k": 2})
    assert own["query"] == "licencia de pesca"
    assert own["suggestions"][0]["id"] == "PROC-0161"
    assert len(own["suggestions"]) == 2
    nothing = await n1.ok("GET", path, params={"q": "🙂🙂"})
    assert nothing["suggestions"] == [] and nothing["confident"] is False


async def test_suggestions_respect_who_may_see_the_conversation(
    citizen: Citizen, login: Login
) -> None:
    await citizen.say("quiero hablar con una persona", payload="/hablar_con_agente")
    path = f"/conversations/{citizen.conversation_id}/suggestions"
    other_unit = await login("n2_other")
    assert (await other_unit.call("GET", path)).status_code in (403, 404)
    n1 = await login("n1")
    missing = await n1.call("GET", "/conversations/no-existe/suggestions")
    assert missing.status_code == 404
    too_long = await n1.call("GET", path, params={"q": "x" * 1001})
    assert too_long.status_code == 422


async def test_without_a_knowledge_base_the_desk_says_so(
    settings: Settings, seeded: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    broken = KnowledgeSettings(
        inventory=tmp_path / "no-such-feed.jsonl", index_dir=tmp_path / "index", warm_up=False
    )
    with web_app_in_thread(settings, broken) as base_url:
        citizen = await Citizen(base_url).start()
        await citizen.say("quiero hablar con una persona", payload="/hablar_con_agente")
        n1 = await DeskAgent(base_url).login(*seeded["n1"])
        response = await n1.call("GET", f"/conversations/{citizen.conversation_id}/suggestions")
        assert response.status_code == 503
        assert "no está disponible" in response.json()["detail"]
        await citizen.aclose()
        await n1.aclose()
