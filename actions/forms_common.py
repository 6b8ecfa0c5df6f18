"""What the knowledge forms share: which messages are answers to the form's question.

While a form asks for something (a unit, a place), a message with another purpose ("¿cuál es el
horario?", "quiero hablar con una persona", "déjalo") is not an answer: extraction leaves it
alone, the form rejects the turn and the interruption/cancellation rules take over.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

# Intents that never answer a form's question.
INTERRUPTIONS = frozenset(
    {
        "saludo",
        "despedida",
        "agradecimiento",
        "negar",
        "hablar_con_agente",
        "horario_atencion",
        "bot_challenge",
        "pagar_tasa_itv",
        "registro_miespacio",
        "presentar_queja",
        "presentar_sugerencia",
        "estado_expediente",
        "estado_solicitud",
        "participacion",
    }
)


def latest_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def is_interruption(tracker: Tracker) -> bool:
    return latest_intent(tracker) in INTERRUPTIONS


def asking(tracker: Tracker, slot: str) -> bool:
    """The form already asked for ``slot`` (so a failed answer deserves an explanation)."""
    return tracker.get_slot("requested_slot") == slot


def latest_text(tracker: Tracker) -> str:
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.startswith("/") else text  # a button payload carries no question


def explained_this_turn(tracker: Tracker, openings: tuple[str, ...]) -> bool:
    """A validation message (one starting with one of ``openings``) was already said since the
    citizen's last message, so asking the form's question again would repeat it. Other bot
    messages this turn (an interruption's answer) do not count: the form asks again after them.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and str(event.get("text") or "").startswith(openings):
            return True
    return False


class AskUnlessExplained(Action, ABC):
    """A form's ``action_ask_<slot>``: asks ``question``, unless one of the form's validation
    messages (starting with one of ``openings``) already asked again this turn."""

    question: ClassVar[str]
    openings: ClassVar[tuple[str, ...]]
    buttons: ClassVar[list[dict[str, str]]] = []

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not explained_this_turn(tracker, self.openings):
            dispatcher.utter_message(text=self.question, buttons=list(self.buttons))
        return []


class ActionCancelarFormulario(Action):
    """ "No", "déjalo" or a goodbye during a form: the form ends and its answers are forgotten,
    so asking again starts afresh (the rules say what to answer next)."""

    def name(self) -> str:
        return "action_cancelar_formulario"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        form = tracker.active_loop.get("name")
        required = ((domain.get("forms") or {}).get(form) or {}).get("required_slots") or []
        return [
            ActiveLoop(None),
            *(SlotSet(slot, None) for slot in required),
            SlotSet("requested_slot", None),
        ]
