"""Downloading a citizen's file from the desk."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from connectors.attachments import AttachmentStore
from desk_api.deps import CurrentAgent, SessionDep
from desk_api.errors import NotFound
from desk_api.services import attachments

router = APIRouter(prefix="/api/desk/attachments", tags=["desk"])

# A citizen chose these bytes and their declared type: never let a browser render them as a page
# of this site (download only, no sniffing, and no scripts even if opened).
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


@router.get("/{attachment_id}", response_class=FileResponse)
async def download(
    attachment_id: str, agent: CurrentAgent, session: SessionDep, request: Request
) -> FileResponse:
    attachment = await attachments.for_download(session, agent, attachment_id)
    store: AttachmentStore = request.app.state.attachments
    path = store.path(attachment.sha256)
    if not path.is_file():
        raise NotFound("El archivo ya no está disponible en el servidor.")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        content_disposition_type="attachment",
        headers=SAFE_HEADERS,
    )
