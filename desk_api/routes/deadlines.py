"""Deadlines (plazos): a conversation's, the supervisors' escalations, the report and its page."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response

from desk_api.deadline_schemas import AlertOut, DeadlineOut, DeadlineReportRow
from desk_api.deps import CurrentAgent, HubDep, RowId, SessionDep
from desk_api.routes.pages import DESK_DIR
from desk_api.services import csat, deadlines
from desk_api.services.calendar import get_settings

router = APIRouter(tags=["deadlines"])


@router.get("/api/desk/conversations/{conversation_id}/deadline", response_model=DeadlineOut)
async def conversation_deadline(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> DeadlineOut:
    return await deadlines.conversation_deadline(session, agent, conversation_id)


@router.get("/api/desk/deadlines/escalations", response_model=list[AlertOut])
async def escalations(
    agent: CurrentAgent,
    session: SessionDep,
    include_acknowledged: bool = Query(default=False, alias="all"),
) -> list[AlertOut]:
    """Breached deadlines escalated to the supervisors (supervisor role only), newest first."""
    return await deadlines.escalations(session, agent, include_acknowledged)


@router.post("/api/desk/deadlines/escalations/{alert_id}/acknowledge", response_model=AlertOut)
async def acknowledge(
    alert_id: RowId, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> AlertOut:
    return await deadlines.acknowledge(session, hub, agent, alert_id)


@router.get(
    "/api/desk/reports/deadlines",
    response_model=list[DeadlineReportRow],
    responses={
        200: {"content": {"text/csv": {}}, "description": "Rows, or a CSV with ?format=csv"}
    },
)
async def deadlines_report(
    agent: CurrentAgent,
    session: SessionDep,
    group: deadlines.ReportGroup = Query(default="unit"),
    start: date | None = Query(default=None, alias="from", description="First day, YYYY-MM-DD"),
    end: date | None = Query(default=None, alias="to", description="Last day, YYYY-MM-DD"),
    format: Literal["json", "csv"] = Query(default="json"),
) -> list[DeadlineReportRow] | Response:
    """Attentions started in the period (days in Spain; default the last 30 days): on-time
    rate, breaches, mean first answer in business hours; per unit, tier or channel."""
    timezone = get_settings().timezone
    period = csat.Period.of(start, end, timezone)
    first, after = period.bounds(timezone)
    rows = await deadlines.report(session, agent, group, first, after)
    if format == "csv":
        filename = f"plazos-{group}-{period.start}-{period.end}.csv"
        return Response(
            deadlines.as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return rows


@router.get("/desk/plazos", include_in_schema=False)
async def deadlines_page() -> FileResponse:
    return FileResponse(DESK_DIR / "deadlines.html", media_type="text/html")
