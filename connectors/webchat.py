"""The portal's web chat channel: HTTP for sending and history, a WebSocket for live replies."""

from __future__ import annotations

from fastapi import APIRouter, Query, WebSocket, status

from desk_api.deps import CitizenToken, GatewayDep, HubDep, SessionDep
from desk_api.errors import DomainError
from desk_api.live import conversation_topic
from desk_api.schemas import (
    ChatHistoryOut,
    ChatMessageIn,
    ChatPostOut,
    ChatStartOut,
    MessageOut,
)
from desk_api.services.transcript import messages_after
from desk_api.socket_pump import pump

router = APIRouter(prefix="/api/chat", tags=["webchat"])
CHANNEL = "webchat"


@router.post("/conversations", response_model=ChatStartOut, status_code=status.HTTP_201_CREATED)
async def start(gateway: GatewayDep) -> ChatStartOut:
    conversation, token = await gateway.start_conversation(CHANNEL)
    return ChatStartOut(
        conversation_id=conversation.id, token=token, controller=conversation.controller
    )


@router.get("/conversations/{conversation_id}/messages", response_model=ChatHistoryOut)
async def history(
    conversation_id: str,
    token: CitizenToken,
    gateway: GatewayDep,
    session: SessionDep,
    after: int = Query(default=0, ge=0),
) -> ChatHistoryOut:
    conversation = await gateway.authorize(session, conversation_id, token)
    messages = await messages_after(session, conversation_id, after)
    return ChatHistoryOut(
        conversation_id=conversation_id,
        controller=conversation.controller,
        messages=[MessageOut.of(m) for m in messages],
    )


@router.post("/conversations/{conversation_id}/messages", response_model=ChatPostOut)
async def send(
    conversation_id: str, body: ChatMessageIn, token: CitizenToken, gateway: GatewayDep
) -> ChatPostOut:
    result = await gateway.receive(
        conversation_id,
        token,
        body.text,
        payload=body.payload,
        client_message_id=body.client_message_id,
    )
    return ChatPostOut(message=result.message, replies=result.replies, controller=result.controller)


@router.websocket("/conversations/{conversation_id}/ws")
async def live(
    websocket: WebSocket,
    conversation_id: str,
    gateway: GatewayDep,
    hub: HubDep,
    session: SessionDep,
    token: str | None = Query(default=None),
) -> None:
    try:
        await gateway.authorize(session, conversation_id, token)
    except DomainError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    await session.close()
    await websocket.accept()
    async with hub.subscribe(conversation_topic(conversation_id)) as queue:
        await pump(websocket, queue)
