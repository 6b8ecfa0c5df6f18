"""`estado_expediente`: phase, last step and what to do next of a file in the Plataforma de
Tramitación.

``formulario_expediente`` collects ``numero_expediente`` (from entity ``numero_expediente`` or
the text, spacing and case tolerated; a malformed one gets the format explained) and
``verificacion_expediente``: the vault reference of the DNI/NIE or email the citizen used
(``[DNI_1]``, ``[NIE_1]``, ``[EMAIL_1]``), or ``identidad_verificada`` when this conversation is
linked to a verified Miespacio account and needs no second factor. The number alone never
shows anything: the platform checks the second factor.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.forms_common import (
    AskUnlessExplained,
    asking,
    is_interruption,
    latest_intent,
    latest_text,
)
from actions.knowledge_access import HUMAN_BUTTON
from connectors.pii import PLACEHOLDER
from desk_api.selfservice.business_days import spanish_date
from desk_api.selfservice.tramitacion import (
    NUMBER_EXAMPLE,
    NUMBER_FORMAT,
    find_number,
    looks_like_number,
)

logger = logging.getLogger(__name__)

NUMBER = "numero_expediente"
VERIFICATION = "verificacion_expediente"
ENTITY = "numero_expediente"
VERIFIED_IDENTITY = "identidad_verificada"  # no second factor needed: see the module docstring
OWN_INTENT = "estado_expediente"
SECOND_FACTOR_KINDS = ("DNI", "NIE", "EMAIL")
MADRID = ZoneInfo("Europe/Madrid")
FINAL_PHASES = ("resuelto_favorable", "resuelto_desfavorable", "archivado")

WHERE = "aparece en el acuse de recibo de su solicitud y en las notificaciones del expediente"
ASK_NUMBER = (
    f"¿Cuál es el número de expediente? Tiene la forma {NUMBER_FORMAT}, por ejemplo "
    f"{NUMBER_EXAMPLE}, y {WHERE}."
)
MALFORMED = (
    f"Ese número no tiene el formato de un expediente. Tiene la forma {NUMBER_FORMAT}, por "
    f"ejemplo {NUMBER_EXAMPLE}; {WHERE}. ¿Me lo escribe de nuevo?"
)
NO_NUMBER = (
    f"No encuentro un número de expediente en su mensaje. Tiene la forma {NUMBER_FORMAT}, por "
    f"ejemplo {NUMBER_EXAMPLE}; {WHERE}."
)
ASK_VERIFICATION = (
    "Para proteger sus datos, necesito comprobar que el expediente es suyo. Escríbame el DNI o "
    "NIE, o el correo electrónico, que usó en la solicitud."
)
INVALID_ID = (
    "La letra del {kind} no corresponde al número. Revíselo y escríbalo de nuevo, o indíqueme el "
    "correo electrónico que usó en la solicitud."
)
NEED_SECOND_FACTOR = (
    "Necesito el DNI o NIE, o el correo electrónico, que figura en la solicitud (no un teléfono "
    "ni una cuenta bancaria). ¿Me lo indica?"
)
# How the validation messages start (they already ask again, in their own words).
NUMBER_OPENINGS = (MALFORMED[:30], NO_NUMBER[:30])
VERIFICATION_OPENINGS = ("La letra del ", NEED_SECOND_FACTOR[:30])


def describe(body: dict[str, Any], today: date) -> str:
    """The platform's answer as the citizen reads it."""
    step = body["ultimo_tramite"]
    lines = [
        f"El expediente {body['numero']}, de «{body['procedimiento']}», está {body['fase_texto']}.",
        f"Último trámite, el {spanish_date(date.fromisoformat(step['fecha']))}: "
        f"{step['descripcion']}.",
    ]
    action, deadline = body.get("accion_requerida"), body.get("plazo")
    if action:
        what = f"Lo que debe hacer: {action}"
        if deadline:
            due = date.fromisoformat(deadline)
            if due >= today:
                what += f". Plazo: hasta el {spanish_date(due)}."
            else:
                what += (
                    f". El plazo terminó el {spanish_date(due)}; si no llegó a hacerlo, consulte "
                    "con la unidad que lo tramita."
                )
        else:
            what += "."
        lines.append(what)
    elif body.get("fase") in FINAL_PHASES:
        lines.append("No tiene que hacer nada más.")
    else:
        lines.append("Por ahora no tiene que hacer nada: le notificarán cualquier novedad.")
    lines.append(f"Lo tramita: {body['unidad']}.")
    return "\n".join(lines)


def _answers_the_form(tracker: Tracker) -> bool:
    """Not an interruption; asking about an expediente again is an answer here."""
    return latest_intent(tracker) == OWN_INTENT or not is_interruption(tracker)


async def _identity_verified(tracker: Tracker) -> bool:
    try:
        answer = await platform.call(tracker, "GET", "/api/selfservice/expedientes/identidad")
    except platform.PlatformUnavailable as exc:
        logger.warning("expedientes.identity_unknown", extra={"error": str(exc)})
        return False
    return answer.ok and answer.body.get("verificada") is True


class ValidateFormularioExpediente(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_expediente"

    async def extract_numero_expediente(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        for candidate in (next(tracker.get_latest_entity_values(ENTITY), None), text):
            number = find_number(str(candidate)) if candidate else None
            if number:
                return {NUMBER: number}
        if tracker.get_slot(NUMBER) or not _answers_the_form(tracker):
            return {}
        if looks_like_number(text):
            dispatcher.utter_message(text=MALFORMED)
            return {NUMBER: None}
        if asking(tracker, NUMBER) and text.strip():
            dispatcher.utter_message(text=NO_NUMBER)
            return {NUMBER: None}
        return {}

    async def extract_verificacion_expediente(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        found = [(m.group(0), m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(text)]
        for placeholder, kind, suffix in found:
            if kind in SECOND_FACTOR_KINDS and suffix and suffix != "INVALIDO":
                return {VERIFICATION: placeholder}
        for _placeholder, kind, suffix in found:
            if kind in ("DNI", "NIE") and suffix == "INVALIDO":
                dispatcher.utter_message(text=INVALID_ID.format(kind=kind))
                return {VERIFICATION: None}
        if tracker.get_slot(VERIFICATION):
            return {}
        if asking(tracker, VERIFICATION):
            if found or (text.strip() and _answers_the_form(tracker) and not find_number(text)):
                dispatcher.utter_message(text=NEED_SECOND_FACTOR)
                return {VERIFICATION: None}
            return {}
        if tracker.get_slot(NUMBER) and await _identity_verified(tracker):
            return {VERIFICATION: VERIFIED_IDENTITY}
        return {}

    def validate_numero_expediente(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = find_number(value) if isinstance(value, str) else None
        return {NUMBER: number}

    def validate_verificacion_expediente(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        valid = isinstance(value, str) and (
            value == VERIFIED_IDENTITY or PLACEHOLDER.fullmatch(value) is not None
        )
        return {VERIFICATION: value if valid else None}


class ActionAskNumeroExpediente(AskUnlessExplained):
    question, openings = ASK_NUMBER, NUMBER_OPENINGS

    def name(self) -> str:
        return "action_ask_numero_expediente"


class ActionAskVerificacionExpediente(AskUnlessExplained):
    question, openings = ASK_VERIFICATION, VERIFICATION_OPENINGS

    def name(self) -> str:
        return "action_ask_verificacion_expediente"


class ActionConsultarExpediente(Action):
    def name(self) -> str:
        return "action_consultar_expediente"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = tracker.get_slot(NUMBER)
        verification = tracker.get_slot(VERIFICATION)
        done: list[EventType] = [SlotSet(NUMBER, None), SlotSet(VERIFICATION, None)]
        if not number:
            dispatcher.utter_message(text=ASK_NUMBER)
            return done
        payload = {
            "numero": number,
            "verificacion": None if verification == VERIFIED_IDENTITY else verification,
        }
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", "/api/selfservice/expedientes/consulta", payload
        )
        if answer is None:
            return done
        if answer.ok:
            today = datetime.now(MADRID).date()
            dispatcher.utter_message(text=describe(answer.body, today))
        else:
            dispatcher.utter_message(text=answer.detail, buttons=[HUMAN_BUTTON])
        return done
