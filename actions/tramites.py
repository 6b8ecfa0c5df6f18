"""`informacion_tramite`: answer from the procedure inventory.

- A clear question gets the best procedure's card; close runners-up are offered as buttons.
- A question the knowledge base is not sure about gets candidate buttons (if any are plausible)
  and the offer of a person: the cut-off is the calibrated confidence threshold.
- A follow-up ("¿y qué papeles necesito?") is answered from the procedure already in the
  conversation (slot ``tramite_actual``) unless it clearly names another procedure.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms_common import latest_text
from actions.knowledge_access import HUMAN_BUTTON, KnowledgeUnavailable, apologise, consult
from handoff.contract import knowledge_signal
from knowledge.answers import aspects, button_title, procedure_aspects, procedure_card
from knowledge.base import KnowledgeBase, ProcedureResult
from knowledge.feeds import Procedure
from knowledge.text import tokens

logger = logging.getLogger(__name__)

SLOT = "tramite_actual"
ENTITY = "tramite_id"
# Words that ask for information without saying about what.
GENERIC = frozenset(
    tokens(
        "información informacion info tramite trámite trámites procedimiento procedimientos "
        "consulta consultar duda dudas pregunta preguntar ayuda sobre uno gestión gestion "
        "papeleo hacer"
    )
)
ASK_TOPIC = (
    "Claro. ¿Sobre qué trámite necesita información? Cuénteme lo que quiere hacer, por "
    "ejemplo: «pedir la beca de comedor» o «renovar el título de familia numerosa»."
)
NOT_FOUND = (
    "No he encontrado un trámite que responda con seguridad a su consulta. ¿Puede contármelo "
    "con otras palabras? Si lo prefiere, le paso con una persona."
)
UNSURE = "No estoy seguro de haber entendido qué trámite busca. ¿Es alguno de estos?"


def _button(procedure: Procedure) -> dict[str, str]:
    return {
        "title": button_title(procedure.title),
        "payload": f'/informacion_tramite{{"{ENTITY}": "{procedure.id}"}}',
    }


class ActionInformarTramite(Action):
    def name(self) -> str:
        return "action_informar_tramite"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = next(tracker.get_latest_entity_values(ENTITY), None)
        question = latest_text(tracker)
        context = tracker.get_slot(SLOT)
        try:
            if chosen:
                return await self._card(dispatcher, str(chosen))
            if not [t for t in tokens(question) if t not in GENERIC]:
                dispatcher.utter_message(text=ASK_TOPIC)
                return []
            result = await consult(lambda kb: kb.ask(question))
            asked = aspects(question)
            if context and asked and _is_follow_up(result, str(context)):
                return await self._aspects(dispatcher, str(context), question)
            return await self._answer(dispatcher, result)
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return []

    async def _card(self, dispatcher: CollectingDispatcher, identifier: str) -> list[EventType]:
        def build(kb: KnowledgeBase) -> str | None:
            procedure = kb.procedure(identifier)
            if procedure is None:
                return None
            return procedure_card(procedure, _unit(kb, procedure))

        card = await consult(build)
        if card is None:
            dispatcher.utter_message(text="Ese trámite ya no está en el catálogo. " + NOT_FOUND)
            return []
        dispatcher.utter_message(text=card)
        return [SlotSet(SLOT, identifier)]

    async def _aspects(
        self, dispatcher: CollectingDispatcher, identifier: str, question: str
    ) -> list[EventType]:
        def build(kb: KnowledgeBase) -> str | None:
            procedure = kb.procedure(identifier)
            if procedure is None:
                return None
            return procedure_aspects(procedure, aspects(question), _unit(kb, procedure))

        text = await consult(build)
        if text is None:  # the inventory changed under the conversation
            dispatcher.utter_message(text=NOT_FOUND, buttons=[HUMAN_BUTTON])
            return [SlotSet(SLOT, None)]
        dispatcher.utter_message(text=text)
        return []

    async def _answer(
        self, dispatcher: CollectingDispatcher, result: ProcedureResult
    ) -> list[EventType]:
        logger.info(
            "procedure search: %d hits, probability %.3f, answer %s",
            len(result.hits), result.probability, result.answer,
        )  # fmt: skip
        if not result.answer:
            candidates = [h.procedure for h in result.hits[:3]]
            if candidates and result.plausible:
                buttons = [_button(p) for p in candidates] + [HUMAN_BUTTON]
                dispatcher.utter_message(text=UNSURE, buttons=buttons)
                dispatcher.utter_message(json_message=knowledge_signal("choices"))
            else:
                dispatcher.utter_message(text=NOT_FOUND, buttons=[HUMAN_BUTTON])
                dispatcher.utter_message(json_message=knowledge_signal("not_found"))
            return []
        best = result.hits[0].procedure
        events = await self._card(dispatcher, best.id)
        if events:  # the card was shown (the catalogue may have changed under the search)
            dispatcher.utter_message(json_message=knowledge_signal("card", best.id))
        if result.alternatives:
            dispatcher.utter_message(
                text="Si buscaba otro trámite, quizá sea uno de estos:",
                buttons=[_button(h.procedure) for h in result.alternatives],
            )
        return events


async def answer_from_knowledge(
    dispatcher: CollectingDispatcher, tracker: Tracker, offer_candidates: bool = True
) -> list[EventType] | None:
    """For a message the NLU did not understand: the procedure card if the knowledge base is
    sure about it, or its plausible candidates as choices (events to return); None when it has
    nothing worth showing (the caller asks to rephrase or hands off)."""
    question = latest_text(tracker)
    if not [t for t in tokens(question) if t not in GENERIC]:
        return None
    try:
        result = await consult(lambda kb: kb.ask(question))
    except KnowledgeUnavailable:
        return None
    if not (result.answer or (offer_candidates and result.plausible)):
        return None
    return await ActionInformarTramite()._answer(dispatcher, result)


def _is_follow_up(result: ProcedureResult, context: str) -> bool:
    """A question about a part of a procedure that does not clearly name another one."""
    return not result.answer or not result.hits or result.hits[0].procedure.id == context


def _unit(kb: KnowledgeBase, procedure: Procedure) -> Any:
    if not procedure.unit:
        return None
    try:
        return kb.directory.get(procedure.unit)
    except KnowledgeUnavailable:
        return None
