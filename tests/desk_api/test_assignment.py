"""Assignment: agents' status and capacity, round-robin on hand-off and derivation, pulling
when room frees up, supervisors' reassignment and the N2 → N1 return.

The bot is unreachable on purpose (a closed port): every citizen message is handed off to N1
(reason ``bot_unavailable``), which is the queue these tests need, without a Rasa server."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.processes import free_port
from desk_api.assignment_models import AgentAvailability
from desk_api.models import AuditEvent, Conversation, Derivation, Message
from desk_api.settings import Settings
from tests.support.clients import EVENT_TIMEOUT, Citizen, DeskAgent, next_event
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
ANSWER = "RESPUESTA-UNIDAD: la solicitud de dependencia está en fase de valoración"


def bot_down_settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The real app with the bot down: citizens are handed off to N1 at their first message."""
    monkeypatch.setenv("TUA_KB_WARM_UP", "false")  # these tests never ask the knowledge base
    return Settings(
        database_url=database_url,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_timeout_seconds=2,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return bot_down_settings(database_url, tmp_path, monkeypatch)


async def event_where(
    ws: websockets.ClientConnection, wanted: str, test: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next event of type ``wanted`` that passes ``test``."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while True:
            event = await next_event(ws, wanted)
            if test(event):
                return event


async def hand_off(web: str) -> Citizen:
    citizen = await Citizen(web).start()
    answer = await citizen.say("Quiero hablar con una persona")
    assert answer["controller"] == "human", answer
    return citizen


async def status(agent: DeskAgent, value: str) -> dict[str, Any]:
    return dict(await agent.ok("PUT", "/agents/me/status", json={"status": value}))


async def detail(agent: DeskAgent, cid: str) -> dict[str, Any]:
    return dict(await agent.ok("GET", f"/conversations/{cid}"))


async def listed(agent: DeskAgent, view: str) -> list[str]:
    return [c["id"] for c in await agent.ok("GET", "/conversations", params={"view": view})]


async def citizen_texts(citizen: Citizen) -> list[str]:
    return [m["text"] for m in (await citizen.history())["messages"]]


async def test_status_capacity_and_the_supervisors_panel(
    web: str, login: Login, settings: Settings
) -> None:
    n1, n1_b, admin = await login("n1"), await login("n1_b"), await login("admin")
    mine = await n1.ok("GET", "/agents/me/status")
    assert mine["status"] == "away" and mine["capacity"] == 5 and mine["capacity_is_default"]
    async with (
        websockets.connect(admin.ws_url()) as supervisor_ws,
        websockets.connect(n1_b.ws_url()) as colleague_ws,
    ):
        await asyncio.sleep(0.2)
        busy = await status(n1, "busy")
        assert busy["status"] == "busy" and busy["open_conversations"] == 0
        event = await next_event(supervisor_ws, "agent.status")
        assert event["agent"]["id"] == n1.me["id"] and event["agent"]["status"] == "busy"
        # A colleague is not told (only the agent and supervisors are).
        await status(n1_b, "available")
        own = await next_event(colleague_ws, "agent.status")
        assert own["agent"]["id"] == n1_b.me["id"]
    bad = await n1.call("PUT", "/agents/me/status", json={"status": "de vacaciones"})
    assert bad.status_code == 422
    # Supervisors only: the panel and the capacities.
    assert (await n1.call("GET", "/agents")).status_code == 403
    forbidden = await n1.call("PUT", f"/agents/{n1_b.me['id']}/capacity", json={"capacity": 2})
    assert forbidden.status_code == 403 and "supervisión" in forbidden.json()["detail"]
    changed = await admin.ok("PUT", f"/agents/{n1.me['id']}/capacity", json={"capacity": 2})
    assert changed["capacity"] == 2 and not changed["capacity_is_default"]
    too_big = await admin.call("PUT", f"/agents/{n1.me['id']}/capacity", json={"capacity": 0})
    assert too_big.status_code == 422
    assert (
        await admin.call("PUT", "/agents/99999/capacity", json={"capacity": 3})
    ).status_code == 404
    panel = {a["username"]: a for a in await admin.ok("GET", "/agents")}
    assert panel["informador"]["status"] == "busy" and panel["informador"]["capacity"] == 2
    assert panel["informador2"]["status"] == "available"
    assert panel["especialista"]["status"] == "away"  # never set: new agents start away
    assert "admin" not in panel  # supervisors are not assigned conversations
    # Logging out sets «away»; everything is audited, with who and what.
    assert (await n1.ok("POST", "/auth/logout"))["status"] == "away"
    async with database(settings) as s:
        trail = [
            (e.actor_id, e.details)
            for e in await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["agent.status", "agent.capacity"]))
                .order_by(AuditEvent.id)
            )
        ]
    me, other = str(n1.me["id"]), str(n1_b.me["id"])
    assert trail == [
        (me, {"agent_id": n1.me["id"], "from": "away", "to": "busy"}),
        (other, {"agent_id": n1_b.me["id"], "from": "away", "to": "available"}),
        (str(admin.me["id"]), {"agent_id": n1.me["id"], "from": None, "to": 2}),
        (me, {"agent_id": n1.me["id"], "from": "busy", "to": "away"}),
    ]
    anonymous = DeskAgent(web)
    assert (await anonymous.call("GET", "/agents/me/status")).status_code == 401
    await anonymous.aclose()


async def test_hand_offs_go_round_robin_within_capacity(
    web: str, login: Login, settings: Settings
) -> None:
    n1, n1_b, admin = await login("n1"), await login("n1_b"), await login("admin")
    for agent in (n1, n1_b):
        await admin.ok("PUT", f"/agents/{agent.me['id']}/capacity", json={"capacity": 1})
    # Nobody available: the hand-off waits in the queue.
    first = await hand_off(web)
    assert (await detail(n1, first.conversation_id))["state"] == "queued"
    # Becoming available pulls the oldest waiting conversation at once.
    async with websockets.connect(n1.ws_url()) as ws:
        await asyncio.sleep(0.2)
        assert (await status(n1, "available"))["open_conversations"] == 1
        event = await next_event(ws, "conversation.updated")
        assert event["assignment"] == {"kind": "assigned", "agent_id": n1.me["id"], "mode": "auto"}
    assert (await detail(n1, first.conversation_id))["assigned_agent"]["id"] == n1.me["id"]
    assert "Le atiende Lucía Martín, del equipo de atención." in await citizen_texts(first)
    # n1 is full (capacity 1): the next goes to n1_b once available; then nobody has room.
    await status(n1_b, "available")
    second, third = await hand_off(web), await hand_off(web)
    assert (await detail(n1, second.conversation_id))["assigned_agent"]["id"] == n1_b.me["id"]
    assert (await detail(n1, third.conversation_id))["state"] == "queued"
    # Resolving frees room: n1 pulls the third. A busy agent keeps theirs and gets nothing new.
    await status(n1_b, "busy")
    await n1.ok("POST", f"/conversations/{first.conversation_id}/resolve")
    assert (await detail(n1, third.conversation_id))["assigned_agent"]["id"] == n1.me["id"]
    await n1_b.ok("POST", f"/conversations/{second.conversation_id}/resolve")
    fourth = await hand_off(web)
    assert (await detail(n1, fourth.conversation_id))["state"] == "queued"  # n1 full, n1_b busy
    # Round-robin among equals: the one whose last assignment is oldest.
    await admin.ok("PUT", f"/agents/{n1.me['id']}/capacity", json={"capacity": 5})
    assert (await detail(n1, fourth.conversation_id))["assigned_agent"]["id"] == n1.me["id"]
    await admin.ok("PUT", f"/agents/{n1_b.me['id']}/capacity", json={"capacity": 5})
    await status(n1_b, "available")
    fifth, sixth = await hand_off(web), await hand_off(web)
    owners = [(await detail(n1, c.conversation_id))["assigned_agent"]["id"] for c in (fifth, sixth)]
    assert owners == [n1_b.me["id"], n1.me["id"]]
    # The manual take still works (here on a queue nobody is available for).
    await status(n1, "away")
    await status(n1_b, "away")
    seventh = await hand_off(web)
    taken = await n1.ok("POST", f"/conversations/{seventh.conversation_id}/take")
    assert taken["state"] == "assigned" and taken["assigned_agent"]["id"] == n1.me["id"]
    async with database(settings) as s:
        assigns = await s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "assign")
        )
    assert assigns == 6  # first..sixth, each once
    for c in (first, second, third, fourth, fifth, sixth, seventh):
        await c.aclose()


async def test_derivation_goes_to_the_units_agent_and_comes_back_to_the_deriver(
    web: str, login: Login, settings: Settings
) -> None:
    n1, n2, n2_other = await login("n1"), await login("n2"), await login("n2_other")
    for agent in (n1, n2, n2_other):
        await status(agent, "available")
    citizen = await hand_off(web)
    cid = citizen.conversation_id
    assert (await detail(n1, cid))["assigned_agent"]["id"] == n1.me["id"]
    async with (
        websockets.connect(n2.ws_url()) as unit_ws,
        websockets.connect(n1.ws_url()) as n1_ws,
    ):
        await asyncio.sleep(0.2)
        await n1.ok("POST", f"/conversations/{cid}/derive", json={
            "unit_code": "SAMPLE-DEP", "reason": "Valoración de dependencia"})  # fmt: skip
        # The unit is told (queued), then its available agent gets it; not the other unit's.
        queued_event = await next_event(unit_ws, "conversation.queued")
        assert queued_event["conversation"]["unit"]["code"] == "SAMPLE-DEP"
        assigned = await next_event(unit_ws, "conversation.updated")
        assert assigned["assignment"]["agent_id"] == n2.me["id"]
        state = await detail(n2, cid)
        assert state["tier"] == "n2" and state["assigned_agent"]["id"] == n2.me["id"]
        assert "Le atiende Javier Romero, de la unidad especializada." in await citizen_texts(
            citizen
        )
        # Only the N2 assignee may return it, with an answer.
        assert (await n1.call("POST", f"/conversations/{cid}/return", json={
            "answer": "x"})).status_code == 403  # fmt: skip
        assert (await n2_other.call("POST", f"/conversations/{cid}/return", json={
            "answer": "x"})).status_code == 404  # fmt: skip
        blank = await n2.call("POST", f"/conversations/{cid}/return", json={"answer": "  "})
        assert blank.status_code == 422
        assert blank.json()["detail"] == "Escriba la respuesta de la unidad para N1."
        back = await n2.ok("POST", f"/conversations/{cid}/return", json={"answer": ANSWER})
        returned = await event_where(n1_ws, "conversation.queued", lambda e: "assignment" in e)
        assert returned["assignment"]["kind"] == "returned"
        assert returned["assignment"]["to_agent_id"] == n1.me["id"]
    # Back in N1, with the deriver (available, with room), and the answer on the record.
    assert back["tier"] == "n1" and back["unit"] is None
    assert back["state"] == "assigned" and back["assigned_agent"]["id"] == n1.me["id"]
    [derivation] = back["derivations"]
    assert derivation["return_answer"] == ANSWER and derivation["returned_at"]
    assert derivation["returned_by"]["id"] == n2.me["id"]
    # N1 sees it; the unit still reads it but may not act on it any more.
    assert (await detail(n1, cid))["derivations"][0]["return_answer"] == ANSWER
    again = await n2.call("POST", f"/conversations/{cid}/return", json={"answer": ANSWER})
    assert again.status_code in (403, 409)
    # Never to the citizen, nor in a message, nor in the audit's details.
    assert not any("RESPUESTA-UNIDAD" in t for t in await citizen_texts(citizen))
    async with database(settings) as s:
        in_messages = await s.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.text.contains("RESPUESTA-UNIDAD"))
        )
        record = await s.scalar(select(Derivation).where(Derivation.conversation_id == cid))
    assert in_messages == 0 and record is not None and record.return_answer == ANSWER
    audit = await n1.ok("GET", f"/conversations/{cid}/audit")
    [ret] = [e for e in audit if e["action"] == "return"]
    assert ret["details"]["to_agent_id"] == n1.me["id"] and "RESPUESTA" not in json.dumps(audit)
    await citizen.aclose()


async def test_a_return_goes_to_the_queue_when_the_deriver_is_away(web: str, login: Login) -> None:
    n1, n1_b, n2 = await login("n1"), await login("n1_b"), await login("n2")
    await status(n1, "available")
    citizen = await hand_off(web)
    cid = citizen.conversation_id
    await n1.ok("POST", f"/conversations/{cid}/derive", json={
        "unit_code": "SAMPLE-DEP", "reason": "Dependencia"})  # fmt: skip
    await n2.ok("POST", f"/conversations/{cid}/take")  # n2 is away: a manual take
    await status(n1, "away")
    back = await n2.ok("POST", f"/conversations/{cid}/return", json={"answer": ANSWER})
    assert back["state"] == "queued" and back["tier"] == "n1"
    assert cid in await listed(n1_b, "queue")
    # Then the next N1 agent who becomes available pulls it.
    await status(n1_b, "available")
    assert (await detail(n1_b, cid))["assigned_agent"]["id"] == n1_b.me["id"]
    await citizen.aclose()


async def test_supervisors_reassign(web: str, login: Login) -> None:
    n1, n1_b, n2, admin = (
        await login("n1"), await login("n1_b"), await login("n2"), await login("admin"),
    )  # fmt: skip
    citizen = await hand_off(web)
    cid = citizen.conversation_id
    await n1.ok("POST", f"/conversations/{cid}/take")
    refused = await n1.call("POST", f"/conversations/{cid}/assign", json={
        "agent_id": n1_b.me["id"]})  # fmt: skip
    assert refused.status_code == 403
    wrong_tier = await admin.call("POST", f"/conversations/{cid}/assign", json={
        "agent_id": n2.me["id"]})  # fmt: skip
    assert wrong_tier.status_code == 422 and "N1" in wrong_tier.json()["detail"]
    moved = await admin.ok("POST", f"/conversations/{cid}/assign", json={
        "agent_id": n1_b.me["id"]})  # fmt: skip
    assert moved["assigned_agent"]["id"] == n1_b.me["id"]
    assert "Le atiende Pedro Sánchez, del equipo de atención." in await citizen_texts(citizen)
    same = await admin.call("POST", f"/conversations/{cid}/assign", json={
        "agent_id": n1_b.me["id"]})  # fmt: skip
    assert same.status_code == 409
    # The previous assignee may no longer answer; the new one may.
    assert (await n1.call("POST", f"/conversations/{cid}/messages", json={
        "text": "hola"})).status_code == 403  # fmt: skip
    await n1_b.ok("POST", f"/conversations/{cid}/messages", json={"text": "Le atiendo yo."})
    audit = await admin.ok("GET", f"/conversations/{cid}/audit")
    [event] = [e for e in audit if e["action"] == "reassign"]
    assert event["details"]["from_agent_id"] == n1.me["id"]
    assert event["details"]["to_agent_id"] == n1_b.me["id"]
    await citizen.aclose()


async def test_auto_assignment_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    from tests.support.servers import web_app_in_thread

    monkeypatch.setenv("TUA_AUTO_ASSIGN", "false")
    with web_app_in_thread(settings) as web:
        n1 = await DeskAgent(web).login(*seeded["n1"])
        await status(n1, "available")
        citizen = await hand_off(web)
        assert (await detail(n1, citizen.conversation_id))["state"] == "queued"
        await status(n1, "away")
        await status(n1, "available")
        assert (await detail(n1, citizen.conversation_id))["state"] == "queued"
        await citizen.aclose()
        await n1.aclose()


async def test_the_periodic_sweep_assigns_what_was_missed(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    """An agent marked available behind the app's back (or a pull that skipped a locked row):
    the periodic task assigns the waiting conversation without anyone acting."""
    from tests.desk_api.test_inbox_views import add_conversation, agent_ids
    from tests.support.servers import web_app_in_thread

    monkeypatch.setenv("TUA_ASSIGNMENT_TICK_SECONDS", "0.3")
    async with database(settings) as s:
        agents = await agent_ids(s)
        cid = await add_conversation(s, state="queued")
        await s.commit()
    with web_app_in_thread(settings) as web:
        n1_b = await DeskAgent(web).login(*seeded["n1_b"])
        async with websockets.connect(n1_b.ws_url()) as ws:
            await asyncio.sleep(0.2)
            async with database(settings) as s:
                s.add(AgentAvailability(agent_id=agents["informador2"], status="available"))
                await s.commit()
            event = await event_where(
                ws, "conversation.updated", lambda e: e["conversation"]["id"] == cid
            )
        assert event["assignment"]["mode"] == "auto"
        assert (await detail(n1_b, cid))["assigned_agent"]["id"] == agents["informador2"]
        await n1_b.aclose()


async def test_permissions_matrix(web: str, login: Login, settings: Settings) -> None:
    """Every assignment endpoint × anonymous, n1, n2 of the unit, n2 of another unit, admin, on
    a conversation derived to SAMPLE-DEP and held by its specialist."""
    from tests.desk_api.test_inbox_views import add_conversation, agent_ids

    async with database(settings) as s:
        ids = await agent_ids(s)
        cid = await add_conversation(
            s, state="assigned", tier="n2", unit="SAMPLE-DEP", agent_id=ids["especialista"]
        )
        conversation = await s.get(Conversation, cid)
        assert conversation is not None and conversation.unit_id is not None
        s.add(Derivation(conversation_id=cid, from_agent_id=ids["informador"],
                         to_unit_id=conversation.unit_id, reason="Dependencia"))  # fmt: skip
        await s.commit()
    roles = ("n1", "n2", "n2_other", "admin")
    agents = {role: await login(role) for role in roles}
    n1_id = agents["n1"].me["id"]
    calls: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
        ("GET", "/agents", None, {"n1": 403, "n2": 403, "n2_other": 403, "admin": 200}),
        ("PUT", f"/agents/{n1_id}/capacity", {"capacity": 3},
         {"n1": 403, "n2": 403, "n2_other": 403, "admin": 200}),
        ("POST", f"/conversations/{cid}/assign", {"agent_id": agents["n2"].me["id"]},
         {"n1": 403, "n2": 403, "n2_other": 403, "admin": 409}),  # admin: already theirs
        ("PUT", f"/conversations/{cid}/snooze", {"until_reply": True},
         {"n1": 403, "n2": 200, "n2_other": 404, "admin": 403}),
        ("DELETE", f"/conversations/{cid}/snooze", None,
         {"n1": 403, "n2": 200, "n2_other": 404, "admin": 403}),
        ("POST", f"/conversations/{cid}/return", {"answer": "Ya está resuelto."},
         {"n1": 403, "n2_other": 404, "admin": 403, "n2": 200}),
    ]  # fmt: skip
    anonymous = DeskAgent(web)
    for method, path, body, expected in calls:
        assert (await anonymous.call(method, path, json=body)).status_code == 401, path
        for role, code in expected.items():
            response = await agents[role].call(method, path, json=body)
            assert response.status_code == code, (method, path, role, response.text)
    for path in ("/agents/me/status",):
        assert (await anonymous.call("GET", path)).status_code == 401
        for role in roles:
            assert (await agents[role].call("GET", path)).status_code == 200
    assert (await anonymous.call("POST", "/auth/logout")).status_code == 401
    await anonymous.aclose()
