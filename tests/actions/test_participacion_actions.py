"""The proposal form and its sending action, run as rasa-sdk runs them, against the real web app
(its self-service API) and a real database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import participacion
from actions.participacion import (
    ActionAskPropuestaConfirmacion,
    ActionAskPropuestaProceso,
    ActionEnviarPropuesta,
    ValidateFormularioPropuesta,
)
from actions.platform import UNAVAILABLE
from connectors import pii_vault
from desk_api.models import Unit, utcnow
from desk_api.participation_models import ParticipatoryProcess, Proposal
from desk_api.security import create_self_service_token
from desk_api.services.participation import today
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.db import database
from tests.support.servers import web_app_in_thread

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DNI = "12345678Z"


@dataclass
class Conversation:
    """One citizen's conversation, as the action server sees it: slots and the platform access."""

    base_url: str
    conversation_id: str
    token: str
    slots: dict[str, Any] = field(default_factory=dict)

    def tracker(self, text: str, intent: str, entities: dict[str, str] | None = None) -> Tracker:
        parse = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        }
        metadata = {"platform": {"url": self.base_url, "token": self.token}}
        return Tracker(
            sender_id=self.conversation_id,
            slots=dict(self.slots),
            latest_message=parse,
            events=[{"event": "user", "text": text, "parse_data": parse, "metadata": metadata}],
            paused=False,
            followup_action=None,
            active_loop={"name": participacion.FORM},
            latest_action_name="action_listen",
        )

    async def run(
        self, action: Action, text: str, intent: str = "informar_dato", **entities: str
    ) -> list[dict[str, Any]]:
        """Run ``action`` for a citizen's message; apply its slot events; return its messages."""
        dispatcher = CollectingDispatcher()
        domain = {
            "forms": {participacion.FORM: {"required_slots": list(participacion.FORM_SLOTS)}},
            "slots": {},
        }
        events = await action.run(dispatcher, self.tracker(text, intent, entities), domain)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        names = [e.get("name") for e in events if e.get("event") == "slot"]
        if isinstance(action, FormValidationAction) and "requested_slot" not in names:
            # Like Rasa's FormAction: the domain's next missing slot.
            missing = [s for s in participacion.FORM_SLOTS if self.slots.get(s) is None]
            self.slots["requested_slot"] = missing[0] if missing else None
        return dispatcher.messages


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url, settings


async def conversation(web: tuple[str, Settings], said: str = "") -> Conversation:
    base_url, settings = web
    citizen = await Citizen(base_url).start()
    await citizen.aclose()
    if said:
        async with database(settings) as session:
            await pii_vault.mask(session, citizen.conversation_id, said)
            await session.commit()
    token = create_self_service_token(citizen.conversation_id, settings.jwt_key(), 10)
    return Conversation(base_url, citizen.conversation_id, token)


async def open_process(settings: Settings, title: str, *, days: int = 30) -> int:
    async with database(settings) as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "A11900500"))
        if unit is None:
            unit = Unit(code="A11900500", name="Consejería de Agricultura")
            session.add(unit)
            await session.flush()
        process = ParticipatoryProcess(
            unit_id=unit.id,
            title=title,
            description="Un proceso de prueba para enviar propuestas ciudadanas.",
            starts_on=today() - timedelta(days=1),
            ends_on=today() + timedelta(days=days),
            published_at=utcnow(),
        )
        session.add(process)
        await session.commit()
        return process.id


def texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("text")) for m in messages)


@SQLITE
async def test_no_open_process_ends_the_form_at_once(web: tuple[str, Settings]) -> None:
    chat = await conversation(web)
    form = ValidateFormularioPropuesta()
    assert await chat.run(form, "quiero participar", "participacion") == []
    assert chat.slots["propuesta_proceso"] == "ninguno" and chat.slots["requested_slot"] is None
    [said] = await chat.run(ActionEnviarPropuesta(), "quiero participar", "participacion")
    assert said["text"].startswith("Ahora mismo no hay ningún proceso de participación abierto")
    assert all(chat.slots[s] is None for s in participacion.FORM_SLOTS)


@SQLITE
async def test_a_proposal_from_the_list_to_the_platform(web: tuple[str, Settings]) -> None:
    settings = web[1]
    youth = await open_process(settings, "Plan de Juventud 2027", days=10)
    water = await open_process(settings, "Plan del Agua de Extremadura", days=40)
    chat = await conversation(web, f"mi dni es {DNI}")
    form = ValidateFormularioPropuesta()
    await chat.run(form, "quiero hacer una propuesta", "participacion")
    assert chat.slots.get("propuesta_proceso") is None
    assert chat.slots["requested_slot"] == "propuesta_proceso"
    [listed] = await chat.run(ActionAskPropuestaProceso(), "quiero hacer una propuesta")
    assert "Estos son los procesos de participación abiertos" in listed["text"]
    assert "Plan de Juventud 2027 (Consejería de Agricultura), hasta el" in listed["text"]
    # Ending soonest first; the last option lets the citizen just look.
    assert [b["title"] for b in listed["buttons"]] == [
        "Plan de Juventud 2027", "Plan del Agua de Extremadura", "Solo quería consultarlos"
    ]  # fmt: skip
    assert listed["buttons"][1]["payload"] == f'/participacion{{"opcion": "proceso_{water}"}}'
    # Typed instead of pressed (a channel without buttons): "la segunda".
    confused = await chat.run(form, "la del medio ambiente")
    assert participacion.CHOOSE in texts(confused) and chat.slots["propuesta_proceso"] is None
    await chat.run(form, "la segunda")
    assert chat.slots["propuesta_proceso"] == str(water)
    assert chat.slots["requested_slot"] == "propuesta_titulo"
    short = await chat.run(form, "Agua")
    assert participacion.TITLE_SHORT in texts(short) and chat.slots["propuesta_titulo"] is None
    await chat.run(form, "Depuradoras en los pueblos")
    assert chat.slots["requested_slot"] == "propuesta_texto"
    brief = await chat.run(form, "Más depuradoras", "presentar_sugerencia")
    assert participacion.TEXT_SHORT in texts(brief)
    proposal = "Soy [DNI_1] y propongo depuradoras pequeñas en los pueblos de menos de 500 vecinos."
    await chat.run(form, proposal, "presentar_sugerencia")
    assert chat.slots["propuesta_texto"] == proposal
    assert chat.slots["requested_slot"] == "propuesta_confirmacion"
    [summary] = await chat.run(ActionAskPropuestaConfirmacion(), proposal)
    assert "• Proceso: Plan del Agua de Extremadura" in summary["text"]
    assert "«Depuradoras en los pueblos»" in summary["text"]
    assert [b["title"] for b in summary["buttons"]] == ["Enviar", "Corregir", "Cancelar"]
    # Correct the process: back to the list, and the other answers are kept.
    await chat.run(form, "/participacion", "participacion", opcion="corregir")
    await chat.run(form, "/participacion", "participacion", opcion="corregir_propuesta_proceso")
    assert chat.slots["requested_slot"] == "propuesta_proceso"
    await chat.run(form, "/participacion", "participacion", opcion=f"proceso_{youth}")
    assert chat.slots["propuesta_proceso"] == str(youth)
    assert chat.slots["requested_slot"] == "propuesta_confirmacion"
    await chat.run(form, "vale, envíala", "afirmar")
    assert chat.slots["propuesta_confirmacion"] == "si" and chat.slots["requested_slot"] is None
    [done] = await chat.run(ActionEnviarPropuesta(), "vale, envíala", "afirmar")
    assert done["text"].startswith(
        "Hemos recibido su propuesta «Depuradoras en los pueblos» para el proceso "
        "«Plan de Juventud 2027»."
    )
    assert all(chat.slots[s] is None for s in participacion.FORM_SLOTS)
    async with database(settings) as session:
        [stored] = list(await session.scalars(select(Proposal)))
    # The unit reads the citizen's words; the bot only ever had the reference.
    assert stored.text.startswith(f"Soy {DNI} y propongo") and stored.process_id == youth
    assert (stored.channel, stored.status) == ("webchat", "received")


@SQLITE
async def test_a_single_process_is_chosen_with_a_yes_and_closed_ones_are_refused(
    web: tuple[str, Settings],
) -> None:
    settings = web[1]
    only = await open_process(settings, "Estrategia de Economía Verde")
    chat = await conversation(web)
    form = ValidateFormularioPropuesta()
    await chat.run(form, "quiero participar", "participacion")
    [asked] = await chat.run(ActionAskPropuestaProceso(), "quiero participar")
    assert asked["text"].startswith("Este es el proceso de participación abierto:")
    assert asked["text"].endswith("¿Quiere enviarle una propuesta?")
    await chat.run(form, "sí", "afirmar")
    assert chat.slots["propuesta_proceso"] == str(only)
    # An old button of a process that closed meanwhile.
    chat.slots.update({"propuesta_proceso": None, "requested_slot": "propuesta_proceso"})
    closed = await chat.run(form, "/participacion", "participacion", opcion="proceso_999")
    assert participacion.NO_LONGER_OPEN in texts(closed) and chat.slots["propuesta_proceso"] is None


@SQLITE
async def test_the_platform_down(web: tuple[str, Settings]) -> None:
    chat = await conversation(web)
    chat.base_url = "http://127.0.0.1:9"  # nothing listens there
    form = ValidateFormularioPropuesta()
    await chat.run(form, "quiero participar", "participacion")
    assert chat.slots["propuesta_proceso"] == "no_disponible"
    assert chat.slots["requested_slot"] is None
    [said] = await chat.run(ActionEnviarPropuesta(), "quiero participar", "participacion")
    assert said["text"] == UNAVAILABLE and said["buttons"][0]["payload"] == "/hablar_con_agente"
