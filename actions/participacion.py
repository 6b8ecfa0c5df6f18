"""Citizen participation (`participacion`): the open processes and a proposal to one of them.

``formulario_propuesta`` asks which process (its question lists the open ones as options, which
every channel can show: buttons, a numbered list, read aloud), a title, the proposal and a
confirmation; ``action_enviar_propuesta`` sends it to the platform
(``POST /api/selfservice/participacion/propuestas``). When no process is open, or the platform
does not answer, the form ends at once (``propuesta_proceso`` = ``ninguno`` / ``no_disponible``)
and ``action_enviar_propuesta`` says so. Personal data in the text reaches the tracker as vault
references (``[DNI_1]``); the platform keeps the citizen's words for the unit and masks what it
publishes.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.forms_common import asking, explained_this_turn, latest_intent
from actions.knowledge_access import HUMAN_BUTTON
from connectors import options
from knowledge.answers import button_title

logger = logging.getLogger(__name__)

FORM = "formulario_propuesta"
PROCESS, TITLE, TEXT, CONFIRM = (
    "propuesta_proceso",
    "propuesta_titulo",
    "propuesta_texto",
    "propuesta_confirmacion",
)
FORM_SLOTS = (PROCESS, TITLE, TEXT, CONFIRM)
NONE_OPEN, DOWN = "ninguno", "no_disponible"
ENTITY_OPTION = "opcion"
PROCESSES_PATH = "/api/selfservice/participacion/procesos"
PROPOSALS_PATH = "/api/selfservice/participacion/propuestas"
MIN_TITLE, MAX_TITLE = 5, 160  # the platform's limits
MIN_TEXT, MAX_TEXT = 20, 4000
# The messages that have rules of their own while the form asks (the rest is an answer: a
# proposal often reads like a suggestion or a complaint).
NOT_AN_ANSWER = frozenset(
    {"despedida", "negar", "hablar_con_agente", "horario_atencion", "bot_challenge"}
)

NO_OPEN_PROCESS = (
    "Ahora mismo no hay ningún proceso de participación abierto. Cuando la Junta de Extremadura "
    "abra uno, podrá consultarlo y enviar su propuesta por aquí o en la página de participación "
    "ciudadana. ¿Puedo ayudarle en algo más?"
)
CHOOSE = "¿A qué proceso quiere enviar su propuesta? Elija uno de la lista, por favor."
NO_LONGER_OPEN = "Ese proceso ya no está abierto a propuestas. Elija otro de la lista, por favor."
TITLE_SHORT = f"El título es demasiado corto: escriba al menos {MIN_TITLE} caracteres."
TITLE_LONG = f"El título es demasiado largo: resúmalo en menos de {MAX_TITLE} caracteres."
TEXT_SHORT = (
    f"Explique un poco más su propuesta (al menos {MIN_TEXT} caracteres): qué propone y por qué."
)
TEXT_LONG = f"La propuesta es demasiado larga: resúmala en menos de {MAX_TEXT} caracteres."
WHAT_TO_FIX = "¿Qué quiere corregir?"


def _option(tracker: Tracker) -> str:
    value = next(tracker.get_latest_entity_values(ENTITY_OPTION), None)
    return str(value) if value else ""


def _text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def _payload(process: dict[str, Any]) -> str:
    return f'/participacion{{"{ENTITY_OPTION}": "proceso_{process["id"]}"}}'


def process_buttons(processes: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        *({"title": button_title(p["titulo"]), "payload": _payload(p)} for p in processes),
        {"title": "Solo quería consultarlos", "payload": "/negar"},
    ]


async def open_processes(tracker: Tracker) -> list[dict[str, Any]] | None:
    """The open processes, or None when the platform cannot tell (the caller explains)."""
    try:
        answer = await platform.call(tracker, "GET", PROCESSES_PATH)
    except platform.PlatformUnavailable as exc:
        logger.warning("platform.unavailable", extra={"path": PROCESSES_PATH, "error": str(exc)})
        return None
    if not answer.ok:
        return None
    return [p for p in answer.body.get("items", []) if isinstance(p, dict)]


# -- the form ------------------------------------------------------------------------------------


class ValidateFormularioPropuesta(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_propuesta"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(PROCESS) in (NONE_OPEN, DOWN):
            # Nothing to propose to: with its only slot filled the form ends at once, and
            # action_enviar_propuesta explains (the slot must stay required to be kept).
            return [PROCESS]
        return list(FORM_SLOTS)

    # which process ---------------------------------------------------------------------------

    async def extract_propuesta_proceso(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        option = _option(tracker)
        if option.startswith("proceso_"):
            return {PROCESS: option.removeprefix("proceso_")}
        if tracker.get_slot(PROCESS):
            return {}
        if not asking(tracker, PROCESS):  # the form opens: is there anything to propose to?
            processes = await open_processes(tracker)
            if processes is None:
                return {PROCESS: DOWN}
            return {} if processes else {PROCESS: NONE_OPEN}
        text = _text(tracker)
        if latest_intent(tracker) in NOT_AN_ANSWER or not text or text.startswith("/"):
            return {}
        processes = await open_processes(tracker)
        if processes is None:
            return {PROCESS: DOWN}
        if len(processes) == 1 and latest_intent(tracker) == "afirmar":  # «¿Quiere...?» «Sí»
            return {PROCESS: str(processes[0]["id"])}
        chosen = options.choose(text, process_buttons(processes))
        for process in processes:
            if chosen == _payload(process):
                return {PROCESS: str(process["id"])}
        dispatcher.utter_message(text=CHOOSE, buttons=process_buttons(processes))
        return {PROCESS: None}

    async def validate_propuesta_proceso(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value in (NONE_OPEN, DOWN):
            return {PROCESS: value}
        if not isinstance(value, str) or not value.isdigit():
            return {PROCESS: None}
        processes = await open_processes(tracker)
        if processes is None:
            return {PROCESS: DOWN}
        if any(str(p["id"]) == value for p in processes):
            return {PROCESS: value}
        dispatcher.utter_message(text=NO_LONGER_OPEN, buttons=process_buttons(processes))
        return {PROCESS: None}

    # the title and the proposal --------------------------------------------------------------

    async def extract_propuesta_titulo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _free_text(dispatcher, tracker, TITLE, MIN_TITLE, MAX_TITLE, TITLE_SHORT, TITLE_LONG)

    def validate_propuesta_titulo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {TITLE: value if isinstance(value, str) and value else None}

    async def extract_propuesta_texto(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _free_text(dispatcher, tracker, TEXT, MIN_TEXT, MAX_TEXT, TEXT_SHORT, TEXT_LONG)

    def validate_propuesta_texto(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {TEXT: value if isinstance(value, str) and value else None}

    # the summary -----------------------------------------------------------------------------

    async def extract_propuesta_confirmacion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, CONFIRM):
            return {}
        option = _option(tracker)
        if option == "confirmar" or latest_intent(tracker) == "afirmar":
            return {CONFIRM: "si"}
        if option == "corregir":
            buttons = [
                {
                    "title": title,
                    "payload": f'/participacion{{"{ENTITY_OPTION}": "corregir_{slot}"}}',
                }
                for slot, title in (
                    (PROCESS, "El proceso"),
                    (TITLE, "El título"),
                    (TEXT, "La propuesta"),
                )
            ]
            dispatcher.utter_message(text=WHAT_TO_FIX, buttons=buttons)
            return {CONFIRM: None}
        slot = option.removeprefix("corregir_")
        if option.startswith("corregir_") and slot in (PROCESS, TITLE, TEXT):
            return {slot: None, CONFIRM: None}
        return {}

    def validate_propuesta_confirmacion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONFIRM: "si" if value == "si" else None}


def _free_text(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    slot: str,
    minimum: int,
    maximum: int,
    too_short: str,
    too_long: str,
) -> dict[str, Any]:
    if not asking(tracker, slot) or latest_intent(tracker) in NOT_AN_ANSWER:
        return {}
    text = _text(tracker)
    if text.startswith("/"):  # a button of another question
        return {}
    if len(text) < minimum:
        dispatcher.utter_message(text=too_short)
        return {slot: None}
    if len(text) > maximum:
        dispatcher.utter_message(text=too_long)
        return {slot: None}
    return {slot: text}


# -- the form's questions ------------------------------------------------------------------------


class ProposalQuestion(Action, ABC):
    """Ask unless a validation message of this turn already asked again."""

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


class ActionAskPropuestaProceso(ProposalQuestion):
    openings = (CHOOSE, NO_LONGER_OPEN)

    def name(self) -> str:
        return "action_ask_propuesta_proceso"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        processes = await open_processes(tracker)
        if processes is None:
            return platform.UNAVAILABLE, [HUMAN_BUTTON]
        if not processes:
            return NO_OPEN_PROCESS, []
        lines = [
            "Estos son los procesos de participación abiertos:"
            if len(processes) > 1
            else "Este es el proceso de participación abierto:"
        ]
        lines += [f"• {p['titulo']} ({p['unidad']}), hasta el {p['fin_texto']}." for p in processes]
        lines.append(
            "¿A cuál quiere enviar una propuesta?"
            if len(processes) > 1
            else "¿Quiere enviarle una propuesta?"
        )
        return "\n".join(lines), process_buttons(processes)


class ActionAskPropuestaTitulo(ProposalQuestion):
    openings = (TITLE_SHORT, TITLE_LONG)

    def name(self) -> str:
        return "action_ask_propuesta_titulo"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "Escriba un título breve para su propuesta (por ejemplo, «Más autobuses entre "
            "Mérida y los pueblos»).",
            [],
        )


class ActionAskPropuestaTexto(ProposalQuestion):
    openings = (TEXT_SHORT, TEXT_LONG)

    def name(self) -> str:
        return "action_ask_propuesta_texto"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        return (
            "Ahora explique su propuesta: qué propone y por qué. Si la unidad la publica, la "
            "verá cualquier persona, así que no incluya datos personales.",
            [],
        )


class ActionAskPropuestaConfirmacion(ProposalQuestion):
    openings = (WHAT_TO_FIX,)

    def name(self) -> str:
        return "action_ask_propuesta_confirmacion"

    async def question(self, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
        chosen = str(tracker.get_slot(PROCESS) or "")
        processes = await open_processes(tracker) or []
        process = next((p["titulo"] for p in processes if str(p["id"]) == chosen), None)
        text = str(tracker.get_slot(TEXT) or "")
        if len(text) > 300:
            text = text[:297] + "…"
        lines = [
            "Voy a enviar esta propuesta:",
            f"• Proceso: {process or 'el que ha elegido'}",
            f"• Título: «{tracker.get_slot(TITLE)}»",
            f"• Propuesta: «{text}»",
            "La unidad la revisará antes de publicarla. ¿La envío?",
        ]
        buttons = [
            {"title": "Enviar", "payload": f'/participacion{{"{ENTITY_OPTION}": "confirmar"}}'},
            {"title": "Corregir", "payload": f'/participacion{{"{ENTITY_OPTION}": "corregir"}}'},
            {"title": "Cancelar", "payload": "/negar"},
        ]
        return "\n".join(lines), buttons


# -- sending -------------------------------------------------------------------------------------


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ActionEnviarPropuesta(Action):
    """After the form: send the confirmed proposal, or say why there is nothing to send to."""

    def name(self) -> str:
        return "action_enviar_propuesta"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = tracker.get_slot(PROCESS)
        if chosen == DOWN:
            dispatcher.utter_message(text=platform.UNAVAILABLE, buttons=[HUMAN_BUTTON])
            return _reset()
        if chosen == NONE_OPEN:
            dispatcher.utter_message(text=NO_OPEN_PROCESS)
            return _reset()
        if tracker.get_slot(CONFIRM) != "si" or not str(chosen or "").isdigit():
            return _reset()
        payload = {
            "proceso": int(str(chosen)),
            "titulo": tracker.get_slot(TITLE),
            "texto": tracker.get_slot(TEXT),
        }
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", PROPOSALS_PATH, payload
        )
        if answer is None:  # the slots stay: a person taking over sees what was collected
            return []
        if not answer.ok:
            dispatcher.utter_message(
                text=f"No he podido enviar su propuesta: {answer.detail}", buttons=[HUMAN_BUTTON]
            )
            return _reset()
        body = answer.body
        dispatcher.utter_message(
            text=(
                f"Hemos recibido su propuesta «{body['titulo']}» para el proceso "
                f"«{body['proceso_titulo']}». La unidad responsable la revisará antes de "
                "publicarla y le avisaremos por aquí cuando la responda. ¿Puedo ayudarle en algo "
                "más?"
            )
        )
        return _reset()
