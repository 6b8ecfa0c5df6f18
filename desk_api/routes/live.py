"""The desk's WebSocket: live queue and message events, filtered by what the agent may see."""

from __future__ import annotations

from fastapi import APIRouter, Query, WebSocket, status

from desk_api.deps import (
    HubDep,
    SessionDep,
    SettingsDep,
    agent_from_token,
    require_attention_role,
)
from desk_api.errors import DomainError
from desk_api.live import DESK_TOPIC
from desk_api.services.desk_events import visible_to
from desk_api.socket_pump import pump

router = APIRouter(prefix="/api/desk", tags=["desk-live"])


@router.websocket("/ws")
async def desk_live(
    websocket: WebSocket,
    hub: HubDep,
    session: SessionDep,
    settings: SettingsDep,
    token: str | None = Query(default=None),
) -> None:
    try:
        agent = require_attention_role(await agent_from_token(session, settings, token))
    except DomainError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    await session.close()
    await websocket.accept()
    async with hub.subscribe(DESK_TOPIC) as queue:
        await pump(websocket, queue, lambda event: visible_to(agent, event))
