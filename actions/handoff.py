"""Actions that ask the gateway to hand the conversation to a person.

The action does not change who controls the conversation: it sends the handoff contract
payload (see ``handoff.contract``) and pauses Rasa's tracker as a safety net; the gateway,
which owns the conversation, queues it for N1 and tells the citizen.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.tramites import answer_from_knowledge
from handoff.contract import HandoffReason, HandoffRequest

FALLBACK_INTENT = "nlu_fallback"
# Rasa's own bookkeeping slots: not the citizen's data, and not for the desk.
INTERNAL_SLOTS = {"session_started_metadata", "requested_slot"}


def _user_events(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.events if e.get("event") == "user"]


def _intent_of(event: dict[str, Any]) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def _request(tracker: Tracker, reason: HandoffReason) -> HandoffRequest:
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    confidence = (latest.get("intent") or {}).get("confidence")
    if intent == FALLBACK_INTENT:  # report the bot's best guess instead of the fallback label
        ranking = [r for r in latest.get("intent_ranking") or [] if r.get("name") != intent]
        if ranking:
            intent, confidence = ranking[0].get("name"), ranking[0].get("confidence")
    slots = {
        k: v
        for k, v in tracker.current_slot_values().items()
        if v is not None and k not in INTERNAL_SLOTS
    }
    seen = [i for i in (_intent_of(e) for e in _user_events(tracker)) if i]
    return HandoffRequest(
        reason=reason,
        intent=intent,
        confidence=None if confidence is None else float(confidence),
        slots=slots,
        intents_seen=seen,
    )


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: HandoffReason
) -> list[EventType]:
    dispatcher.utter_message(json_message=_request(tracker, reason).as_custom_payload())
    events: list[EventType] = []
    if tracker.active_loop.get("name"):  # a form half-filled when the person takes over ends
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    return [*events, ConversationPaused()]


class ActionTransferirAgente(Action):
    """The citizen asked for a person (intent ``hablar_con_agente``)."""

    def name(self) -> str:
        return "action_transferir_agente"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return hand_off(dispatcher, tracker, HandoffReason.CITIZEN_REQUEST)


class ActionGestionarFallback(Action):
    """Not understood: answer from the knowledge base if it has a procedure worth showing;
    otherwise ask to rephrase once, and on the second consecutive miss, hand off."""

    def name(self) -> str:
        return "action_gestionar_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        recent = _user_events(tracker)[-2:]
        second_miss = len(recent) == 2 and all(_intent_of(e) == FALLBACK_INTENT for e in recent)
        # A sure procedure always answers; mere candidates only on the first miss.
        answered = await answer_from_knowledge(dispatcher, tracker, not second_miss)
        if answered is not None:
            return answered
        if second_miss:
            return hand_off(dispatcher, tracker, HandoffReason.LOW_CONFIDENCE)
        dispatcher.utter_message(response="utter_ask_rephrase")
        return []
