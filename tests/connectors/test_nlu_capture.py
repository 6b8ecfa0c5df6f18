"""What the assistant understood of each citizen message is kept, masked, for the content teams:
through the real gateway, Rasa and the action server, and the parsing rules on their own."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.nlu_capture import kb_signal, turn_row, understanding_of
from connectors.nlu_parse import ParseTiming, TurnParser
from connectors.rasa_client import BotReply, RasaClient
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import Message, utcnow
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


def test_the_parse_keeps_intent_top_five_and_entity_spans() -> None:
    understood = understanding_of(PARSE)
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


async def _turns(settings: Settings, conversation_id: str, count: int) -> list[NluTurn]:
    """The conversation's turns once ``count`` are recorded (after the reply) and parsed (by
    the app's TurnParser, every 0.2 s in tests)."""
    engine = make_engine(settings.database_url)
    try:
        for _ in range(100):
            async with make_sessionmaker(engine)() as session:
                turns = list(
                    await session.scalars(
                        select(NluTurn)
                        .where(NluTurn.conversation_id == conversation_id)
                        .order_by(NluTurn.message_id)  # recorded in the background: any order
                    )
                )
            if len(turns) >= count and all(t.parsed_at is not None for t in turns):
                return turns
            await asyncio.sleep(0.1)
        return turns
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

    turns = await _turns(settings, citizen.conversation_id, 3)
    await asyncio.sleep(0.5)  # and no fourth one (the button) arrives later
    turns = await _turns(settings, citizen.conversation_id, 3)
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


@pytest.mark.rasa
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_turn_rasa_no_longer_has_is_closed_without_a_parse_after_a_while(
    citizen: Citizen, settings: Settings, rasa_stack: dict[str, str]
) -> None:
    await citizen.say("quiero pagar la itv")
    await _turns(settings, citizen.conversation_id, 1)  # its own turn, parsed
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    rasa = RasaClient(rasa_stack["url"], rasa_stack["token"], timeout=10)
    try:
        async with sessions() as session:
            lost = turn_row(
                conversation_id=citizen.conversation_id,
                channel="webchat",
                # a message of the transcript Rasa never saw (a restart lost it)
                message_id=await _citizen_message(session, citizen.conversation_id, "hola"),
                text="hola",
                model_id=None,
                replies=[],
                handoff=None,
            )
            lost.created_at = utcnow() - timedelta(minutes=10)
            session.add(lost)
            await session.commit()
            lost_id = lost.id
        parser = TurnParser(sessions, rasa, ParseTiming(quiet=timedelta(0)))
        assert await parser.run_once() == 0  # not in the tracker, and not old enough to give up
        assert await parser.run_once() == 0  # …and not read again on every pass
        parser.timing = ParseTiming(quiet=timedelta(0), give_up=timedelta(minutes=5))
        parser._later.clear()
        await parser.run_once()
        async with sessions() as session:
            closed = await session.get(NluTurn, lost_id)
            assert closed is not None and closed.parsed_at is not None and closed.intent is None
    finally:
        await rasa.aclose()
        await engine.dispose()


async def _citizen_message(session: AsyncSession, conversation_id: str, text: str) -> int:
    seq = int(await session.scalar(select(func.max(Message.seq)).where(
        Message.conversation_id == conversation_id)) or 0) + 1  # fmt: skip
    message = Message(conversation_id=conversation_id, seq=seq, sender="citizen", text=text)
    session.add(message)
    await session.flush()
    return message.id
