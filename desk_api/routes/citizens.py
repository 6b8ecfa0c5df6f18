"""A citizen's history across channels, for the desk's «Historial del ciudadano»."""

from __future__ import annotations

from fastapi import APIRouter

from desk_api.deps import CurrentAgent, SessionDep
from desk_api.schemas import CitizenHistoryOut
from desk_api.services import history

router = APIRouter(prefix="/api/desk/citizens", tags=["desk"])


@router.get("/{citizen_id}/history", response_model=CitizenHistoryOut)
async def citizen_history(
    citizen_id: str, agent: CurrentAgent, session: SessionDep
) -> CitizenHistoryOut:
    return await history.citizen_history(session, agent, citizen_id)
