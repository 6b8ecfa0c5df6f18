"""«¿Cómo va mi solicitud?»: the status of a complaint or suggestion by its tracking code.

A code alone reveals nothing: the platform answers only the conversation that filed it, the
same verified Miespacio account, or a second factor (the DNI/NIE, email or phone given then);
otherwise the same neutral answer whether or not the code exists.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.forms_common import asking, is_interruption
from actions.quejas import (
    DNI_WRONG_LETTER,
    ENTITY_OPTION,
    NIE_WRONG_LETTER,
    CaseQuestion,
    chosen_option,
    message_text,
    placeholders_in,
)
from desk_api.selfservice.business_days import spanish_date

logger = logging.getLogger(__name__)

CODE, VERIFICATION = "qs_codigo", "qs_verificacion"

CODE_NOT_UNDERSTOOD = (
    "El código de seguimiento tiene la forma QS-AAAA-NNNNNN (por ejemplo, QS-2026-000123). "
    "¿Me lo escribe de nuevo?"
)

VERIFICATION_NOT_UNDERSTOOD = (
    "Para proteger sus datos necesito el DNI/NIE o el correo electrónico que indicó al "
    "presentarla. Escríbalo, por favor."
)

ALL_CASES = "todas"

CODE_PATTERN = re.compile(r"\bQ\s*S\s*[-_.\s]?\s*(\d{4})\s*[-_.\s]?\s*(\d{6})\b", re.IGNORECASE)


def normalise_code(text: str) -> str | None:
    match = CODE_PATTERN.search(text)
    return f"QS-{match.group(1)}-{match.group(2)}" if match else None


async def verified(tracker: Tracker) -> bool:
    """The conversation belongs to a verified Miespacio account (asks the platform)."""
    try:
        answer = await platform.call(tracker, "GET", "/api/selfservice/me")
    except platform.PlatformUnavailable:
        return False
    return answer.ok and bool(answer.body.get("citizen_id"))


class ValidateFormularioEstadoSolicitud(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_estado_solicitud"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        code = tracker.get_slot(CODE)
        if code == ALL_CASES or (code and await verified(tracker)):
            return [CODE]
        return [CODE, VERIFICATION]

    async def extract_qs_codigo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if chosen_option(tracker) == ALL_CASES:
            return {CODE: ALL_CASES}
        code = normalise_code(message_text(tracker))
        if code:
            return {CODE: code}
        if not asking(tracker, CODE) or is_interruption(tracker):
            return {}
        dispatcher.utter_message(text=CODE_NOT_UNDERSTOOD)
        return {CODE: None}

    def validate_qs_codigo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CODE: value if isinstance(value, str) and value else None}

    async def extract_qs_verificacion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, VERIFICATION) or is_interruption(tracker):
            return {}
        for kind, placeholder in placeholders_in(message_text(tracker)):
            if placeholder == "[DNI_INVALIDO]":
                dispatcher.utter_message(text=DNI_WRONG_LETTER.split(", o pulse")[0] + ".")
                return {VERIFICATION: None}
            if placeholder == "[NIE_INVALIDO]":
                dispatcher.utter_message(text=NIE_WRONG_LETTER.split(", o pulse")[0] + ".")
                return {VERIFICATION: None}
            if kind in ("DNI", "NIE", "EMAIL", "TELEFONO"):
                return {VERIFICATION: placeholder}
        dispatcher.utter_message(text=VERIFICATION_NOT_UNDERSTOOD)
        return {VERIFICATION: None}

    def validate_qs_verificacion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {VERIFICATION: value if isinstance(value, str) and value else None}


class ActionAskQsCodigo(CaseQuestion):
    openings = (CODE_NOT_UNDERSTOOD,)

    def name(self) -> str:
        return "action_ask_qs_codigo"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        text = "¿Cuál es el código de seguimiento? Tiene la forma QS-AAAA-NNNNNN."
        if await verified(tracker):
            payload = f'/estado_solicitud{{"{ENTITY_OPTION}": "{ALL_CASES}"}}'
            button = {"title": "Ver todas mis solicitudes", "payload": payload}
            return text, [button]
        return text, []


class ActionAskQsVerificacion(CaseQuestion):
    openings = (VERIFICATION_NOT_UNDERSTOOD, "La letra del")

    def name(self) -> str:
        return "action_ask_qs_verificacion"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "Para proteger sus datos, dígame el DNI/NIE o el correo electrónico que indicó al "
            "presentarla.",
            [],
        )


class ActionEstadoSolicitud(Action):
    def name(self) -> str:
        return "action_estado_solicitud"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        code = tracker.get_slot(CODE)
        reset: list[EventType] = [SlotSet(CODE, None), SlotSet(VERIFICATION, None)]
        if code == ALL_CASES:
            answer = await platform.call_or_apologise(
                tracker, dispatcher, "GET", "/api/selfservice/casos"
            )
        else:
            payload = {"codigo": code, "verificacion": tracker.get_slot(VERIFICATION)}
            answer = await platform.call_or_apologise(
                tracker, dispatcher, "POST", "/api/selfservice/casos/consulta", payload
            )
        if answer is None:
            return reset
        if not answer.ok:
            dispatcher.utter_message(text=answer.detail)
            return reset
        if code == ALL_CASES:
            items = answer.body.get("items") or []
            if not items:
                dispatcher.utter_message(text="No tiene quejas ni sugerencias registradas.")
            for item in items[:5]:
                dispatcher.utter_message(text=status_text(item))
            return reset
        dispatcher.utter_message(text=status_text(answer.body))
        return reset


def status_text(case: dict[str, Any]) -> str:
    """One case's status, as the citizen reads it."""
    what = "queja" if case.get("tipo") == "queja" else "sugerencia"
    updated = str(case.get("ultima_actualizacion") or "")[:10]
    try:
        updated_text = spanish_date(date.fromisoformat(updated))
    except ValueError:
        updated_text = updated
    text = (
        f"Su {what} {case.get('codigo')} ({case.get('unidad')}): {case.get('estado_texto')}. "
        f"Última actualización: {updated_text}. Plazo de respuesta: {case.get('plazo_texto')}."
    )
    if case.get("respuesta"):
        text += f"\nRespuesta: {case['respuesta']}"
    return text
