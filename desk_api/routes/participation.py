"""Citizen participation: the desk's routes (agents), the public ones (anyone) and the bot's
(self-service token), plus the public page ``/participacion`` and the desk page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile, WebSocket, status
from fastapi.responses import FileResponse

from connectors.attachments import AttachmentStore
from desk_api.deps import (
    CurrentAgent,
    DeskDep,
    HubDep,
    SelfServiceConversation,
    SessionDep,
    SettingsDep,
    agent_from_token,
    require_attention_role,
)
from desk_api.errors import DomainError, NotFound
from desk_api.models import Conversation
from desk_api.participation_models import ProcessDocument
from desk_api.participation_schemas import (
    AnswerIn,
    DocumentOut,
    ModerationIn,
    ProcesoPublico,
    ProcessIn,
    ProcessOut,
    ProposalOut,
    PropuestaCiudadana,
    PropuestaIn,
)
from desk_api.routes.attachments import SAFE_HEADERS
from desk_api.routes.pages import DESK_DIR
from desk_api.services import participation
from desk_api.socket_pump import pump

desk_router = APIRouter(prefix="/api/desk/participation", tags=["desk-participation"])
public_router = APIRouter(prefix="/api/participacion", tags=["participacion"])
bot_router = APIRouter(prefix="/api/selfservice/participacion", tags=["self-service"])
pages = APIRouter(include_in_schema=False)
routers = (desk_router, public_router, bot_router, pages)

ProposalStatusQuery = Literal["received", "published", "rejected", "answered"]
# A database integer: a larger id is a 422, never an overflow (500) in PostgreSQL.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _data(body: ProcessIn) -> participation.ProcessData:
    return participation.ProcessData(
        title=body.title,
        description=body.description,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        unit_code=body.unit_code,
    )


def _download(request: Request, document: ProcessDocument) -> FileResponse:
    store: AttachmentStore = request.app.state.attachments
    path = store.path(document.sha256)
    if not path.is_file():
        raise NotFound("El documento ya no está disponible en el servidor.")
    return FileResponse(
        path,
        media_type=document.content_type,
        filename=document.filename,
        content_disposition_type="attachment",
        headers=SAFE_HEADERS,
    )


# -- the desk ------------------------------------------------------------------------------------


@desk_router.get("/processes", response_model=list[ProcessOut])
async def list_processes(agent: CurrentAgent, session: SessionDep) -> list[ProcessOut]:
    return await participation.list_processes(session, agent)


@desk_router.post("/processes", response_model=ProcessOut, status_code=201)
async def create_process(
    body: ProcessIn, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> ProcessOut:
    return await participation.create_process(session, hub, agent, _data(body))


@desk_router.get("/processes/{process_id}", response_model=ProcessOut)
async def get_process(process_id: RowId, agent: CurrentAgent, session: SessionDep) -> ProcessOut:
    return await participation.get_process(session, agent, process_id)


@desk_router.put("/processes/{process_id}", response_model=ProcessOut)
async def update_process(
    process_id: RowId, body: ProcessIn, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> ProcessOut:
    return await participation.update_process(session, hub, agent, process_id, _data(body))


@desk_router.post("/processes/{process_id}/publish", response_model=ProcessOut)
async def publish_process(
    process_id: RowId, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> ProcessOut:
    return await participation.publish_process(session, hub, agent, process_id)


@desk_router.post("/processes/{process_id}/close", response_model=ProcessOut)
async def close_process(
    process_id: RowId, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> ProcessOut:
    return await participation.close_process(session, hub, agent, process_id)


@desk_router.post("/processes/{process_id}/documents", response_model=DocumentOut, status_code=201)
async def upload_document(
    process_id: RowId,
    agent: CurrentAgent,
    session: SessionDep,
    hub: HubDep,
    settings: SettingsDep,
    request: Request,
    file: Annotated[UploadFile, File(description="A PDF, image, text or office document")],
) -> DocumentOut:
    data = await file.read(settings.max_attachment_bytes + 1)  # at most one byte over
    return await participation.add_document(
        session,
        hub,
        request.app.state.attachments,
        agent,
        process_id,
        file.filename or "",
        data,
        settings.max_attachment_bytes,
    )


@desk_router.get("/documents/{document_id}", response_class=FileResponse)
async def download_document(
    document_id: str, agent: CurrentAgent, session: SessionDep, request: Request
) -> FileResponse:
    return _download(request, await participation.document_for_agent(session, document_id))


@desk_router.get("/processes/{process_id}/proposals", response_model=list[ProposalOut])
async def list_proposals(
    process_id: RowId,
    agent: CurrentAgent,
    session: SessionDep,
    status_: Annotated[ProposalStatusQuery | None, Query(alias="status")] = None,
) -> list[ProposalOut]:
    return await participation.proposals_of_process(session, agent, process_id, status_)


@desk_router.post("/proposals/{proposal_id}/moderate", response_model=ProposalOut)
async def moderate(
    proposal_id: RowId, body: ModerationIn, agent: CurrentAgent, desk: DeskDep
) -> ProposalOut:
    return await participation.moderate(
        desk.session, desk.gateway, desk.hub, agent, proposal_id, body.decision, body.reason
    )


@desk_router.post("/proposals/{proposal_id}/answer", response_model=ProposalOut)
async def answer(
    proposal_id: RowId, body: AnswerIn, agent: CurrentAgent, desk: DeskDep
) -> ProposalOut:
    return await participation.answer(
        desk.session, desk.gateway, desk.hub, agent, proposal_id, body.text
    )


@desk_router.websocket("/ws")
async def live(
    websocket: WebSocket,
    hub: HubDep,
    session: SessionDep,
    settings: SettingsDep,
    token: str | None = Query(default=None),
) -> None:
    """Process and proposal changes (ids and status only) for the desk's participation page."""
    try:
        require_attention_role(await agent_from_token(session, settings, token))
    except DomainError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    await session.close()
    await websocket.accept()
    async with hub.subscribe(participation.TOPIC) as queue:
        await pump(websocket, queue)


# -- anyone --------------------------------------------------------------------------------------


@public_router.get("/procesos", response_model=list[ProcesoPublico])
async def open_processes(session: SessionDep) -> list[ProcesoPublico]:
    """The processes open today, with their published proposals (personal data masked)."""
    return await participation.open_processes(session)


@public_router.get("/procesos/{process_id}", response_model=ProcesoPublico)
async def public_process(process_id: RowId, session: SessionDep) -> ProcesoPublico:
    return await participation.public_process(session, process_id)


@public_router.get("/documentos/{document_id}", response_class=FileResponse)
async def public_document(document_id: str, session: SessionDep, request: Request) -> FileResponse:
    return _download(request, await participation.public_document(session, document_id))


# -- the bot (self-service token of the conversation) --------------------------------------------


@bot_router.get("/procesos", response_model=list[ProcesoPublico])
async def bot_open_processes(
    conversation_id: SelfServiceConversation, session: SessionDep
) -> list[ProcesoPublico]:
    return await participation.open_processes(session)


@bot_router.post("/propuestas", response_model=PropuestaCiudadana, status_code=201)
async def bot_submit(
    body: PropuestaIn, conversation_id: SelfServiceConversation, session: SessionDep, hub: HubDep
) -> PropuestaCiudadana:
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None  # checked by the dependency
    proposal = await participation.submit_proposal(
        session,
        hub,
        participation.NewProposal(
            process_id=body.proceso,
            title=body.titulo,
            text=body.texto,
            channel=conversation.channel,
            conversation_id=conversation_id,
        ),
    )
    return participation.citizen_view(proposal)


@bot_router.get("/propuestas", response_model=list[PropuestaCiudadana])
async def bot_proposals(
    conversation_id: SelfServiceConversation, session: SessionDep
) -> list[PropuestaCiudadana]:
    """This conversation's proposals, or all of its verified Miespacio account's."""
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    if conversation.citizen_id is not None:
        return await participation.proposals_of_citizen(session, conversation.citizen_id)
    return await participation.proposals_of_conversation(session, conversation_id)


# -- pages ---------------------------------------------------------------------------------------


@pages.get("/participacion")
async def public_page() -> FileResponse:
    return FileResponse(DESK_DIR / "participacion-publica.html", media_type="text/html")


@pages.get("/desk/participacion")
async def desk_page() -> FileResponse:
    return FileResponse(DESK_DIR / "participacion.html", media_type="text/html")
