"""The audit log for inspection: query it by conversation, agent, action and date, and export
it (CSV for Excel, JSON Lines for tools). The table itself is append-only (database triggers,
migration 0001); reading it is for supervisors and administrators, and every export is audited
in turn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import Forbidden, InvalidInput, NotFound
from desk_api.models import Agent, AuditEvent, as_utc
from desk_api.services import spreadsheet
from desk_api.services.spreadsheet import Period
from desk_api.services.supervision import can_supervise
from desk_api.services.transcript import audit

TIMEZONE = "Europe/Madrid"  # the days of a period are days in Spain
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
EXPORT_BATCH = 1000
MAX_EXPORT_DAYS = 366
Format = Literal["csv", "jsonl"]
CSV_HEADER = [
    "Id", "Fecha (UTC)", "Acción", "Tipo de actor", "Actor", "Usuario del actor",
    "Conversación", "Detalles (JSON)",
]  # fmt: skip


@dataclass(frozen=True)
class AuditFilter:
    conversation_id: str | None = None
    agent_username: str | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None

    async def conditions(self, session: AsyncSession) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.conversation_id:
            found.append(AuditEvent.conversation_id == self.conversation_id)
        if self.agent_username:
            actor = await session.scalar(
                select(Agent.id).where(Agent.username == self.agent_username)
            )
            if actor is None:
                raise NotFound(f"No existe el agente «{self.agent_username}».")
            found += [AuditEvent.actor_type == "agent", AuditEvent.actor_id == str(actor)]
        if self.action:
            found.append(AuditEvent.action == self.action)
        if self.start or self.end:
            first, after = Period.of(self.start, self.end, TIMEZONE).bounds(TIMEZONE)
            found += [AuditEvent.created_at >= first, AuditEvent.created_at < after]
        return found

    def described(self) -> dict[str, Any]:
        """The filter as audited with an export (ids and dates only: nothing personal)."""
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in vars(self).items()
            if v is not None
        }


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_username: str | None


def require_auditor(agent: Agent) -> None:
    if not can_supervise(agent):
        raise Forbidden(
            "Solo la supervisión y la administración pueden consultar el registro de auditoría."
        )


async def _query(session: AsyncSession, filters: AuditFilter) -> Select[AuditEvent, str | None]:
    actor = (AuditEvent.actor_type == "agent") & (AuditEvent.actor_id == cast(Agent.id, String))
    conditions = await filters.conditions(session)
    return select(AuditEvent, Agent.username).outerjoin(Agent, actor).where(*conditions)


async def page(
    session: AsyncSession, agent: Agent, filters: AuditFilter, before: int | None, limit: int
) -> tuple[list[AuditRow], int | None]:
    """Newest first; the next page's cursor is the last row's id when there are more."""
    require_auditor(agent)
    query = (await _query(session, filters)).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = [AuditRow(event, username) for event, username in (await session.execute(query)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].event.id if more and rows else None)


async def start_export(
    session: AsyncSession, agent: Agent, filters: AuditFilter, format_: Format
) -> int:
    """Check and record an export before it streams (the record is part of the log); returns
    the record's id: the export holds the log as it was just before it."""
    require_auditor(agent)
    await filters.conditions(session)  # an unknown agent is refused before streaming starts
    if not (filters.conversation_id or filters.start or filters.end):
        raise InvalidInput(
            "Indique una conversación o un periodo (desde/hasta) para exportar el registro."
        )
    if filters.start or filters.end:
        period = Period.of(filters.start, filters.end, TIMEZONE)
        if (period.end - period.start).days >= MAX_EXPORT_DAYS:
            raise InvalidInput(f"Exporte como máximo {MAX_EXPORT_DAYS} días de registro cada vez.")
    record = audit(
        session,
        "audit.exported",
        conversation_id=filters.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"format": format_, "filters": filters.described()},
    )
    await session.commit()
    return record.id


async def rows_for_export(
    session: AsyncSession, filters: AuditFilter, before: int
) -> AsyncIterator[AuditRow]:
    """Oldest first, up to the row ``before`` (excluded), in batches by id: a large export never
    holds the whole log in memory, and rows written while it streams are not in it."""
    after = 0
    base = (await _query(session, filters)).where(AuditEvent.id < before)
    while True:
        query = base.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(EXPORT_BATCH)
        batch = (await session.execute(query)).all()
        for event, username in batch:
            yield AuditRow(event, username)
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1][0].id
        session.expunge_all()


def as_dict(row: AuditRow) -> dict[str, Any]:
    e = row.event
    return {
        "id": e.id,
        "created_at": as_utc(e.created_at).isoformat(),
        "action": e.action,
        "actor_type": e.actor_type,
        "actor_id": e.actor_id,
        "actor_username": row.actor_username,
        "conversation_id": e.conversation_id,
        "details": e.details,
    }


async def export_chunks(
    session: AsyncSession, filters: AuditFilter, format_: Format, before: int
) -> AsyncIterator[bytes]:
    """The export's bytes, a batch at a time."""
    if format_ == "csv":
        yield spreadsheet.csv_lines([], CSV_HEADER).encode("utf-8")
    lines: list[str] = []
    async for row in rows_for_export(session, filters, before):
        record = as_dict(row)
        if format_ == "jsonl":
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            details = json.dumps(record["details"], ensure_ascii=False) if row.event.details else ""
            lines.append(spreadsheet.csv_lines([[*list(record.values())[:-1], details]]))
        if len(lines) >= EXPORT_BATCH:
            yield "".join(lines).encode("utf-8")
            lines = []
    if lines:
        yield "".join(lines).encode("utf-8")
