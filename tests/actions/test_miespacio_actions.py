"""The Miespacio form's actions, run as rasa-sdk runs them, against the real web app (its
self-service API and its development mail catcher); no Rasa."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import platform
from actions.miespacio import (
    CODIGO,
    DESTINO,
    ENMASCARADO,
    PRIVACIDAD,
    ActionAskMiespacioCodigo,
    ActionAskMiespacioDestino,
    ActionAskMiespacioPrivacidad,
    ActionRegistrarMiespacio,
    ValidateFormularioMiespacio,
)
from bot.processes import free_port
from desk_api.models import Conversation
from desk_api.selfservice import smtp_catcher
from desk_api.selfservice.models import Citizen
from tests.support.miespacio import App, rows, serve

FORM = "formulario_miespacio"
DOMAIN: dict[str, Any] = {
    "forms": {FORM: {"required_slots": [DESTINO, CODIGO, PRIVACIDAD]}},
    "slots": {
        name: {"type": "text", "mappings": [{"type": "custom"}]}
        for name in (DESTINO, ENMASCARADO, CODIGO, PRIVACIDAD)
    },
}


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with serve(database_url, tmp_path, monkeypatch) as served:
        yield served


class Bot:
    """One conversation as Rasa would drive the form: slots carried from turn to turn."""

    def __init__(self, conversation_id: str, url: str, token: str) -> None:
        self.conversation_id = conversation_id
        self.metadata = {"platform": {"url": url, "token": token}}
        self.slots: dict[str, Any] = {}
        self.said: list[dict[str, Any]] = []  # every message, to check for personal data
        self.events: list[dict[str, Any]] = []

    def hears(self, text: str, intent: str) -> None:
        self.events = [
            {
                "event": "user",
                "text": text,
                "parse_data": {"intent": {"name": intent, "confidence": 0.95}},
                "metadata": self.metadata,
            }
        ]

    def tracker(self) -> Tracker:
        user = self.events[0]
        return Tracker(
            sender_id=self.conversation_id,
            slots=dict(self.slots),
            latest_message={"text": user["text"], **user["parse_data"]},
            events=list(self.events),
            paused=False,
            followup_action=None,
            active_loop={"name": FORM},
            latest_action_name="action_listen",
        )

    async def run(self, action: Action) -> list[dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), DOMAIN)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message in dispatcher.messages:
            self.events.append({"event": "bot", "text": message.get("text")})
        self.said += dispatcher.messages
        self.events += events
        return dispatcher.messages

    async def turn(self, text: str, intent: str, asked: str | None) -> list[dict[str, Any]]:
        """The citizen's message while the form asks for ``asked``: validation, then the
        form's question for the next empty slot (as Rasa's form does)."""
        self.hears(text, intent)
        self.slots["requested_slot"] = asked
        messages = await self.run(ValidateFormularioMiespacio())
        nxt = next((s for s in (DESTINO, CODIGO, PRIVACIDAD) if not self.slots.get(s)), None)
        ask = {
            DESTINO: ActionAskMiespacioDestino(),
            CODIGO: ActionAskMiespacioCodigo(),
            PRIVACIDAD: ActionAskMiespacioPrivacidad(),
        }
        if nxt is not None:
            self.slots["requested_slot"] = nxt
            messages += await self.run(ask[nxt])
        return messages


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("text")) for m in messages]


async def test_the_form_signs_the_citizen_up(app: App) -> None:
    conversation_id = await app.conversation("mi correo es Ana.Garcia@correo.es")
    bot = Bot(conversation_id, app.url, app.token(conversation_id))

    said = await bot.turn(
        "quiero darme de alta en miespacio, mi correo es [EMAIL_1]", "registro_miespacio", None
    )
    (sent,) = texts(said)  # the code's question is not repeated after "Le he enviado…"
    assert sent.startswith("Le he enviado un código de 6 cifras a a***@correo.es; caduca a las ")
    assert bot.slots[DESTINO] == "[EMAIL_1]" and bot.slots[ENMASCARADO] == "a***@correo.es"
    assert bot.slots["requested_slot"] == CODIGO

    said = await bot.turn("12345", "dar_codigo", CODIGO)
    assert texts(said) == [
        "El código tiene 6 cifras, por ejemplo 123456. Si no le ha llegado, le envío otro."
    ]
    assert said[0]["buttons"] == [{"title": "Enviar otro código", "payload": "/reenviar_codigo"}]
    code = app.last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    said = await bot.turn(f"el código es {wrong}", "dar_codigo", CODIGO)
    assert texts(said) == ["El código no es correcto. Le quedan 4 intentos."]

    for text, intent in (("¿a qué hora abren?", "horario_atencion"), ("adiós", "despedida")):
        bot.hears(text, intent)  # not answers: the form rejects, so the rules can answer
        assert await bot.run(ValidateFormularioMiespacio()) == []
        assert bot.events[1:] == []
    said = await bot.turn("no me ha llegado, envíeme otro", "reenviar_codigo", CODIGO)
    assert texts(said)[0].startswith(
        "Le he enviado un código nuevo; el anterior ya no vale. Le he enviado un código de 6 "
        "cifras a a***@correo.es"
    )
    assert len(smtp_catcher.list_mail(app.mail_dir)) == 2
    code = app.last_code()
    said = await bot.turn(f"{code[:3]} {code[3:]}", "dar_codigo", CODIGO)
    assert texts(said)[0] == "Código correcto: a***@correo.es es suyo."
    assert bot.slots[CODIGO] == "verificado"  # never the code itself
    notice = said[1]
    assert "aviso de privacidad" in notice["text"] and "versión 2026-01" in notice["text"]
    assert "/miespacio/aviso-privacidad" in notice["text"]
    assert [b["title"] for b in notice["buttons"]] == ["Acepto", "No acepto"]

    said = await bot.turn("¿y para qué usan mis datos?", "informacion_tramite", PRIVACIDAD)
    assert texts(said) == [
        "Para crear la cuenta necesito que acepte el aviso de privacidad. Pulse «Acepto» o, si "
        "prefiere no darse de alta, «No acepto»."
    ]  # the notice is not repeated
    assert await bot.turn("/afirmar", "afirmar", PRIVACIDAD) == []
    assert bot.slots[PRIVACIDAD] == "aceptada"
    bot.hears("/afirmar", "afirmar")
    said = await bot.run(ActionRegistrarMiespacio())
    assert texts(said) == [
        "¡Listo! Ya tiene su cuenta de Miespacio con a***@correo.es. Esta conversación queda "
        "vinculada a ella."
    ]
    assert all(bot.slots[slot] is None for slot in (DESTINO, ENMASCARADO, CODIGO, PRIVACIDAD))

    (citizen,) = await rows(app.database_url, Citizen)
    assert citizen.email == "ana.garcia@correo.es"
    (conversation,) = await rows(app.database_url, Conversation, Conversation.id == conversation_id)
    assert conversation.citizen_id == citizen.id
    everything = json.dumps([bot.said, bot.slots], ensure_ascii=False).lower()
    assert "ana.garcia" not in everything and code not in json.dumps(bot.slots)

    other = await app.conversation("ana.garcia@correo.es")  # the same person, another channel
    bot = Bot(other, app.url, app.token(other))
    await bot.turn("[EMAIL_1]", "registro_miespacio", DESTINO)
    await bot.turn(app.last_code(), "dar_codigo", CODIGO)
    await bot.turn("Sí, acepto", "afirmar", PRIVACIDAD)
    said = await bot.run(ActionRegistrarMiespacio())
    assert texts(said)[0].startswith("Ya tenía una cuenta de Miespacio con a***@correo.es")


async def test_what_is_not_an_email_or_mobile_is_explained(app: App) -> None:
    conversation_id = await app.conversation("DNI 12345678Z, fijo 924 123 456")
    bot = Bot(conversation_id, app.url, app.token(conversation_id))
    bot.slots["requested_slot"] = DESTINO
    assert texts(await bot.turn("ana arroba correo", "registro_miespacio", DESTINO)) == [
        "Eso no parece un correo electrónico ni un teléfono móvil. Escríbalo completo, por "
        "ejemplo «nombre@correo.es» o «612 345 678»."
    ]  # and the question is not asked twice
    assert texts(await bot.turn("mi dni es [DNI_1]", "informacion_tramite", DESTINO)) == [
        "Con un DNI no puedo enviarle el código. Necesito su correo electrónico o su teléfono "
        "móvil."
    ]
    assert texts(await bot.turn("el [TELEFONO_1]", "informacion_tramite", DESTINO)) == [
        "Ese número no es un teléfono móvil y el código se envía por SMS. Indique un móvil o un "
        "correo electrónico."
    ]
    assert texts(await bot.turn("[EMAIL_7]", "informacion_tramite", DESTINO)) == [
        "Necesito un correo electrónico o un teléfono móvil escrito en esta conversación."
    ]
    assert bot.slots[DESTINO] is None
    for text, intent in (("déjalo", "negar"), ("con una persona", "hablar_con_agente")):
        bot.hears(text, intent)  # not answers: the form rejects, so the rules can answer
        assert await bot.run(ValidateFormularioMiespacio()) == []
        assert bot.events[1:] == []


async def test_sign_up_refused_without_a_verified_code(app: App) -> None:
    conversation_id = await app.conversation()
    bot = Bot(conversation_id, app.url, app.token(conversation_id))
    bot.hears("/afirmar", "afirmar")
    bot.slots[PRIVACIDAD] = "aceptada"
    said = await bot.run(ActionRegistrarMiespacio())
    assert texts(said) == ["Antes del alta tiene que confirmar el código que le hemos enviado."]
    assert said[0]["buttons"] == [
        {"title": "Hablar con una persona", "payload": "/hablar_con_agente"}
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_platform_down_is_said_politely(app: App) -> None:
    conversation_id = await app.conversation("ana@correo.es")
    nowhere = f"http://127.0.0.1:{free_port()}"
    for bot in (
        Bot(conversation_id, nowhere, app.token(conversation_id)),
        Bot(conversation_id, "", ""),  # no access in the metadata at all
    ):
        said = await bot.turn("[EMAIL_1]", "registro_miespacio", None)
        assert texts(said) == [platform.UNAVAILABLE]
        assert bot.slots[DESTINO] is None
        bot.slots.update({DESTINO: "[EMAIL_1]", CODIGO: None})
        assert texts(await bot.turn("123456", "dar_codigo", CODIGO)) == [platform.UNAVAILABLE]
        bot.hears("/afirmar", "afirmar")
        assert texts(await bot.run(ActionAskMiespacioPrivacidad())) == [platform.UNAVAILABLE]
        assert texts(await bot.run(ActionRegistrarMiespacio())) == [platform.UNAVAILABLE]
    assert not smtp_catcher.list_mail(app.mail_dir)
