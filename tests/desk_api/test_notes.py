"""Private notes: any agent who may see the conversation writes and reads them; they never
reach the citizen (web chat history, provider outbox) nor the bot (Rasa's tracker)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import websockets
from sqlalchemy import func, select

from connectors import identities
from desk_api.channel_models import Delivery
from desk_api.models import Message, utcnow
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation, agent_ids
from tests.support.clients import EVENT_TIMEOUT, Citizen, DeskAgent, next_event
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
SECRET = "NOTA-PRIVADA: ya llamó ayer y está muy molesta"


async def note(agent: DeskAgent, conversation_id: str, text: str) -> dict[str, Any]:
    response = await agent.call(
        "POST", f"/conversations/{conversation_id}/notes", json={"text": text}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def events_until(ws: websockets.ClientConnection, wanted: str) -> list[str]:
    """The types of the events received up to the first ``wanted`` one, inclusive."""
    seen: list[str] = []
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not seen or seen[-1] != wanted:
            seen.append(json.loads(await ws.recv()).get("type"))
    return seen


async def test_who_writes_and_reads_notes(citizen: Citizen, login: Login) -> None:
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    cid = citizen.conversation_id
    n1, n1_b, n2, n2_other, admin = (
        await login("n1"), await login("n1_b"), await login("n2"), await login("n2_other"),
        await login("admin"),
    )  # fmt: skip
    await n1.ok("POST", f"/conversations/{cid}/take")
    async with (
        websockets.connect(n1_b.ws_url()) as colleague,
        websockets.connect(n2.ws_url()) as n2_ws,
    ):
        await asyncio.sleep(0.2)
        first = await note(n1, cid, f"  {SECRET}  ")
        live = await next_event(colleague, "note.created")
        assert live["note"] == first and live["conversation_id"] == cid
        # N2 may not see the conversation: the note is not pushed to it. The derivation is.
        await n1.ok("POST", f"/conversations/{cid}/derive", json={
            "unit_code": "SAMPLE-DEP", "reason": "Es de dependencia"})  # fmt: skip
        assert "note.created" not in await events_until(n2_ws, "conversation.queued")
    assert first["text"] == SECRET and first["agent"]["full_name"] == "Lucía Martín"
    # Not the one attending: a colleague who may see the conversation writes one too.
    second = await note(n1_b, cid, "Le pasé el teléfono de la unidad.")
    # Derived: now the unit reads them (the context travels) and adds its own; not another unit.
    assert [n["id"] for n in await n2.ok("GET", f"/conversations/{cid}/notes")] == [
        first["id"], second["id"]]  # fmt: skip
    third = await note(n2, cid, "Revisado por la unidad.")
    assert (await n2_other.call("GET", f"/conversations/{cid}/notes")).status_code == 404
    other = await n2_other.call("POST", f"/conversations/{cid}/notes", json={"text": "hola"})
    assert other.status_code == 404
    assert [n["text"] for n in await admin.ok("GET", f"/conversations/{cid}/notes")] == [
        SECRET, "Le pasé el teléfono de la unidad.", third["text"]]  # fmt: skip
    # Bad input; and the audit says a note was written, never what it says.
    blank = await n1.call("POST", f"/conversations/{cid}/notes", json={"text": "   "})
    assert blank.status_code == 422 and blank.json()["detail"] == "La nota no puede estar vacía."
    long = await n1.call("POST", f"/conversations/{cid}/notes", json={"text": "x" * 4001})
    assert long.status_code == 422 and "4000" in long.json()["detail"]
    audit = await admin.ok("GET", f"/conversations/{cid}/audit")
    added = [e for e in audit if e["action"] == "note.added"]
    assert [e["details"]["note_id"] for e in added] == [first["id"], second["id"], third["id"]]
    assert SECRET not in json.dumps(audit) and "molesta" not in json.dumps(audit)
    stranger = DeskAgent(str(n1.http.base_url))
    assert (await stranger.call("GET", f"/conversations/{cid}/notes")).status_code == 401
    await stranger.aclose()


async def test_a_note_never_reaches_the_citizen_or_the_bot(
    citizen: Citizen, login: Login, settings: Settings
) -> None:
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    cid = citizen.conversation_id
    n1 = await login("n1")
    await n1.ok("POST", f"/conversations/{cid}/take")
    async with websockets.connect(citizen.ws_url()) as stream:
        await note(n1, cid, SECRET)
        await n1.ok("POST", f"/conversations/{cid}/messages", json={"text": "Le atiendo ahora."})
        pushed = json.loads(await asyncio.wait_for(stream.recv(), EVENT_TIMEOUT))
    assert pushed["type"] == "message" and pushed["message"]["text"] == "Le atiendo ahora."
    await n1.ok("POST", f"/conversations/{cid}/resolve")
    await citizen.say("Hola")  # the bot attends again: its tracker has the whole conversation
    texts = [m["text"] for m in (await citizen.history())["messages"]]
    assert "Le atiende" in " ".join(texts) and "Le atiendo ahora." in texts
    assert not any("NOTA-PRIVADA" in t for t in texts)
    async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=30) as rasa:
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
        tracker = await rasa.get(f"/conversations/{cid}/tracker", params={"token": token})
    assert tracker.status_code == 200 and "Hola" in tracker.text
    assert "NOTA-PRIVADA" not in tracker.text
    async with database(settings) as session:
        stored = await session.scalar(
            select(func.count()).select_from(Message).where(Message.text.contains("NOTA-PRIVADA"))
        )
    assert stored == 0


async def test_a_provider_conversation_gets_no_delivery_for_a_note(
    web: str, login: Login, settings: Settings
) -> None:
    """WhatsApp-like (outbound through the outbox): the reply gets a Delivery, the note none."""
    async with database(settings) as s:
        agents = await agent_ids(s)
        phone = await identities.upsert(s, "whatsapp", uuid.uuid4().hex, "+34612345678", utcnow())
        await s.flush()
        cid = await add_conversation(
            s, state="assigned", agent_id=agents["informador"], channel="whatsapp",
            outbound="outbox", identity_id=phone.id,
        )  # fmt: skip
        await s.commit()
    n1 = await login("n1")
    await note(n1, cid, SECRET)
    reply = await n1.ok("POST", f"/conversations/{cid}/messages", json={"text": "Buenos días."})
    async with database(settings) as s:
        deliveries = list(await s.scalars(select(Delivery).where(Delivery.conversation_id == cid)))
        messages = list(await s.scalars(select(Message.text).where(Message.conversation_id == cid)))
    assert [d.message_id for d in deliveries] == [reply["id"]]
    assert SECRET not in messages and "Buenos días." in messages
    assert [n["text"] for n in await n1.ok("GET", f"/conversations/{cid}/notes")] == [SECRET]
