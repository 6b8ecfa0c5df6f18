"""In-person attentions («Atención presencial») and the form's pickers (offices, procedures)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from desk_api.deps import CurrentAgent, DeskDep, SessionDep
from desk_api.schemas import AttentionIn, AttentionOut, OfficeOut, ProcedureOut
from desk_api.services import attentions
from knowledge.base import KnowledgeBase

router = APIRouter(prefix="/api/desk", tags=["desk"])


@router.post("/attentions", response_model=AttentionOut, status_code=201)
async def register(body: AttentionIn, agent: CurrentAgent, ctx: DeskDep) -> AttentionOut:
    return await attentions.register(ctx, agent, body)


@router.get("/attentions", response_model=list[AttentionOut])
async def list_attentions(
    agent: CurrentAgent,
    session: SessionDep,
    mine: bool = Query(default=False, description="Only the caller's attentions"),
) -> list[AttentionOut]:
    return await attentions.list_attentions(session, agent, mine)


@router.get("/procedures", response_model=list[ProcedureOut])
async def procedures(
    agent: CurrentAgent,
    request: Request,
    q: str = Query(min_length=1, max_length=300),
    k: int = Query(default=6, ge=1, le=10),
) -> list[ProcedureOut]:
    attentions.require_informer(agent)
    kb: KnowledgeBase = request.app.state.knowledge
    return await attentions.search_procedures(kb, q, k)


@router.get("/offices", response_model=list[OfficeOut])
async def offices(agent: CurrentAgent, request: Request) -> list[OfficeOut]:
    attentions.require_informer(agent)
    kb: KnowledgeBase = request.app.state.knowledge
    return await attentions.offices(kb)
