"""The accuracy report for analysts, content teams, supervisors and administrators: JSON, a
standalone HTML file, a PDF, and the desk's «Informes» page that shows it."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, HTMLResponse, Response

from desk_api.deps import SessionDep, agent_with_role
from desk_api.models import Agent
from desk_api.reports import pdf, render, service
from desk_api.reports.filters import ReportFilters
from desk_api.routes.pages import DESK_DIR

router = APIRouter(tags=["reports"])
Reader = Annotated[Agent, Depends(agent_with_role("analista", "contenidos", "supervisor", "admin"))]


def filters(
    start: date | None = Query(default=None, alias="from", description="First day, YYYY-MM-DD"),
    end: date | None = Query(default=None, alias="to", description="Last day, YYYY-MM-DD"),
    channel: str | None = Query(default=None, max_length=32, description="webchat, whatsapp…"),
    intent: str | None = Query(default=None, max_length=64, description="An intent name"),
) -> ReportFilters:
    """Days in Spain; default: the last 30 days. Unknown channels or intents: 422 in Spanish."""
    return ReportFilters.of(start, end, channel, intent)


Filters = Annotated[ReportFilters, Depends(filters)]


@router.get("/api/desk/reports/accuracy")
async def accuracy_report(_agent: Reader, session: SessionDep, chosen: Filters) -> dict[str, Any]:
    """The numbers of the report (the same JSON as `tuatencion report accuracy --json`)."""
    return await service.build(session, chosen)


@router.get(
    "/api/desk/reports/accuracy.html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
)
async def accuracy_report_html(
    _agent: Reader,
    session: SessionDep,
    chosen: Filters,
    fragment: bool = Query(default=False, description="Only the report, for the desk's page"),
) -> HTMLResponse:
    """A standalone HTML file (no external asset) to download, or the fragment the page shows."""
    report = await service.build(session, chosen)
    page = await asyncio.to_thread(render.html, report, not fragment)
    headers = (
        {}
        if fragment
        else {"Content-Disposition": f'attachment; filename="{render.filename(report, "html")}"'}
    )
    return HTMLResponse(page, headers=headers)


@router.get(
    "/api/desk/reports/accuracy.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def accuracy_report_pdf(_agent: Reader, session: SessionDep, chosen: Filters) -> Response:
    report = await service.build(session, chosen)
    data = await asyncio.to_thread(pdf.pdf, report)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{render.filename(report, "pdf")}"'},
    )


@router.get("/desk/informes", include_in_schema=False)
async def accuracy_page() -> FileResponse:
    return FileResponse(DESK_DIR / "informes.html", media_type="text/html")
