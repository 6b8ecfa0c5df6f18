"""The portal's web chat channel: HTTP for sending, files, typing and history; a WebSocket for
live replies."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, WebSocket, status
from fastapi.responses import FileResponse

from connectors.channels import IncomingFile
from connectors.file_kinds import MACROS, sniff
from desk_api.channel_models import Attachment
from desk_api.deps import MAX_ROW_ID, CitizenToken, GatewayDep, HubDep, SessionDep, SettingsDep
from desk_api.errors import DomainError, InvalidInput, NotFound
from desk_api.live import DESK_TOPIC, conversation_topic
from desk_api.schemas import (
    ChatHistoryOut,
    ChatMessageIn,
    ChatPostOut,
    ChatStartOut,
    ConversationSummary,
)
from desk_api.services.attachments import attachments_by_message, with_attachments
from desk_api.services.transcript import last_texts, messages_after
from desk_api.socket_pump import pump
from handoff import notices
from handoff.contract import Controller

router = APIRouter(prefix="/api/chat", tags=["webchat"])
CHANNEL = "webchat"
MAX_FILES_PER_MESSAGE = 5
# A citizen's file is never rendered by the browser from our origin: always a download.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


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
    after: int = Query(default=0, ge=0, le=MAX_ROW_ID),
) -> ChatHistoryOut:
    conversation = await gateway.authorize(session, conversation_id, token)
    messages = await messages_after(session, conversation_id, after)
    return ChatHistoryOut(
        conversation_id=conversation_id,
        controller=conversation.controller,
        messages=await with_attachments(session, messages),
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


@router.post("/conversations/{conversation_id}/attachments", response_model=ChatPostOut)
async def upload(
    conversation_id: str,
    token: CitizenToken,
    gateway: GatewayDep,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[list[UploadFile], File(description="One or several files")],
    text: Annotated[str, Form()] = "",  # the gateway enforces the message length
    client_message_id: Annotated[str | None, Form(min_length=1, max_length=64)] = None,
) -> ChatPostOut:
    """A citizen message with files (and optional text); the bot reads only the text."""
    await gateway.authorize(session, conversation_id, token)  # before reading any byte
    await session.close()  # the gateway writes in its own session (SQLite: no reader left)
    if len(file) > MAX_FILES_PER_MESSAGE:
        raise InvalidInput(f"Puede enviar como máximo {MAX_FILES_PER_MESSAGE} archivos a la vez.")
    files = [await _accepted_file(part, settings.max_attachment_bytes) for part in file]
    result = await gateway.receive(
        conversation_id, token, text, files=files, client_message_id=client_message_id
    )
    found = await attachments_by_message(session, [result.message.id])
    message = result.message.model_copy(update={"attachments": found.get(result.message.id, [])})
    return ChatPostOut(message=message, replies=result.replies, controller=result.controller)


@router.get("/conversations/{conversation_id}/attachments/{attachment_id}")
async def download(
    conversation_id: str,
    attachment_id: str,
    bearer: CitizenToken,
    gateway: GatewayDep,
    session: SessionDep,
    token: str | None = Query(default=None, description="The conversation's citizen token"),
) -> FileResponse:
    """One file of the citizen's own conversation (links carry the token: no header there)."""
    await gateway.authorize(session, conversation_id, token or bearer)
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.conversation_id != conversation_id:
        raise NotFound("No existe ese archivo en esta conversación.")
    path = gateway.attachments.path(attachment.sha256) if gateway.attachments else None
    if path is None or not path.is_file():
        raise NotFound("El archivo ya no está disponible.")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        headers=DOWNLOAD_HEADERS,
    )


@router.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def typing(
    conversation_id: str, token: CitizenToken, gateway: GatewayDep, hub: HubDep, session: SessionDep
) -> None:
    """Tell the desk the citizen is writing (the widget calls this at most every few seconds);
    only a person attending the conversation cares, so nothing is sent while the bot holds it."""
    conversation = await gateway.authorize(session, conversation_id, token)
    if conversation.controller != Controller.HUMAN:
        return
    preview = (await last_texts(session, [conversation.id])).get(conversation.id)
    summary = ConversationSummary.of(conversation, preview)
    hub.publish(
        DESK_TOPIC,
        {
            "type": "typing",
            "conversation_id": conversation.id,
            "sender": "citizen",
            "conversation": summary.model_dump(mode="json"),
        },
    )


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


async def _accepted_file(part: UploadFile, limit: int) -> IncomingFile:
    """The uploaded part, if it is small enough and really one of the accepted kinds."""
    name = PurePath(part.filename or "").name or "adjunto"
    data = await part.read(limit + 1)  # never more than one byte over the limit in memory
    if len(data) > limit:
        raise InvalidInput(notices.file_too_large(name, limit))
    if not data:
        raise InvalidInput(f"El archivo «{name}» está vacío.")
    kind = sniff(data, name)
    if kind is None:
        raise InvalidInput(
            f"No podemos recibir el archivo «{name}»: solo se admiten imágenes (JPEG, PNG, "
            "WebP, GIF o HEIC), documentos PDF, archivos de texto y documentos de Office "
            "(Word, Excel, PowerPoint u OpenDocument)."
        )
    if kind is MACROS:
        raise InvalidInput(
            f"No podemos recibir el archivo «{name}»: contiene macros. Guárdelo sin macros "
            "(por ejemplo, como .docx, .xlsx o PDF) y vuelva a enviarlo."
        )
    return IncomingFile(filename=kind.named(name), content_type=kind.content_type, data=data)
