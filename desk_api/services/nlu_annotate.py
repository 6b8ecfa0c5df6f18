"""An annotator's decision on one message: confirm the prediction, correct the intent, mark it
as noise, or reopen it. Entities are spans over the masked text. Two annotators saving the same
message at once: the row's ``version`` decides (the second gets a 409 saying who was first).
Every decision is kept in ``nlu_annotations`` and in the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import Conflict, InvalidInput, NotFound
from desk_api.models import Agent, utcnow
from desk_api.nlu_models import NluAnnotation, NluTurn
from desk_api.services.nlu_catalogue import FALLBACK_INTENT, Catalogue
from desk_api.services.transcript import audit

Action = Literal["confirm", "correct", "noise", "reopen"]
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")


@dataclass(frozen=True)
class Span:
    entity: str
    start: int
    end: int


def validate_spans(text: str, spans: list[Span], catalogue: Catalogue) -> list[dict[str, Any]]:
    """Spans as stored (with their text), or a Spanish 422 naming the first problem."""
    placeholders = [match.span() for match in PLACEHOLDER.finditer(text)]
    checked: list[dict[str, Any]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.entity not in catalogue.entities:
            raise InvalidInput(
                f"«{span.entity}» no es una entidad del dominio del asistente. "
                "Elija una de la lista."
            )
        if not 0 <= span.start < span.end <= len(text):
            raise InvalidInput(
                f"La entidad «{span.entity}» ({span.start}–{span.end}) queda fuera del texto "
                f"del mensaje, que tiene {len(text)} caracteres."
            )
        value = text[span.start : span.end]
        if value != value.strip():
            raise InvalidInput(
                f"La entidad «{span.entity}» empieza o termina con un espacio: "
                "seleccione solo las palabras."
            )
        if any(start < span.end and span.start < end for start, end in placeholders):
            raise InvalidInput(
                "Una entidad no puede incluir un dato personal enmascarado (por ejemplo, "
                "[DNI]): el asistente nunca ve ese dato."
            )
        if "[" in value or "]" in value:
            raise InvalidInput("Una entidad no puede contener corchetes.")
        if checked and span.start < checked[-1]["end"]:
            raise InvalidInput(
                f"Las entidades «{checked[-1]['entity']}» y «{span.entity}» se solapan: "
                "cada palabra puede pertenecer a una sola entidad."
            )
        checked.append(
            {"entity": span.entity, "start": span.start, "end": span.end, "value": value}
        )
    return checked


def predicted_spans(turn: NluTurn, catalogue: Catalogue) -> list[dict[str, Any]]:
    """The prediction's entities that fit the masked text (Rasa saw numbered placeholders, so
    offsets after one may differ: those are dropped rather than misplaced)."""
    spans = []
    for item in turn.entities or []:
        start, end = item.get("start"), item.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        if item.get("entity") not in catalogue.entities or turn.text[start:end] != item.get(
            "value"
        ):
            continue
        spans.append(Span(str(item["entity"]), start, end))
    try:
        return validate_spans(turn.text, spans, catalogue)
    except InvalidInput:
        return []


async def annotate(
    session: AsyncSession,
    agent: Agent,
    turn_id: int,
    *,
    action: Action,
    version: int,
    catalogue: Catalogue,
    intent: str | None = None,
    entities: list[Span] | None = None,
) -> NluTurn:
    """Apply one decision if nobody saved the message since ``version``; commits."""
    turn = await session.get(NluTurn, turn_id)
    if turn is None:
        raise NotFound("Ese mensaje no existe o ya no está disponible para revisión.")
    if turn.exported_at is not None:
        raise Conflict(
            "Este mensaje ya se exportó a los datos de entrenamiento: corríjalo allí, en "
            "nlu_data/nlu/anotaciones.yml, con un cambio revisado."
        )
    previous = turn.reviewed_intent or turn.intent
    values: dict[str, Any]
    if action == "reopen":
        if turn.status == "pending":
            raise InvalidInput("Este mensaje ya está pendiente de revisión.")
        values = {"status": "pending", "reviewed_intent": None, "reviewed_entities": None,
                  "reviewed_by": None, "reviewed_at": None}  # fmt: skip
    elif action == "noise":
        values = {"status": "noise", "reviewed_intent": None, "reviewed_entities": None}
    else:
        chosen = turn.intent if action == "confirm" else intent
        if action == "confirm" and (chosen is None or chosen == FALLBACK_INTENT):
            raise InvalidInput(
                "El asistente no reconoció ninguna intención en este mensaje: no hay nada que "
                "confirmar. Elija la intención correcta o márquelo como ruido."
            )
        if not chosen:
            raise InvalidInput("Elija la intención correcta del mensaje.")
        if chosen not in catalogue.intents:
            raise InvalidInput(
                f"«{chosen}» no es una intención del dominio del asistente. Elija una de la lista."
            )
        spans = (
            validate_spans(turn.text, entities, catalogue)
            if entities is not None
            else predicted_spans(turn, catalogue)
        )
        if action == "correct" and chosen == turn.intent:
            action = "confirm"  # the prediction was right after all
        values = {"status": "annotated", "reviewed_intent": chosen, "reviewed_entities": spans}
    now = utcnow()
    if action != "reopen":
        values |= {"reviewed_by": agent.id, "reviewed_at": now}
    saved = await session.execute(
        update(NluTurn)
        .where(NluTurn.id == turn_id, NluTurn.version == version)
        .values(**values, version=NluTurn.version + 1, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if saved.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict(await _who_was_first(session, turn_id))
    session.add(
        NluAnnotation(
            turn_id=turn_id,
            agent_id=agent.id,
            action=action,
            intent=values.get("reviewed_intent"),
            entities=values.get("reviewed_entities"),
            previous_intent=previous,
            created_at=now,
        )
    )
    audit(
        session,
        "nlu.annotate",
        conversation_id=None,
        actor_type="agent",
        actor_id=agent.id,
        details={
            "turn_id": turn_id,
            "action": action,
            "intent": values.get("reviewed_intent"),
            "previous_intent": previous,
        },
    )
    await session.commit()
    refreshed = await session.get(NluTurn, turn_id, populate_existing=True)
    assert refreshed is not None
    return refreshed


async def _who_was_first(session: AsyncSession, turn_id: int) -> str:
    turn = await session.get(NluTurn, turn_id, populate_existing=True)
    name = None
    if turn is not None and turn.reviewed_by is not None:
        reviewer = await session.get(Agent, turn.reviewed_by)
        name = reviewer.full_name if reviewer else None
    who = f"{name} guardó" if name else "Otra persona guardó"
    return (
        f"{who} este mensaje mientras usted lo revisaba. Se muestra su versión: revísela "
        "antes de volver a guardar."
    )
