"""The self-service foundation: the personal-data vault and the per-conversation token the bot's
actions use, on the real databases, the real web app and the real Rasa stack."""

from __future__ import annotations

import uuid

import httpx
import pytest

from connectors import pii_vault
from connectors.rasa_client import RasaClient
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import Conversation
from desk_api.security import (
    create_access_token,
    create_self_service_token,
    decode_access_token,
    decode_self_service_token,
)
from desk_api.settings import Settings
from tests.support.clients import Citizen


def test_tokens_are_not_interchangeable() -> None:
    key = "k" * 48
    token = create_self_service_token("conv-1", key, 10)
    assert decode_self_service_token(token, key) == "conv-1"
    assert decode_self_service_token(token, "x" * 48) is None
    assert decode_access_token(token, key) is None  # not a desk session
    assert decode_self_service_token(create_access_token(7, key, 10), key) is None
    assert decode_self_service_token(create_self_service_token("c", key, -1), key) is None


async def test_the_vault_keeps_references_per_conversation(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            for conversation_id in ("a", "b"):
                session.add(Conversation(id=conversation_id, channel="webchat"))
            await session.commit()
            first = await pii_vault.mask(session, "a", "DNI 12345678Z y correo Ana@Correo.es")
            again = await pii_vault.mask(session, "a", "repito: 12345678z; otro 87654321X")
            wrong = await pii_vault.mask(session, "a", "perdón, 12345678A")
            other = await pii_vault.mask(session, "b", "el mío es 87654321X")
            await session.commit()
        assert first == "DNI [DNI_1] y correo [EMAIL_1]"
        assert again == "repito: [DNI_1]; otro [DNI_2]"
        assert wrong == "perdón, [DNI_INVALIDO]"  # a wrong check letter is not kept
        assert other == "el mío es [DNI_1]"  # numbering is per conversation
        async with sessions() as session:
            kept = await pii_vault.resolve(session, "a", "[DNI_2]")
            assert kept is not None and kept.value == "87654321X"
            email = await pii_vault.resolve(session, "a", "EMAIL_1")
            assert email is not None and email.value == "ana@correo.es"
            assert await pii_vault.resolve(session, "b", "EMAIL_1") is None
            assert await pii_vault.resolve(session, "a", "DNI_3") is None
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_bot_sees_references_and_acts_only_for_its_conversation(
    citizen: Citizen, settings: Settings, web: str
) -> None:
    await citizen.say("mi dni es 12345678Z y mi correo ana@correo.es")
    rasa = RasaClient(
        settings.rasa_url,
        settings.rasa_token.get_secret_value() if settings.rasa_token else None,
        settings.rasa_timeout_seconds,
    )
    try:
        events = await rasa.tracker_events(citizen.conversation_id)
    finally:
        await rasa.aclose()
    user = [e for e in events if e.get("event") == "user"][-1]
    assert user["text"] == "mi dni es [DNI_1] y mi correo [EMAIL_1]"
    assert "12345678Z" not in str(events) and "ana@correo.es" not in str(events)
    platform = user["metadata"]["platform"]
    assert platform["url"] == web

    async with httpx.AsyncClient(base_url=web) as http:
        bearer = {"Authorization": f"Bearer {platform['token']}"}
        me = await http.get("/api/selfservice/me", headers=bearer)
        assert me.status_code == 200 and me.json()["conversation_id"] == citizen.conversation_id
        ref = await http.get("/api/selfservice/pii/DNI_1", headers=bearer)
        assert ref.json() == {"ref": "DNI_1", "kind": "DNI"}  # never the value
        assert (await http.get("/api/selfservice/pii/DNI_9", headers=bearer)).status_code == 404

        refused = await http.get("/api/selfservice/me")
        assert refused.status_code == 401 and "token de autoservicio" in refused.json()["detail"]
        desk_like = {"Authorization": f"Bearer {citizen.token}"}  # the citizen's own chat token
        assert (await http.get("/api/selfservice/me", headers=desk_like)).status_code == 401
        unknown = create_self_service_token(str(uuid.uuid4()), settings.jwt_key(), 10)
        gone = await http.get("/api/selfservice/me", headers={"Authorization": f"Bearer {unknown}"})
        assert gone.status_code == 401
