"""`consultar_directorio`: phone, email and address of a unit, by abbreviation, name or topic.

``formulario_directorio`` collects slot ``unidades`` (DIR3 codes, best first): from a button
(entity ``unidad``), from the question itself ("teléfono del SEPAD") or from the answer to
"¿De qué unidad…?". ``action_consultar_directorio`` then shows the best unit and offers the others.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms_common import AskUnlessExplained, asking, is_interruption, latest_text
from actions.knowledge_access import HUMAN_BUTTON, KnowledgeUnavailable, apologise, consult
from knowledge.answers import button_title, unit_card
from knowledge.base import KnowledgeBase

SLOT = "unidades"
ENTITY = "unidad"
HOW = (
    "su sigla (por ejemplo, SEPAD o SEXPE) o el tema (por ejemplo, «becas» o «licencias de caza»)."
)
ASK = (
    "¿De qué consejería, dirección general o servicio necesita los datos de contacto? Puede "
    f"decirme su nombre, {HOW}"
)
NOT_FOUND = (
    "No encuentro ninguna unidad con ese nombre. Dígame el nombre de la consejería, dirección "
    f"general o servicio, {HOW}"
)


def find_units(kb: KnowledgeBase, question: str) -> list[str]:
    """DIR3 codes for a question: by code, abbreviation or name; else owners of its procedures."""
    matches = kb.directory.lookup(question)
    if not matches and kb.directory.meaningful(question):
        result = kb.ask(question)
        if result.answer or result.plausible:
            owners = [h.procedure.unit for h in result.hits if h.procedure.unit]
            matches = kb.directory.lookup(question, owners)
    return [m.unit.code for m in matches]


class ValidateFormularioDirectorio(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_directorio"

    async def extract_unidades(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        chosen = next(tracker.get_latest_entity_values(ENTITY), None)
        if chosen:
            return {SLOT: [str(chosen)]}
        if is_interruption(tracker):
            return {}
        question = latest_text(tracker)
        if not question.strip():
            return {}
        try:
            codes = await consult(lambda kb: find_units(kb, question))
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return {}
        if codes:
            return {SLOT: codes}
        if asking(tracker, SLOT):
            dispatcher.utter_message(text=NOT_FOUND)
            return {SLOT: None}
        return {}

    def validate_unidades(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {SLOT: value if isinstance(value, list) and value else None}


class ActionAskUnidades(AskUnlessExplained):
    question, openings = ASK, (NOT_FOUND,)

    def name(self) -> str:
        return "action_ask_unidades"


class ActionConsultarDirectorio(Action):
    def name(self) -> str:
        return "action_consultar_directorio"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        codes = [str(c) for c in tracker.get_slot(SLOT) or []]

        def build(kb: KnowledgeBase) -> tuple[str | None, list[dict[str, str]]]:
            units = [u for u in (kb.directory.get(c) for c in codes) if u is not None]
            if not units:
                return None, []
            card = unit_card(units[0], kb.directory.parents(units[0]))
            others = [
                {
                    "title": button_title(u.name),
                    "payload": f'/consultar_directorio{{"{ENTITY}": "{u.code}"}}',
                }
                for u in units[1:3]
            ]
            return card, others

        try:
            card, others = await consult(build)
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return [SlotSet(SLOT, None)]
        if card is None:
            dispatcher.utter_message(text=NOT_FOUND, buttons=[HUMAN_BUTTON])
        else:
            dispatcher.utter_message(text=card)
            if others:
                dispatcher.utter_message(text="Otras unidades relacionadas:", buttons=others)
        return [SlotSet(SLOT, None)]
