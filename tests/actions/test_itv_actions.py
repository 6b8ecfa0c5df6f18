"""The ITV form and its submit action, run as rasa-sdk runs them, against the real web app."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import itv as actions
from actions import platform
from bot.processes import free_port
from desk_api.security import create_self_service_token
from desk_api.selfservice import itv
from desk_api.selfservice.modelo050 import euros, is_valid_justificante
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.servers import web_app_in_thread

DOMAIN: dict[str, Any] = {"forms": {"formulario_itv": {"required_slots": list(actions.FORM_SLOTS)}}}
FILLED = {
    "categoria_vehiculo": "turismo",
    "combustible": "diesel",
    "tipo_inspeccion": "periodica",
    "matricula": "1234 BCD",
    "estacion_itv": "merida",
}
NOWHERE = {"url": "http://127.0.0.1:9", "token": "x"}  # nothing listens there

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Bot:
    conversation_id: str
    access: dict[str, str]  # the metadata the gateway gives Rasa

    def tracker(
        self,
        text: str,
        intent: str = "pagar_tasa_itv",
        *,
        asking: str | None = None,
        slots: dict[str, Any] | None = None,
        entities: dict[str, str] | None = None,
        access: dict[str, str] | None = None,
        said: list[str] | None = None,
    ) -> Tracker:
        parse = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        }
        events: list[dict[str, Any]] = [
            {
                "event": "user",
                "text": text,
                "parse_data": parse,
                "metadata": {"platform": access or self.access},
            }
        ]
        events += [{"event": "bot", "text": t} for t in said or []]
        return Tracker(
            sender_id=self.conversation_id,
            slots={
                **dict.fromkeys(actions.FORM_SLOTS),
                **(slots or {}),
                "requested_slot": asking,
            },
            latest_message=parse,
            events=events,
            paused=False,
            followup_action=None,
            active_loop={"name": "formulario_itv"},
            latest_action_name="action_listen",
        )


@pytest.fixture
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
    )


@pytest.fixture
def web(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))  # the mail catcher, not ours
    with web_app_in_thread(app_settings, KnowledgeSettings(warm_up=False)) as url:
        yield url


@pytest.fixture
async def bot(web: str, app_settings: Settings) -> Bot:
    citizen = await Citizen(web).start()
    await citizen.aclose()
    token = create_self_service_token(citizen.conversation_id, app_settings.jwt_key(), 10)
    return Bot(citizen.conversation_id, {"url": web, "token": token})


async def validate(tracker: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await actions.ValidateFormularioItv().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


async def test_the_first_message_may_already_say_most_of_it(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("quiero pagar la itv de mi coche diésel, la matrícula es 1234 bcd")
    )
    assert slots == {
        "categoria_vehiculo": "turismo",
        "combustible": "diesel",
        "matricula": "1234 BCD",
    }
    assert said == []


async def test_words_and_buttons_fill_the_choices(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("el tractor", "informacion_tramite", asking="categoria_vehiculo")
    )
    assert slots == {"categoria_vehiculo": "agricola"} and said == []
    slots, _ = await validate(
        bot.tracker(
            "me la tiraron por los frenos",
            asking="tipo_inspeccion",
            slots={"categoria_vehiculo": "turismo", "combustible": "gasolina"},
        )
    )
    assert slots == {"tipo_inspeccion": "segunda"}
    button = '/pagar_tasa_itv{"categoria_vehiculo": "remolque"}'
    slots, said = await validate(
        bot.tracker(
            button, asking="categoria_vehiculo", entities={"categoria_vehiculo": "remolque"}
        )
    )
    assert slots == {"categoria_vehiculo": "remolque", "combustible": itv.NO_ENGINE}  # no question
    assert said == []


async def test_an_unclear_answer_is_explained_with_the_options(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("un cohete", "nlu_fallback", asking="categoria_vehiculo")
    )
    assert slots == {"categoria_vehiculo": None}
    [message] = said
    assert message["text"] == "No he entendido qué vehículo es. Elija una de estas opciones:"
    assert [b["title"] for b in message["buttons"]] == [c.label for c in itv.CATEGORIES]
    assert message["buttons"][0]["payload"] == '/pagar_tasa_itv{"categoria_vehiculo": "turismo"}'
    # The form's question is not repeated after the explanation.
    ask = CollectingDispatcher()
    tracker = bot.tracker("un cohete", "nlu_fallback", said=[message["text"]])
    await actions.ActionAskCategoriaVehiculo().run(ask, tracker, DOMAIN)
    assert ask.messages == []
    await actions.ActionAskCategoriaVehiculo().run(ask, bot.tracker("hola"), DOMAIN)
    assert ask.messages[0]["text"] == "¿Qué tipo de vehículo va a pasar la ITV?"


async def test_an_interruption_is_not_an_answer(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("¿a qué hora abrís? 1234 BCD", "horario_atencion", asking="matricula")
    )
    assert slots == {} and said == []


async def test_the_plate_is_checked_with_a_clear_message(bot: Bot) -> None:
    slots, said = await validate(bot.tracker("1234-AEI", "nlu_fallback", asking="matricula"))
    assert slots == {"matricula": None}
    assert said[0]["text"] == (
        "La matrícula «1234-AEI» no es válida: las matrículas actuales llevan 4 cifras y "
        "3 consonantes (sin vocales, Ñ ni Q), por ejemplo 1234 BCD."
    )
    slots, said = await validate(
        bot.tracker("es la ba 1234 xy", "nlu_fallback", asking="matricula")
    )
    assert slots == {"matricula": "BA-1234-XY"} and said == []


async def test_the_nearest_stations_are_offered_as_buttons(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("Almendralejo", "buscar_oficina", asking="estacion_itv")
    )
    assert slots == {"estacion_itv": None}
    [offer] = said
    assert offer["text"] == actions.NEAREST.format(place="Almendralejo")
    assert offer["buttons"][0] == {
        "title": "Estación ITV de Almendralejo (en su municipio)",
        "payload": '/pagar_tasa_itv{"estacion_itv": "almendralejo"}',
    }
    assert len(offer["buttons"]) == 3 and " km)" in offer["buttons"][1]["title"]

    slots, said = await validate(bot.tracker("Villanueva", "nlu_fallback", asking="estacion_itv"))
    assert said[0]["text"] == actions.SEVERAL_PLACES
    serena = next(b for b in said[0]["buttons"] if b["title"] == "Villanueva de la Serena")
    assert serena["payload"] == '/pagar_tasa_itv{"municipio": "06153"}'
    slots, said = await validate(
        bot.tracker(serena["payload"], asking="estacion_itv", entities={"municipio": "06153"})
    )
    assert said[0]["buttons"][0]["payload"].endswith('{"estacion_itv": "villanueva_de_la_serena"}')

    slots, said = await validate(bot.tracker("Springfield", "nlu_fallback", asking="estacion_itv"))
    assert slots == {"estacion_itv": None}
    assert said[0]["text"].startswith("No encuentro «Springfield» entre los municipios")

    chosen = '/pagar_tasa_itv{"estacion_itv": "merida"}'
    slots, said = await validate(
        bot.tracker(chosen, asking="estacion_itv", entities={"estacion_itv": "merida"})
    )
    assert slots == {"estacion_itv": "merida"} and said == []


async def test_no_platform_means_an_apology_and_a_person(bot: Bot) -> None:
    slots, said = await validate(
        bot.tracker("Mérida", "nlu_fallback", asking="estacion_itv", access=NOWHERE)
    )
    assert slots == {"estacion_itv": None}
    assert said[0]["text"] == platform.UNAVAILABLE
    assert said[0]["buttons"] == [
        {"title": "Hablar con una persona", "payload": "/hablar_con_agente"}
    ]
    dispatcher = CollectingDispatcher()
    tracker = bot.tracker(
        "/afirmar", "afirmar", slots={**FILLED, "confirmacion_itv": True}, access=NOWHERE
    )
    events = await actions.ActionPagarTasaItv().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[0]["text"] == platform.UNAVAILABLE
    assert events == [
        {"event": "slot", "timestamp": None, "name": "confirmacion_itv", "value": None}
    ]


async def test_confirm_then_create_the_050(bot: Bot, web: str) -> None:
    ask = CollectingDispatcher()
    await actions.ActionAskConfirmacionItv().run(ask, bot.tracker("1234 BCD", slots=FILLED), DOMAIN)
    [summary] = ask.messages
    today = datetime.now(ZoneInfo("Europe/Madrid")).date()
    expected = itv.quote(
        itv.load_tariffs(itv.ItvSettings().tariffs), "turismo", "diesel", "periodica", today
    )
    assert "• Vehículo: Turismo (coche), diésel" in summary["text"]
    assert "• Matrícula: 1234 BCD" in summary["text"]
    assert "• Estación: Estación ITV de Mérida" in summary["text"]
    assert (
        f"• Prueba de opacidad de humos (diésel): {euros(expected.lines[1].amount_cents)}"
        in summary["text"]
    )
    assert f"Total: {euros(expected.total_cents)}" in summary["text"]
    assert summary["buttons"] == actions.CONFIRM_BUTTONS

    slots, said = await validate(
        bot.tracker("mmm", "nlu_fallback", asking="confirmacion_itv", slots=FILLED)
    )
    assert slots == {"confirmacion_itv": None} and said[0]["text"] == actions.CONFIRM_AGAIN
    slots, said = await validate(
        bot.tracker("/afirmar", "afirmar", asking="confirmacion_itv", slots=FILLED)
    )
    assert slots == {"confirmacion_itv": True} and said == []

    dispatcher = CollectingDispatcher()
    tracker = bot.tracker("/afirmar", "afirmar", slots={**FILLED, "confirmacion_itv": True})
    events = await actions.ActionPagarTasaItv().run(dispatcher, tracker, DOMAIN)
    text = dispatcher.messages[0]["text"]
    number = text.split("n.º ")[1].split(" ")[0]
    assert is_valid_justificante(number)
    assert f"por {euros(expected.total_cents)}, matrícula 1234 BCD" in text
    assert f"Puede pagarla con tarjeta aquí: {web}/sandbox/pasarela/" in text
    slots = {e["name"]: e["value"] for e in events}
    assert slots == {**dict.fromkeys(actions.FORM_SLOTS), "justificante_itv": number}

    async with httpx.AsyncClient(base_url=web) as http:
        stored = await http.get(
            f"/api/selfservice/itv/autoliquidaciones/{number}",
            headers={"Authorization": f"Bearer {bot.access['token']}"},
        )
    assert stored.json()["estado"] == "pending" and stored.json()["matricula"] == "1234 BCD"


async def test_without_confirmation_nothing_is_created(bot: Bot, web: str) -> None:
    for action in (actions.ActionPagarTasaItv(), actions.ActionCancelarPagoItv()):
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, bot.tracker("déjalo", "negar", slots=FILLED), DOMAIN)
        assert dispatcher.messages[0]["text"].startswith("De acuerdo, lo dejamos: no he generado")
        assert {e["name"]: e["value"] for e in events} == dict.fromkeys(actions.FORM_SLOTS)
    dispatcher = CollectingDispatcher()
    goodbye = bot.tracker("adiós", "despedida", slots=FILLED)
    events = await actions.ActionCancelarPagoItv().run(dispatcher, goodbye, DOMAIN)
    assert dispatcher.messages == [] and len(events) == len(actions.FORM_SLOTS)
    async with httpx.AsyncClient(base_url=web) as http:
        missing = await http.get(
            "/api/selfservice/itv/autoliquidaciones/0500000000011",
            headers={"Authorization": f"Bearer {bot.access['token']}"},
        )
    assert missing.status_code == 404
