"""Desk API: permissions, atomic take, clear 4xx answers, append-only audit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from desk_api.db import make_engine
from desk_api.settings import Settings
from tests.support.clients import Citizen, DeskAgent

Login = Callable[[str], Awaitable[DeskAgent]]


async def handed_off(citizen: Citizen) -> str:
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    return citizen.conversation_id


async def test_login_errors_and_missing_token(login: Login, web: str) -> None:
    agent = DeskAgent(web)
    bad = await agent.call("POST", "/auth/login", json={"username": "informador", "password": "x"})
    assert bad.status_code == 401 and bad.json()["detail"] == "Usuario o contraseña incorrectos."
    anonymous = await agent.call("GET", "/conversations")
    assert anonymous.status_code == 401
    agent.http.headers["Authorization"] = "Bearer forged.token.value"
    forged = await agent.call("GET", "/me")
    assert forged.status_code == 401 and "Sesión no válida" in forged.json()["detail"]
    await agent.aclose()
    me = await (await login("n2")).ok("GET", "/me")
    assert me["role"] == "n2" and me["unit"]["code"] == "SAMPLE-DEP"


async def test_take_is_atomic_and_a_second_take_conflicts(citizen: Citizen, login: Login) -> None:
    cid = await handed_off(citizen)
    a, b = await login("n1"), await login("n1_b")
    first, second = await asyncio.gather(
        a.call("POST", f"/conversations/{cid}/take"), b.call("POST", f"/conversations/{cid}/take")
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["detail"] == "Otro informador ya ha tomado esta conversación."
    again = await a.call("POST", f"/conversations/{cid}/take")
    assert again.status_code == 409
    audit = await a.ok("GET", f"/conversations/{cid}/audit")
    assert [e["action"] for e in audit].count("take") == 1
    history = (await citizen.history())["messages"]
    assert sum("Le atiende" in m["text"] for m in history) == 1


async def test_permissions(citizen: Citizen, login: Login) -> None:
    cid = await handed_off(citizen)
    n1, n1_b, n2 = await login("n1"), await login("n1_b"), await login("n2")
    # N2 does not see conversations that were not derived to its unit.
    hidden = await n2.call("GET", f"/conversations/{cid}")
    assert hidden.status_code == 404
    assert (await n2.call("POST", f"/conversations/{cid}/take")).status_code == 404
    # Replying before taking, and someone else's conversation.
    early = await n1.call("POST", f"/conversations/{cid}/messages", json={"text": "hola"})
    assert early.status_code == 409 and "tomar" in early.json()["detail"]
    await n1.ok("POST", f"/conversations/{cid}/take")
    other = await n1_b.call("POST", f"/conversations/{cid}/messages", json={"text": "hola"})
    assert other.status_code == 403
    assert (await n1_b.call("POST", f"/conversations/{cid}/resolve")).status_code == 403
    # Derivation needs a real unit and a reason; N2 cannot derive.
    unknown = await n1.call(
        "POST", f"/conversations/{cid}/derive", json={"unit_code": "NOPE", "reason": "x"}
    )
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["detail"]
    no_reason = await n1.call(
        "POST", f"/conversations/{cid}/derive", json={"unit_code": "SAMPLE-DEP", "reason": "  "}
    )
    assert no_reason.status_code == 422 and "motivo" in no_reason.json()["detail"]
    await n1.ok(
        "POST",
        f"/conversations/{cid}/derive",
        json={"unit_code": "SAMPLE-DEP", "reason": "Expediente de dependencia"},
    )
    other_unit = await login("n2_other")
    assert (await other_unit.call("GET", f"/conversations/{cid}")).status_code == 404
    assert (await n1.call("POST", f"/conversations/{cid}/take")).status_code == 403
    await n2.ok("POST", f"/conversations/{cid}/take")
    refused = await n2.call(
        "POST", f"/conversations/{cid}/derive", json={"unit_code": "SAMPLE-DEP", "reason": "x"}
    )
    assert refused.status_code == 403
    await n2.ok("POST", f"/conversations/{cid}/resolve")
    closed = await n2.call("POST", f"/conversations/{cid}/messages", json={"text": "hola"})
    assert closed.status_code == 409
    # Nothing was stored by the refused calls: only the two agents' notices, no agent text.
    history = (await citizen.history())["messages"]
    assert [m for m in history if m["sender"] == "agent"] == []


async def test_bad_agent_input(citizen: Citizen, login: Login) -> None:
    cid = await handed_off(citizen)
    n1 = await login("n1")
    await n1.ok("POST", f"/conversations/{cid}/take")
    empty = await n1.call("POST", f"/conversations/{cid}/messages", json={"text": ""})
    assert empty.status_code == 422
    huge = await n1.call("POST", f"/conversations/{cid}/messages", json={"text": "a" * 20_000})
    assert huge.status_code == 422
    broken = await n1.call(
        "POST",
        f"/conversations/{cid}/messages",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and "JSON" in broken.json()["detail"]
    unknown = await n1.call("POST", "/conversations/does-not-exist/take")
    assert unknown.status_code == 404
    bad_view = await n1.call("GET", "/conversations", params={"view": "everything"})
    assert bad_view.status_code == 422
    detail = await n1.ok("GET", f"/conversations/{cid}")
    assert [m for m in detail["messages"] if m["sender"] == "agent"] == []


async def test_conversations_still_with_the_bot_are_not_in_the_desk(
    citizen: Citizen, login: Login
) -> None:
    await citizen.say("hola")
    n1 = await login("admin")
    assert await n1.ok("GET", "/conversations", params={"view": "all"}) == []
    assert (await n1.call("GET", f"/conversations/{citizen.conversation_id}")).status_code == 404


async def test_audit_trail_is_append_only(citizen: Citizen, settings: Settings) -> None:
    await handed_off(citizen)
    engine = make_engine(settings.database_url)
    try:
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar()
        assert count == 2  # conversation.start + handoff
    finally:
        await engine.dispose()
