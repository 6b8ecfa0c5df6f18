"""`registro_miespacio`: sign-up in Miespacio with a one-time code.

``formulario_miespacio`` asks for an email or mobile, has the platform send a code there, asks
for the code (another one on request), shows the privacy notice and asks to accept it; then
``action_registrar_miespacio`` creates or links the account. The citizen's address arrives
masked (``[EMAIL_1]``): only that reference and the masked form the platform returns
(``a***@correo.es``) ever reach a slot or a message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.forms_common import (
    INTERRUPTIONS,
    AskUnlessExplained,
    asking,
    explained_this_turn,
    latest_intent,
    latest_text,
)
from actions.knowledge_access import HUMAN_BUTTON
from connectors.pii import PLACEHOLDER

API = "/api/selfservice/miespacio"
MADRID = ZoneInfo("Europe/Madrid")
DESTINO, ENMASCARADO = "miespacio_destino", "miespacio_enmascarado"
CODIGO, PRIVACIDAD = "miespacio_codigo", "miespacio_privacidad"
SLOTS = (DESTINO, ENMASCARADO, CODIGO, PRIVACIDAD)
VERIFIED, ACCEPTED = "verificado", "aceptada"
RESEND_INTENT = "reenviar_codigo"
CANCEL_INTENTS = frozenset({"negar", "despedida", "hablar_con_agente"})
CODE = re.compile(r"(?<!\d)(\d{3})[\s.-]?(\d{3})(?!\d)")
ACCEPT = re.compile(r"\s*(s[ií],?\s*)?acepto\b", re.IGNORECASE)

ASK_DESTINO = (
    "Para darle de alta en Miespacio necesito su correo electrónico o su teléfono móvil. Le "
    "enviaré un código de 6 cifras para comprobar que es suyo."
)
NOT_CONTACT = (
    "Eso no parece un correo electrónico ni un teléfono móvil. Escríbalo completo, por ejemplo "
    "«nombre@correo.es» o «612 345 678»."
)
NOT_CONTACT_KIND = (
    "Con un {kind} no puedo enviarle el código. Necesito su correo electrónico o su teléfono móvil."
)
CODE_SENT = (
    "Le he enviado un código de 6 cifras a {destino}; caduca a las {hora}. Escríbalo aquí en "
    "cuanto le llegue."
)
NEW_CODE = "Le he enviado un código nuevo; el anterior ya no vale."
ASK_CODIGO = "Escriba aquí el código de 6 cifras que le he enviado a {destino}."
NOT_A_CODE = "El código tiene 6 cifras, por ejemplo 123456. Si no le ha llegado, le envío otro."
CODE_OK = "Código correcto: {destino} es suyo."
ASK_PRIVACIDAD = (
    "Antes de crear su cuenta, lea el aviso de privacidad: {resumen}\n"
    "Texto completo (versión {version}): {url}\n¿Lo acepta?"
)
ACCEPT_OR_NOT = (
    "Para crear la cuenta necesito que acepte el aviso de privacidad. Pulse «Acepto» o, si "
    "prefiere no darse de alta, «No acepto»."
)
CREATED = (
    "¡Listo! Ya tiene su cuenta de Miespacio con {destino}. Esta conversación queda vinculada "
    "a ella."
)
LINKED = (
    "Ya tenía una cuenta de Miespacio con {destino}: he vinculado esta conversación a ella. "
    "Así sabremos que es usted, nos escriba por donde nos escriba."
)
RESEND_BUTTON = {"title": "Enviar otro código", "payload": f"/{RESEND_INTENT}"}
PRIVACY_BUTTONS = [
    {"title": "Acepto", "payload": "/afirmar"},
    {"title": "No acepto", "payload": "/negar"},
]
# How the validation messages start: they already say what to do next, so the form's question
# is not repeated after them in the same turn.
VALIDATION_OPENINGS = (
    NOT_CONTACT[:20],
    NOT_CONTACT_KIND.split("{")[0],
    NOT_A_CODE[:20],
    ACCEPT_OR_NOT[:20],
    "El código",  # the platform's refusals: not correct, expired, too many attempts
    "Ha superado",
    "Ha pedido demasiados",
    "No hemos podido",
    "Ese número",
    "Necesito un correo",
    "No hay ningún código",
    platform.UNAVAILABLE[:20],
)
KIND_NAMES = {"DNI": "DNI", "NIE": "NIE", "IBAN": "número de cuenta"}


def _interrupted(tracker: Tracker) -> bool:
    """Another purpose (the rules answer it); asking again for Miespacio is not one."""
    return latest_intent(tracker) in INTERRUPTIONS - {"registro_miespacio"}


async def send_code(
    dispatcher: CollectingDispatcher, tracker: Tracker, ref: str, again: bool = False
) -> dict[str, Any] | None:
    """Have the platform send a code to ``ref``: the slots to set, or None when it was not
    sent (the platform's reason was said; a code sent before still works)."""
    answer = await platform.call_or_apologise(
        tracker, dispatcher, "POST", f"{API}/codigo", {"destino": ref}
    )
    if answer is None:
        return None
    if not answer.ok:
        dispatcher.utter_message(text=answer.detail)
        return None
    masked = str(answer.body["destino_enmascarado"])
    sent = CODE_SENT.format(destino=masked, hora=_madrid_hour(answer.body.get("caduca_en")))
    if again:
        sent = f"{NEW_CODE} {sent}"
    dispatcher.utter_message(text=sent)
    return {DESTINO: ref, ENMASCARADO: masked, CODIGO: None}


def _madrid_hour(iso: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return "--:--"
    return moment.astimezone(MADRID).strftime("%H:%M")


class ValidateFormularioMiespacio(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_miespacio"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """rasa-sdk returns only the form's required slots; the masked address travels with
        the reference, so it is added here when it changed."""
        before = tracker.get_slot(ENMASCARADO)
        events = await super().run(dispatcher, tracker, domain)
        after = tracker.slots.get(ENMASCARADO)
        if after != before:
            events.append(SlotSet(ENMASCARADO, after))
        return events

    async def extract_miespacio_destino(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The first email/mobile reference in the message, in any message of the form until
        a code was sent (it may come with the request itself)."""
        if tracker.get_slot(DESTINO) or latest_intent(tracker) in CANCEL_INTENTS:
            return {}
        text = latest_text(tracker)
        refs = [m for m in PLACEHOLDER.finditer(text) if m.group(2) and m.group(2).isdigit()]
        contact = [m for m in refs if m.group(1) in ("EMAIL", "TELEFONO")]
        if contact:
            sent = await send_code(dispatcher, tracker, contact[0].group(0))
            return sent if sent is not None else {DESTINO: None}
        if not asking(tracker, DESTINO) or _interrupted(tracker):
            return {}  # nothing extracted: the form rejects and the rules answer
        if refs:
            kind = KIND_NAMES.get(refs[0].group(1), refs[0].group(1))
            dispatcher.utter_message(text=NOT_CONTACT_KIND.format(kind=kind))
        else:
            dispatcher.utter_message(text=NOT_CONTACT)
        return {DESTINO: None}

    async def extract_miespacio_codigo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A 6-digit code (spaces allowed), checked by the platform at once; or a new code."""
        if not asking(tracker, CODIGO) or tracker.get_slot(CODIGO) == VERIFIED:
            return {}
        ref = tracker.get_slot(DESTINO)
        if latest_intent(tracker) == RESEND_INTENT and ref:
            sent = await send_code(dispatcher, tracker, str(ref), again=True)
            return sent if sent is not None else {CODIGO: None}
        if latest_intent(tracker) in CANCEL_INTENTS:
            return {}
        match = CODE.search(latest_text(tracker))
        if match is None and _interrupted(tracker):
            return {}
        if match is None:
            dispatcher.utter_message(text=NOT_A_CODE, buttons=[RESEND_BUTTON])
            return {CODIGO: None}
        code = match.group(1) + match.group(2)
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", f"{API}/verificar", {"codigo": code}
        )
        if answer is None:
            return {CODIGO: None}
        if answer.ok:
            destino = tracker.get_slot(ENMASCARADO) or "su dirección"
            dispatcher.utter_message(text=CODE_OK.format(destino=destino))
            return {CODIGO: VERIFIED}  # never the code itself
        dispatcher.utter_message(text=answer.detail, buttons=[RESEND_BUTTON])
        if answer.status == 409:  # no code pending any more: start again from the address
            return {CODIGO: None, DESTINO: None}
        return {CODIGO: None}

    async def extract_miespacio_privacidad(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only an explicit yes to the notice accepts it ("No acepto" cancels the sign-up)."""
        if not asking(tracker, PRIVACIDAD):
            return {}
        if latest_intent(tracker) == "afirmar" or ACCEPT.match(latest_text(tracker)):
            return {PRIVACIDAD: ACCEPTED}
        if _interrupted(tracker):
            return {}
        dispatcher.utter_message(text=ACCEPT_OR_NOT, buttons=PRIVACY_BUTTONS)
        return {PRIVACIDAD: None}

    def validate_miespacio_destino(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, str) and PLACEHOLDER.fullmatch(value) is not None:
            return {DESTINO: value, ENMASCARADO: tracker.get_slot(ENMASCARADO)}
        return {DESTINO: None, ENMASCARADO: None}

    def validate_miespacio_codigo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CODIGO: VERIFIED if value == VERIFIED else None}

    def validate_miespacio_privacidad(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {PRIVACIDAD: ACCEPTED if value == ACCEPTED else None}


class ActionAskMiespacioDestino(AskUnlessExplained):
    question, openings = ASK_DESTINO, VALIDATION_OPENINGS

    def name(self) -> str:
        return "action_ask_miespacio_destino"


class ActionAskMiespacioCodigo(Action):
    """Names where the code went (masked), and offers another one."""

    def name(self) -> str:
        return "action_ask_miespacio_codigo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not explained_this_turn(tracker, (*VALIDATION_OPENINGS, "Le he enviado")):
            destino = tracker.get_slot(ENMASCARADO) or "su correo o móvil"
            dispatcher.utter_message(
                text=ASK_CODIGO.format(destino=destino), buttons=[RESEND_BUTTON]
            )
        return []


class ActionAskMiespacioPrivacidad(Action):
    """The notice's summary and link, from the platform (its current version)."""

    def name(self) -> str:
        return "action_ask_miespacio_privacidad"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if explained_this_turn(tracker, VALIDATION_OPENINGS):
            return []
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "GET", f"{API}/aviso-privacidad"
        )
        if answer is None:
            return []
        if not answer.ok:
            dispatcher.utter_message(text=answer.detail, buttons=[HUMAN_BUTTON])
            return []
        body = answer.body
        text = ASK_PRIVACIDAD.format(
            resumen=body.get("resumen", ""), version=body.get("version", ""), url=body.get("url")
        )
        dispatcher.utter_message(text=text, buttons=PRIVACY_BUTTONS)
        return []


class ActionRegistrarMiespacio(Action):
    """The form is complete: the platform creates or links the account."""

    def name(self) -> str:
        return "action_registrar_miespacio"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset: list[EventType] = [SlotSet(slot, None) for slot in SLOTS]
        accepted = tracker.get_slot(PRIVACIDAD) == ACCEPTED
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", f"{API}/alta", {"acepta_privacidad": accepted}
        )
        if answer is None:
            return reset
        if not answer.ok:
            dispatcher.utter_message(text=answer.detail, buttons=[HUMAN_BUTTON])
            return reset
        template = LINKED if answer.body.get("cuenta_existente") else CREATED
        dispatcher.utter_message(
            text=template.format(destino=answer.body.get("destino_enmascarado", "su dirección"))
        )
        return reset
