"""The expediente form's actions, with real Trackers, against the real web app (which mounts the
reference Plataforma de Tramitación in development)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import platform
from actions.expedientes import (
    ASK_NUMBER,
    ASK_VERIFICATION,
    MALFORMED,
    NEED_SECOND_FACTOR,
    NO_NUMBER,
    VERIFIED_IDENTITY,
    ActionAskNumeroExpediente,
    ActionAskVerificacionExpediente,
    ActionConsultarExpediente,
    ValidateFormularioExpediente,
    describe,
    spanish_date,
)
from bot.processes import free_port
from desk_api.security import create_self_service_token
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.desk_api.test_tramitacion import (
    ALQUILER,
    OTHER_VALID_DNI,
    new_conversation,
    remember,
    verify_identity,
)
from tests.support.servers import web_app_in_thread

FORM = "formulario_expediente"
DOMAIN: dict[str, Any] = {
    "forms": {FORM: {"required_slots": ["numero_expediente", "verificacion_expediente"]}},
    "slots": {
        "numero_expediente": {"type": "text", "mappings": [{"type": "custom"}]},
        "verificacion_expediente": {"type": "text", "mappings": [{"type": "custom"}]},
    },
}


class Stack:
    def __init__(self, url: str, settings: Settings, database_url: str) -> None:
        self.url, self.settings, self.database_url = url, settings, database_url

    def access(self, conversation_id: str) -> dict[str, Any]:
        token = create_self_service_token(conversation_id, self.settings.jwt_key(), 10)
        return {platform.METADATA_KEY: {"url": self.url, "token": token}}


@pytest.fixture
async def stack(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """The web app on a migrated SQLite database (the route's tests cover PostgreSQL)."""
    shutil.copy(sqlite_template, tmp_path / "tuatencion.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'tuatencion.db'}"
    monkeypatch.delenv("TUA_TRAMITACION_URL", raising=False)
    monkeypatch.delenv("TUA_TRAMITACION_API_KEY", raising=False)
    settings = Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        yield Stack(url, settings, database_url)


def tracker(
    conversation_id: str,
    text: str,
    metadata: dict[str, Any],
    slots: dict[str, Any] | None = None,
    intent: str = "estado_expediente",
    entities: list[dict[str, Any]] | None = None,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
    }
    events = [{"event": "user", "text": text, "parse_data": message, "metadata": metadata}]
    return Tracker(
        sender_id=conversation_id,
        slots={"numero_expediente": None, "verificacion_expediente": None, **(slots or {})},
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name="action_listen",
    )


async def validate(t: Tracker) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    events = await ValidateFormularioExpediente().run(dispatcher, t, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m["text"] for m in dispatcher.messages]


async def test_the_form_asks_number_then_second_factor(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    access = stack.access(conversation)
    assert await remember(stack.database_url, conversation, "12345678A y 30184726D") == (
        "[DNI_INVALIDO] y [DNI_1]"
    )

    slots, said = await validate(tracker(conversation, "como va mi expediente", access))
    assert slots == {} and said == []

    slots, said = await validate(
        tracker(conversation, "es el 2025/000123", access, {"requested_slot": "numero_expediente"})
    )
    assert slots["numero_expediente"] is None and said == [MALFORMED]
    assert "EXP-AAAA-NNNNNNN" in MALFORMED and "EXP-2026-0001234" in MALFORMED

    slots, said = await validate(
        tracker(
            conversation, "no sé", access, {"requested_slot": "numero_expediente"}, "nlu_fallback"
        )
    )
    assert slots["numero_expediente"] is None and said == [NO_NUMBER]

    asked = {"requested_slot": "numero_expediente"}
    slots, said = await validate(
        tracker(conversation, "exp 2026 0 001 234", access, asked, "afirmar")
    )
    assert slots == {"numero_expediente": "EXP-2026-0001234"} and said == []

    number = {"numero_expediente": "EXP-2026-0001234", "requested_slot": "verificacion_expediente"}
    slots, said = await validate(
        tracker(conversation, "[DNI_INVALIDO]", access, number, "nlu_fallback")
    )
    assert slots["verificacion_expediente"] is None
    assert said == [
        "La letra del DNI no corresponde al número. Revíselo y escríbalo de nuevo, o indíqueme el "
        "correo electrónico que usó en la solicitud."
    ]
    slots, said = await validate(
        tracker(conversation, "[TELEFONO_1]", access, number, "nlu_fallback")
    )
    assert slots["verificacion_expediente"] is None and said == [NEED_SECOND_FACTOR]
    # An interruption is not an answer: the rules answer it and the form asks again.
    slots, said = await validate(
        tracker(conversation, "a qué hora abrís", access, number, "horario_atencion")
    )
    assert "verificacion_expediente" not in slots and said == []

    slots, said = await validate(
        tracker(conversation, "mi dni es [DNI_1]", access, number, "nlu_fallback")
    )
    assert slots == {"verificacion_expediente": "[DNI_1]"} and said == []


async def test_everything_in_the_first_message(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    entity = [{"entity": "numero_expediente", "value": "exp-2026-0001234"}]
    text = "cómo va el expediente exp-2026-0001234? mi correo es [EMAIL_1]"
    slots, said = await validate(
        tracker(conversation, text, stack.access(conversation), entities=entity)
    )
    assert slots == {
        "numero_expediente": "EXP-2026-0001234",
        "verificacion_expediente": "[EMAIL_1]",
    }
    assert said == []


async def test_a_verified_conversation_needs_no_second_factor(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    await verify_identity(stack.database_url, conversation, ALQUILER[2])
    access = stack.access(conversation)
    slots, _said = await validate(
        tracker(conversation, "estado del expediente EXP-2026-0001234", access)
    )
    assert slots == {"numero_expediente": ALQUILER[0], "verificacion_expediente": VERIFIED_IDENTITY}

    dispatcher = CollectingDispatcher()
    done = {"numero_expediente": "EXP-2026-0001234", "verificacion_expediente": VERIFIED_IDENTITY}
    events = await ActionConsultarExpediente().run(
        dispatcher, tracker(conversation, "x", access, done), {}
    )
    assert [e["value"] for e in events] == [None, None]
    assert dispatcher.messages[0]["text"].startswith("El expediente EXP-2026-0001234")


async def test_the_answer_shows_phase_last_step_next_action_and_unit(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    await remember(stack.database_url, conversation, "30184726D")
    dispatcher = CollectingDispatcher()
    slots = {"numero_expediente": "EXP-2026-0001234", "verificacion_expediente": "[DNI_1]"}
    events = await ActionConsultarExpediente().run(
        dispatcher, tracker(conversation, "[DNI_1]", stack.access(conversation), slots), {}
    )
    assert events == [
        {"event": "slot", "timestamp": None, "name": "numero_expediente", "value": None},
        {"event": "slot", "timestamp": None, "name": "verificacion_expediente", "value": None},
    ]
    [message] = dispatcher.messages
    text = message["text"]
    assert text.startswith(
        "El expediente EXP-2026-0001234, de «Ayudas para el alquiler de vivienda habitual "
        "(programa 2026)», está en subsanación:"
    )
    assert "Último trámite, el 20 de noviembre de 2026: Requerimiento de subsanación" in text
    assert "Lo que debe hacer: Aportar el contrato de arrendamiento" in text
    if date.today() <= date(2026, 12, 15):
        assert "Plazo: hasta el 15 de diciembre de 2026." in text
    assert text.endswith("Lo tramita: Dirección General de Vivienda.")
    assert "30184726D" not in text


async def test_wrong_holder_gets_the_neutral_answer_and_a_person(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    await remember(stack.database_url, conversation, OTHER_VALID_DNI)
    dispatcher = CollectingDispatcher()
    slots = {"numero_expediente": ALQUILER[0], "verificacion_expediente": "[DNI_1]"}
    await ActionConsultarExpediente().run(
        dispatcher, tracker(conversation, "[DNI_1]", stack.access(conversation), slots), {}
    )
    [message] = dispatcher.messages
    assert message["text"].startswith(
        "No encontramos ningún expediente con ese número y esos datos"
    )
    assert message["buttons"] == [
        {"title": "Hablar con una persona", "payload": "/hablar_con_agente"}
    ]


async def test_platform_down_offers_a_person(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    gone = {platform.METADATA_KEY: {"url": f"http://127.0.0.1:{free_port()}", "token": "t"}}
    dispatcher = CollectingDispatcher()
    slots = {"numero_expediente": ALQUILER[0], "verificacion_expediente": "[DNI_1]"}
    events = await ActionConsultarExpediente().run(
        dispatcher, tracker(conversation, "[DNI_1]", gone, slots), {}
    )
    assert [e["value"] for e in events] == [None, None]
    [message] = dispatcher.messages
    assert message["text"] == platform.UNAVAILABLE
    assert message["buttons"][0]["payload"] == "/hablar_con_agente"


async def test_ask_actions_do_not_repeat_an_explanation(stack: Stack) -> None:
    conversation = await new_conversation(stack.url)
    access = stack.access(conversation)
    dispatcher = CollectingDispatcher()
    await ActionAskNumeroExpediente().run(dispatcher, tracker(conversation, "hola", access), {})
    await ActionAskVerificacionExpediente().run(
        dispatcher, tracker(conversation, "hola", access), {}
    )
    assert [m["text"] for m in dispatcher.messages] == [ASK_NUMBER, ASK_VERIFICATION]
    explained = tracker(conversation, "2025/000123", access)
    explained.events.append({"event": "bot", "text": MALFORMED})
    dispatcher = CollectingDispatcher()
    await ActionAskNumeroExpediente().run(dispatcher, explained, {})
    assert dispatcher.messages == []


def test_describe_past_deadline_and_nothing_to_do() -> None:
    body = {
        "numero": "EXP-2026-0010385",
        "procedimiento": "Programa de ayudas para libros de texto y material escolar",
        "fase": "subsanacion",
        "fase_texto": "en subsanación: falta documentación",
        "ultimo_tramite": {"fecha": "2026-10-01", "descripcion": "Requerimiento publicado"},
        "accion_requerida": "Entregar el libro de familia",
        "plazo": "2026-10-15",
        "unidad": "Dirección General de Innovación e Inclusión Educativa",
    }
    text = describe(body, date(2026, 11, 29))
    assert "El plazo terminó el 15 de octubre de 2026" in text
    assert "Plazo: hasta el 15 de octubre de 2026." in describe(body, date(2026, 10, 15))
    waiting = body | {"fase": "instruccion", "accion_requerida": None, "plazo": None}
    assert "Por ahora no tiene que hacer nada" in describe(waiting, date(2026, 11, 29))
    closed = body | {"fase": "archivado", "accion_requerida": None, "plazo": None}
    assert "No tiene que hacer nada más." in describe(closed, date(2026, 11, 29))
    assert spanish_date(date(2026, 12, 1)) == "1 de diciembre de 2026"
