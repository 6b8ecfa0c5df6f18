"""Canned answers: what the agent may use, their management, and filling one in."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from desk_api.deps import CurrentAgent, RowId, SessionDep
from desk_api.schemas import CannedIn, CannedOut, CannedPatch, CannedRenderOut
from desk_api.services import canned
from knowledge.base import KnowledgeBase, KnowledgeUnavailable

router = APIRouter(prefix="/api/desk/canned", tags=["desk-canned"])


@router.get("", response_model=list[CannedOut])
async def usable(
    agent: CurrentAgent,
    session: SessionDep,
    unit: str | None = Query(default=None, max_length=32, description="A unit's code"),
) -> list[CannedOut]:
    return await canned.usable(session, agent, unit or None)


@router.post("", response_model=CannedOut, status_code=201)
async def create(body: CannedIn, agent: CurrentAgent, session: SessionDep) -> CannedOut:
    return await canned.create(session, agent, body)


@router.patch("/{canned_id}", response_model=CannedOut)
async def update(
    canned_id: RowId, body: CannedPatch, agent: CurrentAgent, session: SessionDep
) -> CannedOut:
    return await canned.update(session, agent, canned_id, body)


@router.delete("/{canned_id}", status_code=204)
async def delete(canned_id: RowId, agent: CurrentAgent, session: SessionDep) -> None:
    await canned.remove(session, agent, canned_id)


@router.post("/{canned_id}/render", response_model=CannedRenderOut)
async def render(
    canned_id: RowId,
    agent: CurrentAgent,
    session: SessionDep,
    request: Request,
    conversation_id: str = Query(max_length=36),
) -> CannedRenderOut:
    kb: KnowledgeBase | None = getattr(request.app.state, "knowledge", None)

    def procedure_title(identifier: str) -> str | None:
        """The catalogue's title, when the knowledge base is loaded (never load it for this)."""
        if kb is None or "searcher" not in vars(kb):
            return None
        try:
            procedure = kb.procedure(identifier)
        except KnowledgeUnavailable:
            return None
        return procedure.title if procedure else None

    return await canned.render(session, agent, canned_id, conversation_id, procedure_title)
