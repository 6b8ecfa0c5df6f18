"""The complaint/suggestion forms and the status action, run as rasa-sdk runs them, against the
real web app (its self-service API) and the real sample DIR3 directory."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import estado_solicitud, quejas
from actions.estado_solicitud import ActionEstadoSolicitud, ValidateFormularioEstadoSolicitud
from actions.quejas import (
    ActionAskQsConfirmacion,
    ActionAskQsDescripcion,
    ActionRegistrarCaso,
    ValidateFormularioQueja,
    ValidateFormularioSugerencia,
    parse_spanish_date,
)
from connectors import pii_vault
from desk_api.db import make_engine, make_sessionmaker
from desk_api.security import create_self_service_token
from desk_api.selfservice.models import Case
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.servers import web_app_in_thread

SEPAD = "A11950300"
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Conversation:
    """One citizen's conversation, as the action server sees it: slots and the platform access."""

    base_url: str
    conversation_id: str
    token: str
    loop: str = "formulario_queja"
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
            active_loop={"name": self.loop} if self.loop else {},
            latest_action_name="action_listen",
        )

    async def run(
        self, action: Action, text: str, intent: str = "informar", **entities: str
    ) -> list[dict[str, Any]]:
        """Run ``action`` for a citizen's message; apply its slot events; return its messages."""
        dispatcher = CollectingDispatcher()
        required = [estado_solicitud.CODE, estado_solicitud.VERIFICATION]
        if self.loop != quejas.STATUS_FORM:
            required = list(quejas.FORM_SLOTS)
        domain = {"forms": {self.loop: {"required_slots": required}}, "slots": {}}
        events = await action.run(dispatcher, self.tracker(text, intent, entities), domain)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        names = [e.get("name") for e in events if e.get("event") == "slot"]
        if isinstance(action, FormValidationAction) and "requested_slot" not in names:
            # Like Rasa's FormAction: the domain's next missing slot.
            missing = [s for s in required if self.slots.get(s) is None]
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
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            if said:
                await pii_vault.mask(session, citizen.conversation_id, said)
                await session.commit()
    finally:
        await engine.dispose()
    token = create_self_service_token(citizen.conversation_id, settings.jwt_key(), 10)
    return Conversation(base_url, citizen.conversation_id, token)


async def stored_cases(settings: Settings) -> list[Case]:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(Case).order_by(Case.id)))
    finally:
        await engine.dispose()


def texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("text")) for m in messages)


@SQLITE
async def test_a_complaint_from_first_question_to_its_tracking_code(
    web: tuple[str, Settings],
) -> None:
    chat = await conversation(web, "12345678Z ana@correo.es")
    form = ValidateFormularioQueja()
    asked = await chat.run(ActionAskQsDescripcion(), "quiero poner una queja", "presentar_queja")
    assert "qué pasó" in texts(asked)

    chat.slots["requested_slot"] = "qs_descripcion"
    short = await chat.run(form, "fatal todo")
    assert "Cuénteme un poco más" in texts(short) and chat.slots["qs_descripcion"] is None
    await chat.run(form, "Llamé cinco veces al SEPAD y nadie me cogió el teléfono en una semana")
    assert str(chat.slots["qs_descripcion"]).startswith("Llamé cinco veces")
    assert chat.slots["requested_slot"] == "qs_unidad" and chat.slots["qs_tipo"] == "queja"

    await chat.run(form, "el SEPAD")
    assert chat.slots["qs_unidad"] == SEPAD and chat.slots["requested_slot"] == "qs_fecha"

    future = await chat.run(form, (date.today() + timedelta(days=5)).strftime("%d/%m/%Y"))
    assert "no puede ser posterior a hoy" in texts(future) and chat.slots["qs_fecha"] is None
    await chat.run(form, "ayer")
    assert chat.slots["qs_fecha"] == (quejas.today() - timedelta(days=1)).isoformat()

    wrong = await chat.run(form, "mi dni es [DNI_INVALIDO]")
    assert "La letra del DNI no corresponde al número" in texts(wrong)
    assert chat.slots["qs_dni"] is None and chat.slots["requested_slot"] == "qs_dni"
    await chat.run(form, "perdón, es [DNI_1]")
    assert chat.slots["qs_dni"] == "[DNI_1]" and chat.slots["requested_slot"] == "qs_contacto"

    await chat.run(form, "mejor a mi correo [EMAIL_1]")
    assert (chat.slots["qs_contacto"], chat.slots["qs_contacto_dato"]) == ("email", "[EMAIL_1]")
    assert chat.slots["requested_slot"] == "qs_confirmacion"

    [summary] = await chat.run(ActionAskQsConfirmacion(), "mejor a mi correo [EMAIL_1]")
    assert "Servicio Extremeño de Promoción de la Autonomía" in summary["text"]
    assert (
        "Llamé cinco veces" in summary["text"]
        and "DNI/NIE: el que me ha indicado" in (summary["text"])
    )
    assert [b["title"] for b in summary["buttons"]] == ["Confirmar", "Corregir", "Cancelar"]
    confirm = summary["buttons"][0]["payload"]
    assert confirm == '/presentar_queja{"opcion": "confirmar"}'
    await chat.run(form, confirm, "presentar_queja", opcion="confirmar")
    assert chat.slots["qs_confirmacion"] == "si" and chat.slots["requested_slot"] is None

    [done] = await chat.run(ActionRegistrarCaso(), confirm, "presentar_queja")
    year = quejas.today().year
    assert f"QS-{year}-000001" in done["text"] and "Guarde el código" in done["text"]
    assert all(chat.slots[s] is None for s in (*quejas.FORM_SLOTS, "qs_tipo"))
    [case] = await stored_cases(web[1])
    assert (case.kind, case.unit_code, case.dni, case.contact) == (
        "queja",
        SEPAD,
        "12345678Z",
        "ana@correo.es",
    )
    assert case.occurred_on == quejas.today() - timedelta(days=1)
    assert quejas.spanish_date(case.deadline) in done["text"]


@SQLITE
async def test_a_suggestion_with_ambiguous_unit_no_dni_and_a_correction(
    web: tuple[str, Settings],
) -> None:
    chat = await conversation(web)
    chat.loop = "formulario_sugerencia"
    form = ValidateFormularioSugerencia()
    chat.slots["requested_slot"] = "qs_descripcion"
    await chat.run(form, "Estaría bien poder pedir cita para la oficina por WhatsApp también")
    assert chat.slots["requested_slot"] == "qs_unidad"  # no date for a suggestion

    ambiguous = await chat.run(form, "el servicio de juego")
    assert "varias unidades" in texts(ambiguous) and chat.slots["qs_unidad"] is None
    payloads = [b["payload"] for b in ambiguous[0]["buttons"]]
    assert payloads[0] == '/presentar_sugerencia{"unidad": "A11900111"}'
    nothing = await chat.run(form, "el servicio")
    assert "No encuentro esa unidad" in texts(nothing)
    await chat.run(form, payloads[0], "presentar_sugerencia", unidad="A11900111")
    assert chat.slots["qs_unidad"] == "A11900111" and chat.slots["requested_slot"] == "qs_dni"

    await chat.run(form, "prefiero no darlo", "negar")
    assert chat.slots["qs_dni"] == "no"
    await chat.run(form, "por aquí mismo")
    assert (
        chat.slots["qs_contacto"] == "canal" and chat.slots["requested_slot"] == "qs_confirmacion"
    )

    fix = await chat.run(form, "/corregir", "presentar_sugerencia", opcion="corregir")
    assert "¿Qué dato quiere corregir?" in texts(fix)
    assert "La fecha" not in [b["title"] for b in fix[0]["buttons"]]
    await chat.run(form, "/x", "presentar_sugerencia", opcion="corregir_qs_contacto")
    assert chat.slots["requested_slot"] == "qs_contacto" and chat.slots["qs_contacto"] is None
    await chat.run(form, "/x", "presentar_sugerencia", opcion="telefono")
    assert chat.slots["requested_slot"] == "qs_contacto_dato"
    missing = await chat.run(form, "no sé")
    assert "No he reconocido un teléfono" in texts(missing)

    # The platform refuses a phone reference this conversation does not have: said clearly.
    chat.slots.update({"qs_contacto_dato": "[TELEFONO_1]", "qs_confirmacion": "si"})
    [refused] = await chat.run(ActionRegistrarCaso(), "/x", "afirmar")
    assert refused["text"].startswith("No he podido registrarla: Necesito el teléfono")
    assert await stored_cases(web[1]) == []


@SQLITE
async def test_status_of_a_case_needs_a_second_factor_in_another_conversation(
    web: tuple[str, Settings],
) -> None:
    owner = await conversation(web, "12345678Z")
    owner.slots = {
        "qs_tipo": "queja",
        "qs_descripcion": "Me dieron una información equivocada sobre la beca",
        "qs_unidad": "A11900331",
        "qs_fecha": quejas.today().isoformat(),
        "qs_dni": "[DNI_1]",
        "qs_contacto": "canal",
    }
    [done] = await owner.run(ActionRegistrarCaso(), "/afirmar", "afirmar")
    code = f"QS-{quejas.today().year}-000001"
    assert code in done["text"]

    stranger = await conversation(web, "87654321X")
    stranger.loop = quejas.STATUS_FORM
    form = ValidateFormularioEstadoSolicitud()
    await stranger.run(form, f"cómo va la {code.lower().replace('-', ' ')}", "estado_solicitud")
    assert stranger.slots["qs_codigo"] == code
    assert stranger.slots["requested_slot"] == "qs_verificacion"
    wrong = await stranger.run(form, "[DNI_INVALIDO]")
    assert texts(wrong).startswith("La letra del DNI no corresponde al número")
    await stranger.run(form, "mi dni es [DNI_1]")
    assert stranger.slots["qs_verificacion"] == "[DNI_1]"
    [neutral] = await stranger.run(ActionEstadoSolicitud(), "[DNI_1]")
    assert neutral["text"].startswith("No encontramos ninguna solicitud con ese código")
    assert "beca" not in neutral["text"].lower() and stranger.slots["qs_codigo"] is None

    helper = await conversation(web, "el dni 12345678Z")
    helper.loop = quejas.STATUS_FORM
    bad = await helper.run(form, "QS-26-1", "estado_solicitud")
    assert bad == []  # not asked yet: the form asks for the code next
    helper.slots["requested_slot"] = "qs_codigo"
    bad = await helper.run(form, "el QS-26-1")
    assert "QS-AAAA-NNNNNN" in texts(bad)
    await helper.run(form, code)
    await helper.run(form, "[DNI_1]")
    [found] = await helper.run(ActionEstadoSolicitud(), "[DNI_1]")
    assert code in found["text"] and "Registrada, pendiente de respuesta" in found["text"]
    assert "Servicio de Becas" in found["text"]

    helper.slots["qs_codigo"] = "todas"
    listing = await helper.run(ActionEstadoSolicitud(), "todas", "estado_solicitud")
    assert "Miespacio" in texts(listing)


@SQLITE
async def test_the_platform_down_keeps_what_was_collected(web: tuple[str, Settings]) -> None:
    chat = await conversation(web)
    chat.base_url = "http://127.0.0.1:9"  # nothing listens there
    chat.slots = {"qs_tipo": "queja", "qs_descripcion": "x" * 30, "qs_unidad": SEPAD}
    [message] = await chat.run(ActionRegistrarCaso(), "/afirmar", "afirmar")
    assert message["text"] == quejas.platform.UNAVAILABLE
    assert chat.slots["qs_descripcion"] == "x" * 30


def test_spanish_dates_said_by_citizens() -> None:
    sunday = date(2026, 11, 29)
    said = {
        "ayer": date(2026, 11, 28),
        "antes de ayer": date(2026, 11, 27),
        "el lunes": date(2026, 11, 23),
        "el domingo": date(2026, 11, 22),
        "12/11/2026": date(2026, 11, 12),
        "12-11-26": date(2026, 11, 12),
        "el 12 de noviembre": date(2026, 11, 12),
        "3 de marzo del 2025": date(2025, 3, 3),
        "el 20 de diciembre": date(2025, 12, 20),  # not yet this year: last year's
        "hace 3 días": date(2026, 11, 26),
        "hace dos semanas": date(2026, 11, 15),
        "Hoy por la mañana": sunday,
    }
    for text, expected in said.items():
        assert parse_spanish_date(text, sunday) == expected, text
    assert parse_spanish_date("31/02/2026", sunday) is None
    assert parse_spanish_date("no sé", sunday) is None
    assert estado_solicitud.normalise_code("mi código: qs_2026 000123") == "QS-2026-000123"
