"""What the annotation inbox's API takes and returns (masked texts only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from desk_api.deps import MAX_ROW_ID
from desk_api.services.nlu_review import InboxItem

TurnId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class RankedIntent(BaseModel):
    intent: str
    confidence: float


class EntitySpan(BaseModel):
    entity: str = Field(max_length=64)
    start: int = Field(ge=0, le=100_000)
    end: int = Field(ge=0, le=100_000)
    value: str | None = None


class BadgeOut(BaseModel):
    kind: str = Field(
        description="fallback | handoff | low_confidence | bad_rating | topic_corrected"
    )
    label: str = Field(description="The reason in Spanish, as the page shows it")


class TurnOut(BaseModel):
    id: int
    text: str = Field(description="The citizen's message, masked ([DNI], [EMAIL]…)")
    channel: str
    created_at: datetime
    intent: str | None
    confidence: float | None
    ranking: list[RankedIntent]
    entities: list[EntitySpan]
    outcome: str = Field(description="answered | fallback | handoff")
    handoff_reason: str | None
    kb_outcome: str | None
    kb_procedure: str | None
    status: str = Field(description="pending | annotated | noise")
    reviewed_intent: str | None
    reviewed_entities: list[EntitySpan] | None
    reviewed_by: str | None = Field(description="Who annotated it (full name)")
    reviewed_at: datetime | None
    exported_at: datetime | None
    version: int = Field(description="Send it back when annotating (optimistic concurrency)")
    priority: int
    badges: list[BadgeOut]
    claimed_by_other: bool = Field(description="Another annotator is reviewing it now")


def turn_out(item: InboxItem) -> TurnOut:
    turn = item.turn

    def spans(raw: list[dict[str, Any]] | None) -> list[EntitySpan]:
        return [
            EntitySpan(
                entity=str(s["entity"]),
                start=int(s["start"]),
                end=int(s["end"]),
                value=s.get("value"),
            )
            for s in raw or []
            if isinstance(s.get("start"), int) and isinstance(s.get("end"), int)
        ]

    return TurnOut(
        id=turn.id,
        text=turn.text,
        channel=turn.channel,
        created_at=turn.created_at,
        intent=turn.intent,
        confidence=turn.confidence,
        ranking=[RankedIntent.model_validate(r) for r in turn.ranking or []],
        entities=spans(turn.entities),
        outcome=turn.outcome,
        handoff_reason=turn.handoff_reason,
        kb_outcome=turn.kb_outcome,
        kb_procedure=turn.kb_procedure,
        status=turn.status,
        reviewed_intent=turn.reviewed_intent,
        reviewed_entities=spans(turn.reviewed_entities) if turn.status == "annotated" else None,
        reviewed_by=item.reviewed_by_name,
        reviewed_at=turn.reviewed_at,
        exported_at=turn.exported_at,
        version=turn.version,
        priority=item.priority,
        badges=[BadgeOut(kind=b.kind, label=b.label) for b in item.badges],
        claimed_by_other=item.claimed_by_other,
    )


class TurnPage(BaseModel):
    items: list[TurnOut]
    next_cursor: str | None = Field(description="Pass as ?after= for the next page")


class NextOut(BaseModel):
    item: TurnOut | None = Field(description="null: nothing pending for these filters")


class NextIn(BaseModel):
    skip: list[TurnId] = Field(default_factory=list, max_length=500,
                            description="Items passed over in this session")  # fmt: skip


class AnnotationIn(BaseModel):
    action: Literal["confirm", "correct", "noise", "reopen"]
    version: int = Field(ge=1, le=MAX_ROW_ID, description="The version the annotator saw")
    intent: str | None = Field(default=None, max_length=64, description="For «correct»")
    entities: list[EntitySpan] | None = Field(
        default=None, max_length=50, description="Spans over the masked text; null: predicted"
    )


class CatalogueOut(BaseModel):
    intents: list[str]
    entities: list[str]


class StatsOut(BaseModel):
    pending: int
    pending_by_reason: dict[str, int]
    done_today_by_me: int
    done_today_by_team: int
    low_confidence: float = Field(description="The threshold of «Baja confianza»")
