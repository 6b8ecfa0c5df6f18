"""The accuracy reports' hand-computed fixture: 3 conversations × 7 turns in the period, on
two channels and two Spanish days, two hand-offs, CSAT answers, 4 annotated turns and a
promoted model with 6 held-out predictions; plus rows just outside the period (Spanish
midnight is 23:00 UTC in November). The expected numbers are written by hand in the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from desk_api.desk_models import SatisfactionSurvey
from desk_api.models import Conversation, Message
from desk_api.nlu_models import ModelVersion, NluTurn
from tests.support.db import database

DAY_1, DAY_2 = date(2026, 11, 2), date(2026, 11, 3)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# conversation, channel, at, text, intent, confidence, outcome, reason, kb, procedure, reviewed
TURNS: list[tuple[Any, ...]] = [
    # A (web chat, 2 Nov): answered twice, one fallback; never handed off → contained.
    (
        "A",
        "webchat",
        utc(1, 23, 30),
        "hola buenas",
        "saludo",
        0.95,
        "answered",
        None,
        None,
        None,
        "saludo",
    ),
    (
        "A",
        "webchat",
        utc(2, 9),
        "familia numerosa",
        "informacion_tramite",
        0.80,
        "answered",
        None,
        "card",
        "PROC-0001",
        "informacion_tramite",
    ),
    (
        "A",
        "webchat",
        utc(2, 9, 5),
        "¿dónde tiro el aceite usado?",
        "nlu_fallback",
        0.30,
        "fallback",
        None,
        None,
        None,
        "informacion_tramite",
    ),
    # B (web chat, 2 Nov): a procedure not found, then asks for a person.
    (
        "B",
        "webchat",
        utc(2, 10),
        "ayudas para placas solares",
        "informacion_tramite",
        0.55,
        "answered",
        None,
        "not_found",
        None,
        "presentar_queja",
    ),
    (
        "B",
        "webchat",
        utc(2, 10, 1),
        "quiero hablar con una persona",
        "hablar_con_agente",
        0.97,
        "handoff",
        "citizen_request",
        None,
        None,
        None,
    ),
    # C (WhatsApp, 3 Nov): two turns not understood, handed off for low confidence.
    (
        "C",
        "whatsapp",
        utc(3, 12),
        "subvención placas solares",
        "nlu_fallback",
        0.20,
        "fallback",
        None,
        None,
        None,
        None,
    ),
    (
        "C",
        "whatsapp",
        utc(3, 12, 1),
        "no me entiendes",
        "nlu_fallback",
        0.25,
        "handoff",
        "low_confidence",
        None,
        None,
        None,
    ),
    # Outside the period: 1 Nov 23:30 and 4 Nov 00:30 in Spain.
    (
        "D",
        "webchat",
        utc(1, 22, 30),
        "fuera del periodo",
        "saludo",
        0.9,
        "fallback",
        None,
        None,
        None,
        "saludo",
    ),
    (
        "E",
        "whatsapp",
        utc(3, 23, 30),
        "también fuera",
        "nlu_fallback",
        0.1,
        "handoff",
        "low_confidence",
        None,
        None,
        None,
    ),
]
HANDED_OFF = {"B": utc(2, 10, 1), "C": utc(3, 12, 1), "E": utc(3, 23, 30)}
# conversation, channel, asked at, rating
SURVEYS = [
    ("B", "webchat", utc(2, 11), 5),
    ("C", "whatsapp", utc(3, 13), 2),
    ("C", "whatsapp", utc(3, 14), None),  # asked, never answered
    ("E", "whatsapp", utc(3, 23, 40), 1),  # outside the period
]
PREDICTIONS = [
    {"text": text, "intent": intent, "predicted": predicted, "confidence": confidence}
    for text, intent, predicted, confidence in [
        ("¿a qué hora abrís?", "horario_atencion", "horario_atencion", 0.9),
        ("horario de tarde", "horario_atencion", "horario_atencion", 0.8),
        ("¿abrís en agosto?", "horario_atencion", "buscar_oficina", 0.4),
        ("oficina en Mérida", "buscar_oficina", "buscar_oficina", 0.7),
        ("¿dónde estáis?", "buscar_oficina", "horario_atencion", 0.55),
        ("hola", "saludo", "saludo", 0.95),
    ]
]


async def seed(url: str) -> None:
    async with database(url) as session:
        # conftest's TRUNCATE … CASCADE empties nlu_turns (through messages), not this table.
        await session.execute(delete(ModelVersion))
        for cid in sorted({t[0] for t in TURNS}):
            channel = next(t[1] for t in TURNS if t[0] == cid)
            first = min(t[2] for t in TURNS if t[0] == cid)
            session.add(
                Conversation(
                    id=f"conv-{cid}",
                    channel=channel,
                    handed_off_at=HANDED_OFF.get(cid),
                    created_at=first,
                )
            )
        await session.flush()
        for seq, turn in enumerate(TURNS, start=1):
            cid, channel, at, text, intent, confidence, outcome, reason, kb, procedure, reviewed = (
                turn
            )
            message = Message(
                conversation_id=f"conv-{cid}", seq=seq, sender="citizen", text=text, created_at=at
            )
            session.add(message)
            await session.flush()
            session.add(
                NluTurn(
                    message_id=message.id,
                    conversation_id=f"conv-{cid}",
                    channel=channel,
                    text=text,
                    intent=intent,
                    confidence=confidence,
                    outcome=outcome,
                    handoff_reason=reason,
                    kb_outcome=kb,
                    kb_procedure=procedure,
                    created_at=at,
                    status="annotated" if reviewed else "pending",
                    reviewed_intent=reviewed,
                )
            )
        for cid, channel, asked, rating in SURVEYS:
            session.add(
                SatisfactionSurvey(
                    conversation_id=f"conv-{cid}",
                    channel=channel,
                    asked_at=asked,
                    rating=rating,
                    status="closed" if rating else "asked",
                    rated_at=asked + timedelta(minutes=1) if rating else None,
                )
            )
        session.add(
            ModelVersion(
                version="20261101-a",
                file_name="nlu-a.tar.gz",
                data_hash="a" * 64,
                status="promoted",
                predictions=PREDICTIONS,
                promoted_at=utc(1, 8),
                metrics={"accuracy": 0.6667},
            )
        )
        session.add(
            ModelVersion(
                version="20261030-old",
                file_name="nlu-old.tar.gz",
                data_hash="b" * 64,
                status="retired",
                predictions=PREDICTIONS[:1],
            )
        )
        await session.commit()
