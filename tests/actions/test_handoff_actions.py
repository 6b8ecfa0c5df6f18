"""Actions run with a Tracker built from events, as rasa-sdk hands it to them."""

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionGestionarFallback, ActionTransferirAgente


def user(text: str, intent: str, confidence: float = 0.9) -> dict[str, Any]:
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": "estado_solicitud", "confidence": 0.3},
    ]
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": ranking,
        },
    }


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None) -> Tracker:
    last = events[-1]["parse_data"]
    return Tracker(
        sender_id="c1",
        slots=slots or {},
        latest_message={"text": events[-1]["text"], **last},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_transfer_sends_the_handoff_contract_and_pauses() -> None:
    dispatcher = CollectingDispatcher()
    events = [user("hola", "saludo"), user("una persona", "hablar_con_agente", 0.97)]
    slots = {"session_started_metadata": {"channel": "webchat"}, "tramite": "becas", "vacio": None}
    result = await ActionTransferirAgente().run(dispatcher, tracker(events, slots), {})
    assert result == [{"event": "pause", "timestamp": None}]
    [message] = dispatcher.messages
    handoff = message["custom"]["handoff"]
    assert handoff["reason"] == "citizen_request"
    assert handoff["intent"] == "hablar_con_agente" and handoff["confidence"] == 0.97
    assert handoff["slots"] == {"tramite": "becas"}
    assert handoff["intents_seen"] == ["saludo", "hablar_con_agente"]


async def test_first_fallback_asks_to_rephrase() -> None:
    dispatcher = CollectingDispatcher()
    events = [user("hola", "saludo"), user("blorf", "nlu_fallback", 0.55)]
    assert await ActionGestionarFallback().run(dispatcher, tracker(events), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"


async def test_second_consecutive_fallback_hands_off_with_best_guess() -> None:
    dispatcher = CollectingDispatcher()
    events = [user("blorf", "nlu_fallback", 0.55), user("lo mio", "nlu_fallback", 0.55)]
    result = await ActionGestionarFallback().run(dispatcher, tracker(events), {})
    assert result == [{"event": "pause", "timestamp": None}]
    handoff = dispatcher.messages[0]["custom"]["handoff"]
    assert handoff["reason"] == "low_confidence"
    assert handoff["intent"] == "estado_solicitud" and handoff["confidence"] == 0.3


async def test_fallback_streak_is_broken_by_an_understood_message() -> None:
    dispatcher = CollectingDispatcher()
    events = [user("blorf", "nlu_fallback"), user("hola", "saludo"), user("zzz", "nlu_fallback")]
    assert await ActionGestionarFallback().run(dispatcher, tracker(events), {}) == []
