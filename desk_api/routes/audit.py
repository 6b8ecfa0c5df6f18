"""The audit log for supervisors and administrators: pages, exports and the page to read them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from desk_api.deps import MAX_ROW_ID, CurrentAgent, SessionDep
from desk_api.routes.pages import DESK_DIR
from desk_api.schemas import AuditOut
from desk_api.services import audit_log
from desk_api.services.audit_log import AuditFilter

router = APIRouter(tags=["audit"])

UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


class AuditEntryOut(AuditOut):
    actor_username: str | None


def audit_filter(
    conversation: str | None = Query(default=None, max_length=36, description="Conversation id"),
    agent: str | None = Query(default=None, max_length=64, description="Agent's username"),
    action: str | None = Query(default=None, max_length=32, description="e.g. derive, take"),
    start: date | None = Query(default=None, alias="from", description="First day, YYYY-MM-DD"),
    end: date | None = Query(default=None, alias="to", description="Last day, YYYY-MM-DD"),
) -> AuditFilter:
    return AuditFilter(conversation or None, agent, action or None, start, end)


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/api/desk/audit", response_model=list[AuditEntryOut])
async def audit_page(
    agent: CurrentAgent,
    session: SessionDep,
    filters: FilterDep,
    response: Response,
    before: int | None = Query(default=None, ge=1, le=MAX_ROW_ID, description="X-Next-Cursor"),
    limit: int = Query(default=audit_log.DEFAULT_LIMIT, ge=1, le=audit_log.MAX_LIMIT),
) -> list[AuditEntryOut]:
    """Newest first (days in Spain); the next page's cursor comes in ``X-Next-Cursor``."""
    rows, cursor = await audit_log.page(session, agent, filters, before, limit)
    if cursor is not None:
        response.headers["X-Next-Cursor"] = str(cursor)
    return [
        AuditEntryOut.model_validate({**audit_log.as_dict(r), "actor_username": r.actor_username})
        for r in rows
    ]


@router.get(
    "/api/desk/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA["csv"]: {}, MEDIA["jsonl"]: {}}}},
)
async def audit_export(
    request: Request,
    agent: CurrentAgent,
    session: SessionDep,
    filters: FilterDep,
    format: audit_log.Format = Query(default="csv"),
) -> StreamingResponse:
    """Oldest first, streamed; needs a conversation or a period (at most a year). The export
    is itself recorded in the log (``audit.exported``, with its filters), and holds the log as
    it was just before that record."""
    export_id = await audit_log.start_export(session, agent, filters, format)
    sessions: Any = request.app.state.sessions

    async def body() -> AsyncIterator[bytes]:
        async with sessions() as export_session:
            async for chunk in audit_log.export_chunks(export_session, filters, format, export_id):
                yield chunk

    described = "-".join(["auditoria", *(str(v) for v in filters.described().values())])
    name = UNSAFE_IN_FILENAME.sub("_", described)[:120]  # a header: ASCII, no quotes nor controls
    return StreamingResponse(
        body(),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


@router.get("/desk/auditoria", include_in_schema=False)
async def audit_html() -> FileResponse:
    return FileResponse(DESK_DIR / "audit.html", media_type="text/html")
