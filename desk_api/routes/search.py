"""Search over the transcripts of the conversations the agent may see."""

from __future__ import annotations

from fastapi import APIRouter, Query

from desk_api.deps import CurrentAgent, SessionDep
from desk_api.schemas import SearchHitOut
from desk_api.services import search

router = APIRouter(prefix="/api/desk", tags=["desk-search"])


@router.get("/search", response_model=list[SearchHitOut])
async def search_transcripts(
    agent: CurrentAgent,
    session: SessionDep,
    q: str = Query(max_length=search.MAX_CHARS, description="Words (websearch syntax)"),
    limit: int = Query(default=search.DEFAULT_LIMIT, ge=1, le=search.MAX_LIMIT),
) -> list[SearchHitOut]:
    """Matching messages, newest first, each with its conversation and a snippet."""
    return await search.search(session, agent, q, limit)
