"""What the assistant understood of each citizen message is kept, masked, for the content teams:
through the real gateway, Rasa and the action server, and the parsing rules on their own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connectors.nlu_capture import kb_signal, understanding_of
from connectors.rasa_client import BotReply
from desk_api.db import make_engine, make_sessionmaker
from desk_api.nlu_models import NluTurn
from desk_api.settings import Settings
from handoff.contract import knowledge_signal
from tests.support.clients import Citizen

PARSE: dict[str, Any] = {
    "text": "quiero pagar la itv",
    "intent": {"name": "pagar_tasa_itv", "confidence": 0.912345},
    "intent_ranking": [{"name": f"intent_{i}", "confidence": 0.1 / (i + 1)} for i in range(8)],
    "entities": [
        {"entity": "municipio", "value": "Mérida", "start": 0, "end": 6, "extractor": "x"}
    ],
    "metadata": {"message_id": 41, "channel": "webchat"},
}


def test_the_parse_of_another_message_is_not_taken() -> None:
    assert understanding_of(PARSE, 42) is None  # a later message overtook this one
    assert understanding_of(None, 41) is None
    assert understanding_of({**PARSE, "metadata": None}, 41) is None


def test_the_parse_keeps_intent_top_five_and_entity_spans() -> None:
    understood = understanding_of(PARSE, 41)
    assert understood is not None
    assert (understood.intent, understood.confidence) == ("pagar_tasa_itv", 0.9123)
    assert [r["intent"] for r in understood.ranking] == [f"intent_{i}" for i in range(5)]
    assert understood.entities == [{"entity": "municipio", "value": "Mérida", "start": 0, "end": 6}]


def test_the_knowledge_signal_is_read_from_the_custom_payloads() -> None:
    replies = [
        BotReply(text="No he encontrado…"),
        BotReply(custom={"otra_cosa": 1}),
        BotReply(custom=knowledge_signal("card", "P-123")),
    ]
    assert kb_signal(replies) == ("card", "P-123")
    assert kb_signal([BotReply(custom={"tuatencion_conocimiento": {"resultado": "x"}})]) == (
        None,
        None,
    )
    with pytest.raises(ValueError):
        knowledge_signal("maybe")


async def _turns(settings: Settings, conversation_id: str) -> list[NluTurn]:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list(
                await session.scalars(
                    select(NluTurn)
                    .where(NluTurn.conversation_id == conversation_id)
                    .order_by(NluTurn.id)
                )
            )
    finally:
        await engine.dispose()


@pytest.mark.rasa
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_typed_message_is_kept_masked_with_what_the_bot_understood(
    citizen: Citizen, settings: Settings
) -> None:
    await citizen.say("quiero sacar la licencia de pesca")
    await citizen.say("Sí", payload="/afirmar")  # a button: not language to review
    await citizen.say("información para renovar el pasaporte")
    await citizen.say("quiero hablar con una persona, llamadme al 666 55 44 33")

    turns = await _turns(settings, citizen.conversation_id)
    assert len(turns) == 3, [t.text for t in turns]
    fishing, passport, person = turns

    assert fishing.text == "quiero sacar la licencia de pesca"
    assert fishing.intent == "informacion_tramite"
    assert fishing.confidence is not None and 0 < fishing.confidence <= 1
    assert fishing.ranking and fishing.ranking[0]["intent"] == "informacion_tramite"
    assert fishing.model_id and fishing.model_id.startswith("tuatencion-")
    assert (fishing.outcome, fishing.kb_outcome, fishing.channel) == ("answered", "card", "webchat")
    assert fishing.kb_procedure  # the procedure whose card was shown
    assert fishing.status == "pending"

    assert passport.kb_outcome in ("not_found", "choices")
    assert passport.kb_procedure is None

    assert "666" not in person.text and "[TELEFONO]" in person.text
    assert (person.outcome, person.handoff_reason) == ("handoff", "citizen_request")
