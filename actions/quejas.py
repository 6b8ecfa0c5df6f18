"""Complaints and suggestions (`presentar_queja`, `presentar_sugerencia`) and their status
(`estado_solicitud`).

``formulario_queja`` and ``formulario_sugerencia`` share one validation base: what happened,
the unit (resolved against the DIR3 directory; buttons when ambiguous), the date of the facts
(complaints only), an optional DNI/NIE, how to answer, and a summary the citizen confirms. The
platform registers the case (``POST /api/selfservice/casos``). Personal data never enters the
tracker: the DNI, email and phone are vault references (``[DNI_1]``) the platform resolves.
``formulario_estado_solicitud`` asks the tracking code and, unless the conversation belongs to a
verified Miespacio account, the DNI/NIE or email given with it.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from datetime import date
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.fechas import dont_know, fold, parse_spanish_date, today
from actions.forms_common import asking, explained_this_turn, is_interruption, latest_intent
from actions.knowledge_access import HUMAN_BUTTON, KnowledgeUnavailable, apologise, consult
from desk_api.selfservice.business_days import spanish_date
from knowledge.answers import button_title
from knowledge.base import KnowledgeBase

NOT_A_DESCRIPTION = frozenset(
    {"saludo", "despedida", "negar", "hablar_con_agente", "horario_atencion", "bot_challenge"}
)

logger = logging.getLogger(__name__)

MIN_DESCRIPTION = 20  # same as the platform's
ENTITY_UNIT = "unidad"
ENTITY_OPTION = "opcion"
NO = "no"
UNKNOWN_DATE = "desconocida"

DESCRIPTION, UNIT, DATE, DNI, CONTACT, CONTACT_DATA, CONFIRM = (
    "qs_descripcion",
    "qs_unidad",
    "qs_fecha",
    "qs_dni",
    "qs_contacto",
    "qs_contacto_dato",
    "qs_confirmacion",
)
KIND = "qs_tipo"
FORM_SLOTS = (DESCRIPTION, UNIT, DATE, DNI, CONTACT, CONTACT_DATA, CONFIRM)

FORMS = {"formulario_queja": "presentar_queja", "formulario_sugerencia": "presentar_sugerencia"}
STATUS_FORM = "formulario_estado_solicitud"

PLACEHOLDER = re.compile(r"\[(DNI|NIE|EMAIL|TELEFONO)_(\d+|INVALIDO)\]")

# Validation messages (the ask actions do not repeat the question after one of them).
SHORT = "Cuénteme un poco más, por favor (al menos unas palabras sobre lo ocurrido)."
UNIT_NOT_FOUND = (
    "No encuentro esa unidad. Dígame el nombre de la consejería, dirección general o servicio, "
    "su sigla (por ejemplo, SEPAD o SEXPE) o el tema (por ejemplo, «becas»)."
)
UNIT_CHOOSE = "He encontrado varias unidades. ¿A cuál se refiere?"
DATE_NOT_UNDERSTOOD = (
    "No he entendido la fecha. Puede decirme, por ejemplo, «ayer», «el lunes» o «12/11/2026». "
    "Si no la recuerda, diga «no lo sé»."
)
DATE_IN_FUTURE = "La fecha no puede ser posterior a hoy. ¿Qué día ocurrió?"
DNI_WRONG_LETTER = (
    "La letra del DNI no corresponde al número (o falta la letra). Revíselo y escríbalo de "
    "nuevo, o pulse «Prefiero no darlo»."
)
NIE_WRONG_LETTER = (
    "La letra del NIE no corresponde al número. Revíselo y escríbalo de nuevo, o pulse "
    "«Prefiero no darlo»."
)
DNI_NOT_UNDERSTOOD = (
    "No he reconocido un DNI o NIE. Escríbalo con su letra (por ejemplo, 12345678Z) o pulse "
    "«Prefiero no darlo»."
)
CONTACT_NOT_UNDERSTOOD = "Elija cómo quiere recibir la respuesta, por favor."
EMAIL_NOT_UNDERSTOOD = (
    "No he reconocido un correo electrónico. Escríbalo, por ejemplo, ana@correo.es."
)
PHONE_NOT_UNDERSTOOD = "No he reconocido un teléfono. Escríbalo, por ejemplo, 612 345 678."
WHAT_TO_FIX = "¿Qué dato quiere corregir?"

# -- helpers ---------------------------------------------------------------------------------


def _form_intent(tracker: Tracker) -> str:
    """The intent that opened the active form: buttons send it back with an entity."""
    loop = (tracker.active_loop or {}).get("name")
    if loop == STATUS_FORM:
        return "estado_solicitud"
    return FORMS.get(str(loop), "presentar_queja")


def chosen_option(tracker: Tracker) -> str | None:
    value = next(tracker.get_latest_entity_values(ENTITY_OPTION), None)
    return str(value) if value else None


def placeholders_in(text: str) -> list[tuple[str, str]]:
    """(kind, "[KIND_n]") in order; invalid documents as ("DNI", "[DNI_INVALIDO]")."""
    return [(m.group(1), m.group(0)) for m in PLACEHOLDER.finditer(text)]


def message_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def _resolve_units(kb: KnowledgeBase, question: str) -> tuple[list[tuple[str, str]], bool]:
    """[(code, name)] for a question, and whether the first one is clearly the one meant."""
    matches = kb.directory.lookup(question)
    if not matches and kb.directory.meaningful(question):
        result = kb.ask(question)
        if result.answer or result.plausible:
            owners = [h.procedure.unit for h in result.hits if h.procedure.unit]
            matches = kb.directory.lookup(question, owners)
    units = [(m.unit.code, m.unit.name) for m in matches]
    clear = len(matches) == 1 or (len(matches) > 1 and matches[0].score > matches[1].score)
    return units, clear


# -- the complaint and suggestion forms ------------------------------------------------------


class ValidateCaseForm(FormValidationAction, ABC):
    """What both forms share; rasa-sdk does not register this abstract class."""

    kind: ClassVar[str]  # queja | sugerencia
    ask_date: ClassVar[bool]

    @abstractmethod
    def name(self) -> str: ...

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        slots = [s for s in FORM_SLOTS if s != DATE or self.ask_date]
        if tracker.get_slot(CONTACT) not in ("email", "telefono"):
            slots.remove(CONTACT_DATA)
        return slots

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if tracker.get_slot(KIND) != self.kind:
            events.append(SlotSet(KIND, self.kind))
        return events

    # what happened ---------------------------------------------------------------------------

    async def extract_qs_descripcion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A description of what happened often reads like a complaint or a suggestion itself:
        # only the true interruptions (rules answer them) are not an answer here.
        if not asking(tracker, DESCRIPTION) or latest_intent(tracker) in NOT_A_DESCRIPTION:
            return {}
        text = message_text(tracker).strip()
        if text.startswith("/"):
            return {}
        if len(text) < MIN_DESCRIPTION:
            dispatcher.utter_message(text=SHORT)
            return {DESCRIPTION: None}
        return {DESCRIPTION: text}

    def validate_qs_descripcion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {DESCRIPTION: value if isinstance(value, str) and value else None}

    # the unit --------------------------------------------------------------------------------

    async def extract_qs_unidad(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        chosen = next(tracker.get_latest_entity_values(ENTITY_UNIT), None)
        if chosen:
            return {UNIT: str(chosen)}
        if not asking(tracker, UNIT) or is_interruption(tracker):
            return {}
        question = message_text(tracker)
        if not question.strip() or question.startswith("/"):
            return {}
        try:
            units, clear = await consult(lambda kb: _resolve_units(kb, question))
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return {UNIT: None}
        if units and clear:
            return {UNIT: units[0][0]}
        if units:
            intent = _form_intent(tracker)
            buttons = [
                {"title": button_title(name), "payload": f'/{intent}{{"{ENTITY_UNIT}": "{code}"}}'}
                for code, name in units[:3]
            ]
            dispatcher.utter_message(text=UNIT_CHOOSE, buttons=buttons)
            return {UNIT: None}
        dispatcher.utter_message(text=UNIT_NOT_FOUND)
        return {UNIT: None}

    async def validate_qs_unidad(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not isinstance(value, str) or not value:
            return {UNIT: None}
        try:
            known = await consult(lambda kb: kb.directory.get(value) is not None)
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return {UNIT: None}
        if not known:
            dispatcher.utter_message(text=UNIT_NOT_FOUND)
            return {UNIT: None}
        return {UNIT: value}

    # the date --------------------------------------------------------------------------------

    async def extract_qs_fecha(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, DATE):
            return {}
        text = message_text(tracker)
        if dont_know(text):
            return {DATE: UNKNOWN_DATE}
        if is_interruption(tracker):
            return {}
        day = parse_spanish_date(text, today())
        if day is None:
            dispatcher.utter_message(text=DATE_NOT_UNDERSTOOD)
            return {DATE: None}
        if day > today():
            dispatcher.utter_message(text=DATE_IN_FUTURE)
            return {DATE: None}
        return {DATE: day.isoformat()}

    def validate_qs_fecha(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {DATE: value if isinstance(value, str) and value else None}

    # the DNI/NIE (optional) ------------------------------------------------------------------

    async def extract_qs_dni(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, DNI):
            return {}
        text = message_text(tracker)
        documents = [(k, p) for k, p in placeholders_in(text) if k in ("DNI", "NIE")]
        valid = [p for _, p in documents if not p.endswith("INVALIDO]")]
        if valid:
            return {DNI: valid[0]}
        if documents:
            kind = documents[0][0]
            dispatcher.utter_message(
                text=DNI_WRONG_LETTER if kind == "DNI" else NIE_WRONG_LETTER,
                buttons=[_no_dni_button()],
            )
            return {DNI: None}
        folded = fold(text)
        refuses = latest_intent(tracker) == "negar" or chosen_option(tracker) == "sin_dni"
        if refuses or re.search(r"\b(no|prefiero no|sin dni|paso)\b", folded):
            return {DNI: NO}
        if is_interruption(tracker):
            return {}
        dispatcher.utter_message(text=DNI_NOT_UNDERSTOOD, buttons=[_no_dni_button()])
        return {DNI: None}

    def validate_qs_dni(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {DNI: value if isinstance(value, str) and value else None}

    # how to answer ---------------------------------------------------------------------------

    async def extract_qs_contacto(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        option = chosen_option(tracker)
        if option in ("canal", "email", "telefono"):
            return {CONTACT: option, CONTACT_DATA: None}
        if not asking(tracker, CONTACT) or is_interruption(tracker):
            return {}
        text = message_text(tracker)
        for kind, placeholder in placeholders_in(text):
            if kind == "EMAIL":
                return {CONTACT: "email", CONTACT_DATA: placeholder}
            if kind == "TELEFONO":
                return {CONTACT: "telefono", CONTACT_DATA: placeholder}
        folded = fold(text)
        if re.search(r"\b(correo|email|e-mail|mail|emilio)\b", folded):
            return {CONTACT: "email", CONTACT_DATA: None}
        if re.search(r"\b(telefono|llam\w*|movil|sms)\b", folded):
            return {CONTACT: "telefono", CONTACT_DATA: None}
        if re.search(r"\b(aqui|chat|canal|whatsapp|telegram|da igual|por aqui)\b", folded):
            return {CONTACT: "canal", CONTACT_DATA: None}
        dispatcher.utter_message(text=CONTACT_NOT_UNDERSTOOD, buttons=_contact_buttons(tracker))
        return {CONTACT: None}

    def validate_qs_contacto(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONTACT: value if value in ("canal", "email", "telefono") else None}

    async def extract_qs_contacto_dato(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, CONTACT_DATA) or is_interruption(tracker):
            return {}
        wanted = "EMAIL" if tracker.get_slot(CONTACT) == "email" else "TELEFONO"
        for kind, placeholder in placeholders_in(message_text(tracker)):
            if kind == wanted:
                return {CONTACT_DATA: placeholder}
        dispatcher.utter_message(
            text=EMAIL_NOT_UNDERSTOOD if wanted == "EMAIL" else PHONE_NOT_UNDERSTOOD
        )
        return {CONTACT_DATA: None}

    def validate_qs_contacto_dato(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONTACT_DATA: value if isinstance(value, str) and value else None}

    # the summary -----------------------------------------------------------------------------

    async def extract_qs_confirmacion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, CONFIRM):
            return {}
        option = chosen_option(tracker) or ""
        if option == "confirmar" or latest_intent(tracker) == "afirmar":
            return {CONFIRM: "si"}
        if option == "corregir":
            intent = _form_intent(tracker)
            fields = [
                (DESCRIPTION, "Lo ocurrido" if self.kind == "queja" else "La sugerencia"),
                (UNIT, "La unidad"),
                (DATE, "La fecha"),
                (DNI, "El DNI/NIE"),
                (CONTACT, "Cómo responderle"),
            ]
            buttons = [
                {"title": title, "payload": f'/{intent}{{"{ENTITY_OPTION}": "corregir_{slot}"}}'}
                for slot, title in fields
                if slot != DATE or self.ask_date
            ]
            dispatcher.utter_message(text=WHAT_TO_FIX, buttons=buttons)
            return {CONFIRM: None}
        if option.startswith("corregir_") and option.removeprefix("corregir_") in FORM_SLOTS:
            slot = option.removeprefix("corregir_")
            cleared: dict[str, Any] = {slot: None, CONFIRM: None}
            if slot == CONTACT:
                cleared[CONTACT_DATA] = None
            return cleared
        return {}

    def validate_qs_confirmacion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONFIRM: "si" if value == "si" else None}


class ValidateFormularioQueja(ValidateCaseForm):
    kind, ask_date = "queja", True

    def name(self) -> str:
        return "validate_formulario_queja"


class ValidateFormularioSugerencia(ValidateCaseForm):
    kind, ask_date = "sugerencia", False

    def name(self) -> str:
        return "validate_formulario_sugerencia"


def _no_dni_button() -> dict[str, str]:
    return {"title": "Prefiero no darlo", "payload": "/negar"}


def _contact_buttons(tracker: Tracker) -> list[dict[str, str]]:
    intent = _form_intent(tracker)
    return [
        {"title": title, "payload": f'/{intent}{{"{ENTITY_OPTION}": "{option}"}}'}
        for option, title in (
            ("canal", "Por aquí mismo"),
            ("email", "Por correo electrónico"),
            ("telefono", "Por teléfono"),
        )
    ]


# -- the forms' questions --------------------------------------------------------------------


class CaseQuestion(Action, ABC):
    """Ask a question unless a validation message of this turn already asked again."""

    openings: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not explained_this_turn(tracker, self.openings):
            text, buttons = await self.question(tracker)
            dispatcher.utter_message(text=text, buttons=buttons)
        return []


def _is_complaint(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") != "formulario_sugerencia"


class ActionAskQsDescripcion(CaseQuestion):
    openings = (SHORT,)

    def name(self) -> str:
        return "action_ask_qs_descripcion"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        if _is_complaint(tracker):
            return (
                "Lamento lo ocurrido. Le ayudo a presentar su queja. Cuénteme, por favor, qué "
                "pasó, con el detalle que considere necesario.",
                [],
            )
        return (
            "¡Gracias por querer mejorar nuestros servicios! Cuénteme su sugerencia, por favor.",
            [],
        )


class ActionAskQsUnidad(CaseQuestion):
    openings = (UNIT_NOT_FOUND, UNIT_CHOOSE)

    def name(self) -> str:
        return "action_ask_qs_unidad"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "¿A qué servicio o unidad de la Junta se refiere? Puede decirme su nombre, su sigla "
            "(por ejemplo, SEPAD o SEXPE) o el tema (por ejemplo, «becas»).",
            [],
        )


class ActionAskQsFecha(CaseQuestion):
    openings = (DATE_NOT_UNDERSTOOD, DATE_IN_FUTURE)

    def name(self) -> str:
        return "action_ask_qs_fecha"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "¿Qué día ocurrió? Puede decirme, por ejemplo, «ayer», «el lunes» o «12/11/2026».",
            [],
        )


class ActionAskQsDni(CaseQuestion):
    openings = (DNI_WRONG_LETTER, NIE_WRONG_LETTER, DNI_NOT_UNDERSTOOD)

    def name(self) -> str:
        return "action_ask_qs_dni"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "Si quiere, indíqueme su DNI o NIE: con él podrá consultar después cómo va. "
            "No es obligatorio.",
            [_no_dni_button()],
        )


class ActionAskQsContacto(CaseQuestion):
    openings = (CONTACT_NOT_UNDERSTOOD,)

    def name(self) -> str:
        return "action_ask_qs_contacto"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return "¿Cómo prefiere que le respondamos?", _contact_buttons(tracker)


class ActionAskQsContactoDato(CaseQuestion):
    openings = (EMAIL_NOT_UNDERSTOOD, PHONE_NOT_UNDERSTOOD)

    def name(self) -> str:
        return "action_ask_qs_contacto_dato"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        if tracker.get_slot(CONTACT) == "email":
            return "¿A qué correo electrónico le escribimos?", []
        return "¿A qué teléfono le llamamos?", []


class ActionAskQsConfirmacion(CaseQuestion):
    openings = (WHAT_TO_FIX,)

    def name(self) -> str:
        return "action_ask_qs_confirmacion"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        code = str(tracker.get_slot(UNIT) or "")
        try:
            unit = await consult(lambda kb: kb.directory.get(code))
            unit_name = unit.name if unit else code
        except KnowledgeUnavailable:
            unit_name = code
        complaint = _is_complaint(tracker)
        description = str(tracker.get_slot(DESCRIPTION) or "")
        if len(description) > 300:
            description = description[:297] + "…"
        lines = [
            f"Voy a registrar esta {'queja' if complaint else 'sugerencia'}:",
            f"• {'Qué ocurrió' if complaint else 'Sugerencia'}: «{description}»",
            f"• Unidad: {unit_name}",
        ]
        if complaint:
            lines.append(f"• Fecha: {_date_text(tracker.get_slot(DATE))}")
        dni = tracker.get_slot(DNI)
        lines.append(
            f"• DNI/NIE: {'el que me ha indicado' if dni and dni != NO else 'no indicado'}"
        )
        lines.append(f"• Respuesta: {_contact_text(tracker.get_slot(CONTACT))}")
        lines.append("¿Es correcto?")
        intent = _form_intent(tracker)
        buttons = [
            {"title": "Confirmar", "payload": f'/{intent}{{"{ENTITY_OPTION}": "confirmar"}}'},
            {"title": "Corregir", "payload": f'/{intent}{{"{ENTITY_OPTION}": "corregir"}}'},
            {"title": "Cancelar", "payload": "/negar"},
        ]
        return "\n".join(lines), buttons


def _date_text(value: Any) -> str:
    if not value or value == UNKNOWN_DATE:
        return "no indicada"
    try:
        return spanish_date(date.fromisoformat(str(value)))
    except ValueError:
        return "no indicada"


def _contact_text(value: Any) -> str:
    return {
        "email": "por correo electrónico, al que me ha indicado",
        "telefono": "por teléfono, al que me ha indicado",
    }.get(str(value), "por este mismo canal")


# -- registering -----------------------------------------------------------------------------


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS, KIND)]


class ActionRegistrarCaso(Action):
    """After the citizen confirmed the summary: the platform registers the case."""

    def name(self) -> str:
        return "action_registrar_caso"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        kind = str(tracker.get_slot(KIND) or "queja")
        fecha = tracker.get_slot(DATE)
        dni = tracker.get_slot(DNI)
        payload = {
            "tipo": kind,
            "descripcion": tracker.get_slot(DESCRIPTION),
            "unidad": tracker.get_slot(UNIT),
            "fecha": fecha if fecha and fecha != UNKNOWN_DATE else None,
            "dni": dni if dni and dni != NO else None,
            "contacto": tracker.get_slot(CONTACT) or "canal",
            "contacto_ref": tracker.get_slot(CONTACT_DATA),
        }
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", "/api/selfservice/casos", payload
        )
        if answer is None:  # the slots stay: a person taking over sees what was collected
            return []
        if not answer.ok:
            dispatcher.utter_message(
                text=f"No he podido registrarla: {answer.detail}", buttons=[HUMAN_BUTTON]
            )
            return _reset()
        body = answer.body
        what = "queja" if body.get("tipo") == "queja" else "sugerencia"
        dispatcher.utter_message(
            text=(
                f"Hemos registrado su {what} con el código {body['codigo']}. La atenderá "
                f"{body['unidad']}, que tiene de plazo para responderle hasta el "
                f"{body['plazo_texto']}. Guarde el código: con él puede preguntarme cómo va."
            )
        )
        return _reset()
