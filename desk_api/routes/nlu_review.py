"""The annotation inbox of the content teams: read (analysts too), claim, annotate, download the
training data it produces; and its page, /desk/anotaciones."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response

from desk_api.deps import RowId, SessionDep, agent_with_role
from desk_api.models import Agent
from desk_api.nlu_schemas import (
    AnnotationIn,
    CatalogueOut,
    NextIn,
    NextOut,
    StatsOut,
    TurnOut,
    TurnPage,
    turn_out,
)
from desk_api.routes.pages import DESK_DIR
from desk_api.services import nlu_annotate, nlu_catalogue, nlu_export, nlu_review
from desk_api.services.nlu_settings import get_settings

router = APIRouter(prefix="/api/desk/nlu", tags=["nlu-review"])
pages = APIRouter(include_in_schema=False)

Annotator = Annotated[Agent, Depends(agent_with_role("contenidos", "admin"))]
Reader = Annotated[Agent, Depends(agent_with_role("contenidos", "admin", "analista"))]


def filters(
    status: nlu_review.Status = Query(default="pending"),
    intent: str | None = Query(default=None, max_length=64),
    channel: str | None = Query(default=None, max_length=32),
    outcome: nlu_review.Outcome | None = Query(default=None),
    first_day: date | None = Query(default=None, alias="from", description="YYYY-MM-DD, Spain"),
    last_day: date | None = Query(default=None, alias="to", description="YYYY-MM-DD, Spain"),
    q: str | None = Query(default=None, max_length=200, description="Text in the masked message"),
    max_confidence: float | None = Query(default=None, ge=0, le=1),
) -> nlu_review.InboxFilter:
    return nlu_review.InboxFilter(
        status=status,
        intent=intent,
        channel=channel,
        outcome=outcome,
        first_day=first_day,
        last_day=last_day,
        text=q,
        max_confidence=max_confidence,
    )


Filters = Annotated[nlu_review.InboxFilter, Depends(filters)]


@router.get("/turns", response_model=TurnPage)
async def list_turns(
    agent: Reader,
    session: SessionDep,
    chosen: Filters,
    limit: int = Query(default=50, ge=1, le=nlu_review.MAX_PAGE),
    after: str | None = Query(default=None, max_length=200, description="next_cursor"),
) -> TurnPage:
    """The inbox, most telling first: fell back, handed off, rated badly, topic corrected by
    an agent, low confidence."""
    settings = get_settings()
    page = await nlu_review.inbox(
        session, agent, chosen, threshold=settings.low_confidence, timezone=settings.timezone,
        limit=limit, after=after,
    )  # fmt: skip
    return TurnPage(items=[turn_out(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/turns/{turn_id}", response_model=TurnOut)
async def get_turn(turn_id: RowId, agent: Reader, session: SessionDep) -> TurnOut:
    found = await nlu_review.item(session, agent, turn_id, get_settings().low_confidence)
    return turn_out(found)


@router.post("/next", response_model=NextOut)
async def claim_next(
    agent: Annotator, session: SessionDep, chosen: Filters, body: NextIn
) -> NextOut:
    """Reserve the next pending item for this annotator (nobody else gets it meanwhile)."""
    settings = get_settings()
    item = await nlu_review.claim_next(
        session, agent, chosen, threshold=settings.low_confidence, timezone=settings.timezone,
        lease=timedelta(minutes=settings.claim_minutes), skip=body.skip,
    )  # fmt: skip
    return NextOut(item=turn_out(item) if item else None)


@router.post("/turns/{turn_id}/release", status_code=204)
async def release(turn_id: RowId, agent: Annotator, session: SessionDep) -> Response:
    """Skip: give the item back to the others."""
    await nlu_review.release(session, agent, turn_id)
    return Response(status_code=204)


@router.post(
    "/turns/{turn_id}/annotation",
    response_model=TurnOut,
    responses={409: {"description": "Someone else saved it first, or it was exported"}},
)
async def annotate(
    turn_id: RowId, body: AnnotationIn, agent: Annotator, session: SessionDep
) -> TurnOut:
    """Confirm, correct (an intent of the domain), mark as noise, or reopen."""
    settings = get_settings()
    spans = (
        [nlu_annotate.Span(e.entity, e.start, e.end) for e in body.entities]
        if body.entities is not None
        else None
    )
    turn = await nlu_annotate.annotate(
        session, agent, turn_id, action=body.action, version=body.version,
        catalogue=nlu_catalogue.load(settings.domain_file), intent=body.intent, entities=spans,
    )  # fmt: skip
    return turn_out(await nlu_review.item(session, agent, turn.id, settings.low_confidence))


@router.get("/catalogue", response_model=CatalogueOut)
async def catalogue(agent: Reader) -> CatalogueOut:
    """The intents and entities of the assistant's domain: what an annotation may say."""
    found = nlu_catalogue.load(get_settings().domain_file)
    return CatalogueOut(intents=list(found.intents), entities=list(found.entities))


@router.get("/stats", response_model=StatsOut)
async def stats(agent: Reader, session: SessionDep) -> StatsOut:
    settings = get_settings()
    found = await nlu_review.stats(
        session, agent, threshold=settings.low_confidence, timezone=settings.timezone
    )
    return StatsOut(**found.__dict__, low_confidence=settings.low_confidence)


@router.get(
    "/export.yml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}, "description": "Rasa 3 NLU YAML"}},
)
async def download_export(agent: Annotator, session: SessionDep) -> Response:
    """nlu_data/nlu/anotaciones.yml as the next export would write it (nothing is marked): for
    content teams without access to the repository."""
    accepted = await nlu_export.accepted_turns(session)
    planned = await asyncio.to_thread(nlu_export.plan, accepted, get_settings())
    return Response(
        planned.content,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="anotaciones.yml"'},
    )


@pages.get("/desk/anotaciones")
async def annotations_page() -> FileResponse:
    return FileResponse(DESK_DIR / "anotaciones.html", media_type="text/html")
