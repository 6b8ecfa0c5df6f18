"""The Plataforma de Tramitación: numbers, the reference server over real HTTP, the client against
it, and the bot's route through the real web app on both databases."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from stdnum.es import dni, nie

from bot.processes import free_port
from connectors import pii_vault
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import Conversation, utcnow
from desk_api.sandbox.tramitacion_server import DATA, create_sandbox_app
from desk_api.security import create_self_service_token
from desk_api.selfservice.expedientes import MAX_MISSES_PER_CONVERSATION
from desk_api.selfservice.models import Citizen
from desk_api.selfservice.tramitacion import (
    ExpedienteNotFound,
    MalformedNumber,
    Phase,
    TramitacionAuthError,
    TramitacionClient,
    TramitacionUnavailable,
    find_number,
    looks_like_number,
    normalise_number,
)
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen as ChatCitizen
from tests.support.miespacio import make_settings
from tests.support.servers import web_app_in_thread

API_KEY = "clave-de-pruebas-" + secrets.token_hex(8)
# Sample holders (desk_api/sandbox/data/expedientes.json).
ALQUILER = ("EXP-2026-0001234", "30184726D", "lucia.moreno@example.org")
COMEDOR = ("EXP-2026-0008126", "X4827153M", "ioana.popescu@example.org")
OTHER_VALID_DNI = "12345678Z"


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Any ASGI app on a free loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with serve(create_sandbox_app(API_KEY)) as url:
        yield url


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "EXP-2026-0001234",
        "exp-2026-0001234",
        "  exp 2026 0001234 ",
        "2026/0001234",
        "EXP20260001234",
        "Exp. 2026-0 001 234",
        "expediente 2026/0001234",
    ],
)
def test_numbers_are_normalised(written: str) -> None:
    assert normalise_number(written) == "EXP-2026-0001234"


@pytest.mark.parametrize(
    "written",
    ["", "EXP-2026-1234", "EXP-2026-00012345", "2026/EX/0001234", "EXP-1999-0001234", "hola"],
)
def test_malformed_numbers_are_refused(written: str) -> None:
    with pytest.raises(MalformedNumber):
        normalise_number(written)


def test_numbers_are_found_in_sentences_and_attempts_recognised() -> None:
    assert find_number("como va mi expediente exp 2026 0001234, gracias") == "EXP-2026-0001234"
    assert find_number("el número es 2026/0008126.") == "EXP-2026-0008126"
    assert find_number("mi expediente de 2024 no avanza") is None
    assert find_number("mi dni es [DNI_1]") is None
    assert find_number("EXP-2026-00012345") is None  # one digit too many: not a shorter number
    for attempt in ("numero de expediente 2025/000123", "EXP-2026-[DNI_INVALIDO]", "exp 12"):
        assert looks_like_number(attempt), attempt
    for sentence in ("mi expediente de 2024 no avanza", "el expediente de mi madre"):
        assert not looks_like_number(sentence), sentence


def test_sample_data_is_realistic_and_marked() -> None:
    data = json.loads(Path(DATA).read_text(encoding="utf-8"))
    assert "MUESTRA" in data["_aviso"]
    records: list[dict[str, Any]] = data["expedientes"]
    assert len(records) >= 15
    assert len({r["numero"] for r in records}) == len(records)
    assert {r["fase"] for r in records} == {phase.value for phase in Phase}
    for record in records:
        assert normalise_number(record["numero"]) == record["numero"]
        holder = record["titular"]
        module = nie if holder["dni"][0] in "XYZ" else dni
        assert module.is_valid(holder["dni"]), record["numero"]
        assert holder["email"].endswith(("@example.org", "@example.com"))
        action = record["accion_requerida"]
        if record["fase"] == "subsanacion":
            assert action and action["plazo"], record["numero"]  # documents by a date
        date.fromisoformat(record["fecha_inicio"])


# -- the reference server and the client ---------------------------------------------------


async def test_the_reference_server_speaks_json_errors(reference: str) -> None:
    async with httpx.AsyncClient(base_url=reference) as http:
        path = f"/api/v1/expedientes/{ALQUILER[0]}"
        holder = {"X-Verificacion-Titular": ALQUILER[1]}
        no_key = await http.get(path, headers=holder)
        assert no_key.status_code == 401 and no_key.json()["codigo"] == "CLAVE_NO_VALIDA"
        keyed = {"X-API-Key": API_KEY}
        malformed = await http.get("/api/v1/expedientes/2026-1234", headers=keyed | holder)
        assert malformed.status_code == 400 and malformed.json()["codigo"] == "NUMERO_MAL_FORMADO"
        bare = await http.get(path, headers=keyed)
        assert bare.status_code == 400 and bare.json()["codigo"] == "VERIFICACION_REQUERIDA"
        found = await http.get(path, headers=keyed | holder)
        assert found.status_code == 200
        assert found.json()["titular"] == {"identificador_enmascarado": "***8472**"}
        assert ALQUILER[2] not in found.text and ALQUILER[1] not in found.text
        wrong = await http.get(path, headers=keyed | {"X-Verificacion-Titular": OTHER_VALID_DNI})
        unknown = await http.get("/api/v1/expedientes/EXP-2026-0999999", headers=keyed | holder)
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == unknown.json()
        spec = (await http.get("/openapi.json")).json()
        assert "/api/v1/expedientes/{numero}" in spec["paths"]


async def test_the_client_against_the_reference_server(reference: str) -> None:
    client = TramitacionClient(reference, API_KEY)
    try:
        found = await client.expediente("exp 2026 0001234", ALQUILER[1])
        assert found.number == ALQUILER[0] and found.phase is Phase.SUBSANACION
        assert found.next_action is not None and found.next_action.deadline == date(2026, 12, 15)
        assert found.last_step.on == date(2026, 11, 20)
        assert found.unit == "Dirección General de Vivienda"
        assert found.holder_masked == "***8472**"
        assert "subsanación" in found.phase_text
        by_email = await client.expediente(COMEDOR[0], COMEDOR[2].upper())
        assert by_email.phase is Phase.PROPUESTA_RESOLUCION and by_email.next_action is None
        by_nie = await client.expediente(COMEDOR[0], "x-4827153-m")
        assert by_nie.number == COMEDOR[0]
        with pytest.raises(ExpedienteNotFound):
            await client.expediente("EXP-2026-0999999", ALQUILER[1])
        with pytest.raises(ExpedienteNotFound):
            await client.expediente(ALQUILER[0], OTHER_VALID_DNI)
        with pytest.raises(MalformedNumber):
            await client.expediente("2026/EX/1234", ALQUILER[1])
    finally:
        await client.aclose()
    wrong_key = TramitacionClient(reference, "otra-clave")
    try:
        with pytest.raises(TramitacionAuthError):
            await wrong_key.expediente(ALQUILER[0], ALQUILER[1])
    finally:
        await wrong_key.aclose()
    down = TramitacionClient(f"http://127.0.0.1:{free_port()}", API_KEY, timeout_seconds=2)
    try:
        with pytest.raises(TramitacionUnavailable):
            await down.expediente(ALQUILER[0], ALQUILER[1])
    finally:
        await down.aclose()


# -- the bot's route, through the real web app ----------------------------------------------


async def remember(database_url: str, conversation_id: str, text: str) -> str:
    """Put ``text``'s personal data in the conversation's vault, as the gateway does."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            masked = await pii_vault.mask(session, conversation_id, text)
            await session.commit()
    finally:
        await engine.dispose()
    return masked


async def verify_identity(database_url: str, conversation_id: str, email: str) -> None:
    """Link the conversation to a Miespacio account (as the Miespacio flow does after a code)."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            citizen = Citizen(
                id=str(uuid.uuid4()),
                email=email,
                privacy_accepted_at=utcnow(),
                privacy_version="muestra",
            )
            session.add(citizen)
            await session.flush()
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            conversation.citizen_id = citizen.id
            await session.commit()
    finally:
        await engine.dispose()


class Bot:
    """The bot's side of the self-service API for one conversation."""

    def __init__(self, base_url: str, settings: Settings, conversation_id: str) -> None:
        token = create_self_service_token(conversation_id, settings.jwt_key(), 10)
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    async def consult(self, numero: str, verificacion: str | None) -> httpx.Response:
        body = {"numero": numero, "verificacion": verificacion}
        return await self.http.post("/api/selfservice/expedientes/consulta", json=body)

    async def aclose(self) -> None:
        await self.http.aclose()


async def new_conversation(base_url: str) -> str:
    chat = await ChatCitizen(base_url).start()
    await chat.aclose()
    return chat.conversation_id


async def test_the_route_shows_a_file_only_to_its_holder(
    database_url: str, tmp_path: Path, reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_TRAMITACION_URL", reference)
    monkeypatch.setenv("TUA_TRAMITACION_API_KEY", API_KEY)
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as web:
        mine, other, verified = [await new_conversation(web) for _ in range(3)]
        assert await remember(database_url, mine, f"dni {ALQUILER[1]}") == "dni [DNI_1]"
        await remember(database_url, mine, f"o {ALQUILER[2].upper()} o 666 555 444")
        await remember(database_url, other, f"el mío es {OTHER_VALID_DNI}")
        await verify_identity(database_url, verified, ALQUILER[2])
        bot, stranger, account = (Bot(web, settings, c) for c in (mine, other, verified))
        try:
            found = await bot.consult("exp 2026 0001234", "[DNI_1]")
            assert found.status_code == 200, found.text
            body = found.json()
            assert body == {
                "numero": ALQUILER[0],
                "procedimiento": "Ayudas para el alquiler de vivienda habitual (programa 2026)",
                "fase": "subsanacion",
                "fase_texto": body["fase_texto"],
                "fecha_inicio": "2026-09-14",
                "ultimo_tramite": {
                    "fecha": "2026-11-20",
                    "descripcion": "Requerimiento de subsanación notificado en la Sede electrónica",
                },
                "accion_requerida": body["accion_requerida"],
                "plazo": "2026-12-15",
                "unidad": "Dirección General de Vivienda",
            }
            assert body["fase_texto"].startswith("en subsanación")
            assert "contrato de arrendamiento" in body["accion_requerida"]
            assert ALQUILER[1] not in found.text and ALQUILER[2] not in found.text
            assert (await bot.consult(ALQUILER[0], "[EMAIL_1]")).status_code == 200

            # Unknown number, wrong holder: one neutral answer.
            wrong = await stranger.consult(ALQUILER[0], "[DNI_1]")
            unknown = await bot.consult("EXP-2026-0999999", "[DNI_1]")
            assert wrong.status_code == unknown.status_code == 404
            assert wrong.json() == unknown.json()
            assert wrong.json()["detail"].startswith("No encontramos ningún expediente")

            # Another conversation's reference means nothing here.
            borrowed = await stranger.consult(ALQUILER[0], "[EMAIL_1]")
            assert borrowed.status_code == 422 and "esta conversación" in borrowed.json()["detail"]

            # No second factor and no verified identity: ask for one.
            bare = await stranger.consult(ALQUILER[0], None)
            assert bare.status_code == 403 and "DNI o NIE" in bare.json()["detail"]
            identity = await stranger.http.get("/api/selfservice/expedientes/identidad")
            assert identity.json() == {"verificada": False}

            # The verified Miespacio account is the second factor.
            identity = await account.http.get("/api/selfservice/expedientes/identidad")
            assert identity.json() == {"verificada": True}
            assert (await account.consult(ALQUILER[0], None)).status_code == 200
            assert (await account.consult(COMEDOR[0], None)).status_code == 404

            malformed = await bot.consult("2025/000123", "[DNI_1]")
            assert malformed.status_code == 422
            assert "EXP-AAAA-NNNNNNN" in malformed.json()["detail"]
            assert "EXP-2026-0001234" in malformed.json()["detail"]
            invalid = await bot.consult(ALQUILER[0], "[DNI_INVALIDO]")
            assert invalid.status_code == 422 and "letra del DNI" in invalid.json()["detail"]
            phone = await bot.consult(ALQUILER[0], "[TELEFONO_1]")
            assert phone.status_code == 422 and "no un teléfono" in phone.json()["detail"]
            raw = await bot.consult(ALQUILER[0], ALQUILER[1])  # only references, never values
            assert raw.status_code == 422

            anonymous = await bot.http.post(
                "/api/selfservice/expedientes/consulta",
                json={"numero": ALQUILER[0], "verificacion": "[DNI_1]"},
                headers={"Authorization": "Bearer nope"},
            )
            assert anonymous.status_code == 401
        finally:
            for client in (bot, stranger, account):
                await client.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_failed_lookups_are_limited(
    database_url: str, tmp_path: Path, reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_TRAMITACION_URL", reference)
    monkeypatch.setenv("TUA_TRAMITACION_API_KEY", API_KEY)
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as web:
        guesser = await new_conversation(web)
        await remember(database_url, guesser, f"{OTHER_VALID_DNI}")
        bot = Bot(web, settings, guesser)
        try:
            for _ in range(MAX_MISSES_PER_CONVERSATION):
                assert (await bot.consult(ALQUILER[0], "[DNI_1]")).status_code == 404
            refused = await bot.consult(ALQUILER[0], "[DNI_1]")
            assert refused.status_code == 429 and "demasiados intentos" in refused.text
        finally:
            await bot.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_platform_down_is_503(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_TRAMITACION_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TUA_TRAMITACION_TIMEOUT_SECONDS", "2")
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as web:
        conversation = await new_conversation(web)
        await remember(database_url, conversation, ALQUILER[1])
        bot = Bot(web, settings, conversation)
        try:
            down = await bot.consult(ALQUILER[0], "[DNI_1]")
            assert down.status_code == 503
            assert "no está disponible" in down.json()["detail"]
            mounted = await bot.http.get("/sandbox/tramitacion/openapi.json")
            assert mounted.status_code == 404  # a platform is configured: no sandbox
        finally:
            await bot.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_development_mounts_the_reference_server(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUA_TRAMITACION_URL", raising=False)
    monkeypatch.delenv("TUA_TRAMITACION_API_KEY", raising=False)
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as web:
        conversation = await new_conversation(web)
        await remember(database_url, conversation, COMEDOR[2])
        bot = Bot(web, settings, conversation)
        try:
            found = await bot.consult(COMEDOR[0], "[EMAIL_1]")
            assert found.status_code == 200 and found.json()["fase"] == "propuesta_resolucion"
            spec = await bot.http.get("/sandbox/tramitacion/openapi.json")
            assert "/api/v1/expedientes/{numero}" in spec.json()["paths"]
            keyless = await bot.http.get(f"/sandbox/tramitacion/api/v1/expedientes/{COMEDOR[0]}")
            assert keyless.status_code == 401  # a random key, unknown outside the app
        finally:
            await bot.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_production_without_a_platform_mounts_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUA_TRAMITACION_URL", raising=False)
    settings = make_settings(
        database_url, tmp_path, environment="production", rasa_token=SecretStr("r" * 32)
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as web:
        conversation = await new_conversation(web)
        await remember(database_url, conversation, ALQUILER[1])
        bot = Bot(web, settings, conversation)
        try:
            assert (await bot.consult(ALQUILER[0], "[DNI_1]")).status_code == 503
            assert (await bot.http.get("/sandbox/tramitacion/openapi.json")).status_code == 404
        finally:
            await bot.aclose()


def test_the_reference_server_runs_standalone() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "desk_api.sandbox.tramitacion_server", "--port", str(port),
         "--api-key", API_KEY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/v1/expedientes/{ALQUILER[0]}"
        headers = {"X-API-Key": API_KEY, "X-Verificacion-Titular": ALQUILER[2]}
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, headers=headers)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["numero"] == ALQUILER[0]
    finally:
        process.terminate()
        process.wait(timeout=10)
