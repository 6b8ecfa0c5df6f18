"""Web chat API: bad input gets a clear Spanish error, and nothing is stored twice or lost."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import websockets

from tests.support.clients import Citizen, next_event


async def post(citizen: Citizen, **kwargs: Any) -> httpx.Response:
    headers = {**citizen.headers, **kwargs.pop("headers", {})}
    return await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/messages", headers=headers, **kwargs
    )


async def test_empty_message_is_refused_and_not_stored(citizen: Citizen) -> None:
    for body, detail in [
        ({"text": ""}, "El mensaje no puede estar vacío"),
        ({"text": "   \n "}, "El mensaje no puede estar vacío"),
        ({}, "Falta el campo «text»."),
    ]:
        response = await post(citizen, json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == detail
    assert (await citizen.history())["messages"] == []


async def test_20000_character_message_is_refused_with_the_limit(citizen: Citizen) -> None:
    response = await post(citizen, json={"text": "a" * 20_000})
    assert response.status_code == 422
    assert "demasiado largo" in response.json()["detail"] and "4000" in response.json()["detail"]
    assert (await citizen.history())["messages"] == []


async def test_invalid_json_is_refused(citizen: Citizen) -> None:
    response = await post(
        citizen, content=b'{"text": "hola"', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]
    assert (await citizen.history())["messages"] == []


async def test_unknown_conversation_and_bad_tokens(citizen: Citizen) -> None:
    unknown = await citizen.http.post(
        f"/api/chat/conversations/{uuid.uuid4()}/messages",
        json={"text": "hola"},
        headers=citizen.headers,
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == "No existe esa conversación."
    wrong = await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/messages",
        json={"text": "hola"},
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401
    missing = await citizen.http.get(f"/api/chat/conversations/{citizen.conversation_id}/messages")
    assert missing.status_code == 401
    assert (await citizen.history())["messages"] == []


async def test_payload_must_be_a_bot_command(citizen: Citizen) -> None:
    response = await post(citizen, json={"text": "Sí", "payload": "hola"})
    assert response.status_code == 422
    assert "payload" in response.json()["detail"]


async def test_retried_message_is_stored_once(citizen: Citizen) -> None:
    body = {"text": "hola", "client_message_id": str(uuid.uuid4())}
    first, second = await asyncio.gather(post(citizen, json=body), post(citizen, json=body))
    assert first.status_code == second.status_code == 200
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    third = await post(citizen, json=body)
    assert third.json()["message"]["id"] == first.json()["message"]["id"]
    citizen_messages = [
        m for m in (await citizen.history())["messages"] if m["sender"] == "citizen"
    ]
    assert len(citizen_messages) == 1


async def test_history_survives_a_reload_and_pages_with_after(citizen: Citizen) -> None:
    await citizen.say("hola")
    await citizen.say("gracias")
    full = (await citizen.history())["messages"]
    assert len(full) >= 4
    # A "reload": a brand-new client with only the stored id and token sees the same transcript.
    reloaded = Citizen(str(citizen.http.base_url))
    reloaded.conversation_id, reloaded.token = citizen.conversation_id, citizen.token
    assert (await reloaded.history())["messages"] == full
    tail = (await reloaded.history(after=full[1]["seq"]))["messages"]
    assert tail == full[2:]
    await reloaded.aclose()


async def test_websocket_rejects_a_wrong_token(citizen: Citizen) -> None:
    url = citizen.ws_url().replace(citizen.token, "wrong")
    try:
        async with websockets.connect(url) as ws:
            await ws.recv()
        raise AssertionError("the socket should have been refused")
    except (websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed):
        pass


async def test_bot_buttons_send_their_payload(citizen: Citizen) -> None:
    answer = await citizen.say("Horario de atención", payload="/horario_atencion")
    assert "900 222 012" in " ".join(m["text"] for m in answer["replies"])
    async with websockets.connect(citizen.ws_url()) as ws:
        await citizen.say("hola")
        pushed = await next_event(ws, "message")
        assert pushed["message"]["sender"] == "bot"
