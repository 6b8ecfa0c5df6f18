"""Satisfaction (CSAT) reports for the desk, as JSON or as a CSV for Excel, and their page."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from desk_api.deps import CurrentAgent, SessionDep
from desk_api.routes.pages import DESK_DIR
from desk_api.services import csat

router = APIRouter(tags=["reports"])  # one router for the report and its page


class CsatRowOut(BaseModel):
    key: str
    label: str
    asked: int
    answered: int
    response_rate: float | None
    average: float | None
    distribution: dict[str, int]


@router.get(
    "/api/desk/reports/csat",
    response_model=list[CsatRowOut],
    responses={
        200: {"content": {"text/csv": {}}, "description": "Rows, or a CSV with ?format=csv"}
    },
)
async def csat_report(
    agent: CurrentAgent,
    session: SessionDep,
    group: csat.Group = Query(default="agent"),
    start: date | None = Query(default=None, alias="from", description="First day, YYYY-MM-DD"),
    end: date | None = Query(default=None, alias="to", description="Last day, YYYY-MM-DD"),
    format: Literal["json", "csv"] = Query(default="json"),
) -> list[CsatRowOut] | Response:
    """Surveys asked in the period (days in Spain; default: the last 30 days), per agent, unit
    or channel. Admin sees everything, N2 its unit, N1 only its own row (``group=agent``)."""
    period = csat.Period.of(start, end, csat.get_settings().timezone)
    rows = await csat.report(session, agent, group, period)
    if format == "csv":
        filename = f"satisfaccion-{group}-{period.start}-{period.end}.csv"
        return Response(
            csat.as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return [CsatRowOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/desk/satisfaccion", include_in_schema=False)
async def csat_page() -> FileResponse:
    return FileResponse(DESK_DIR / "csat.html", media_type="text/html")
