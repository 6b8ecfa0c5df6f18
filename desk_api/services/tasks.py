"""Desk work that is not a live conversation: callbacks to make after a voicemail left out of
hours. N1 (and administrators) make them; each one is closed once, with its outcome."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import ChannelIdentity, DeskTask
from desk_api.errors import Conflict, Forbidden, NotFound
from desk_api.models import Agent, utcnow
from desk_api.schemas import AgentRef, TaskOut
from desk_api.services.transcript import audit

CALLBACK = "callback"
OPEN, DONE = "open", "done"
STATUSES = (OPEN, DONE)
LIST_LIMIT = 200
MADRID = ZoneInfo("Europe/Madrid")  # a callback is due on a Spanish day, not a UTC one

_TaskRows = Select[DeskTask, ChannelIdentity, Agent]  # identity and agent may be None


def create_callback(
    session: AsyncSession,
    *,
    conversation_id: str,
    identity_id: int | None,
    due_on: date,
    details: dict[str, Any],
) -> DeskTask:
    """Add a callback to make (the caller's voicemail: recording url, transcription, duration)
    and its audit entry; the caller commits."""
    task = DeskTask(
        kind=CALLBACK,
        status=OPEN,
        conversation_id=conversation_id,
        identity_id=identity_id,
        due_on=due_on,
        details=dict(details),
        created_at=utcnow(),
    )
    session.add(task)
    audit(
        session,
        "task.created",
        conversation_id=conversation_id,
        actor_type="system",
        details={
            "kind": CALLBACK,
            "due_on": due_on.isoformat(),
            "recording_sid": details.get("recording_sid"),
        },
    )
    return task


def require_desk_n1(agent: Agent) -> None:
    if agent.role not in ("n1", "admin"):
        raise Forbidden("Las llamadas pendientes las atiende el nivel N1.")


async def list_tasks(
    session: AsyncSession, agent: Agent, status: str, *, now: datetime | None = None
) -> list[TaskOut]:
    """Callbacks with ``status``, the soonest due first."""
    require_desk_n1(agent)
    query = (
        _with_identity()
        .where(DeskTask.status == status)
        .order_by(DeskTask.due_on, DeskTask.id)
        .limit(LIST_LIMIT)
    )
    return await _out(session, query, now)


async def of_conversations(session: AsyncSession, conversation_ids: list[str]) -> list[TaskOut]:
    """The tasks of these conversations, newest first (the citizen's history)."""
    if not conversation_ids:
        return []
    query = (
        _with_identity()
        .where(DeskTask.conversation_id.in_(conversation_ids))
        .order_by(DeskTask.created_at.desc(), DeskTask.id.desc())
    )
    return await _out(session, query, None)


async def complete(session: AsyncSession, agent: Agent, task_id: int, outcome: str) -> TaskOut:
    """Mark a callback done with what came of it. Atomic: if two informers close the same one,
    the second learns who did; the same informer closing it again changes nothing."""
    require_desk_n1(agent)
    task = await session.get(DeskTask, task_id)
    if task is None:
        raise NotFound("No existe esa tarea.")
    if task.status == OPEN:
        now = utcnow()
        result = await session.execute(
            update(DeskTask)
            .where(DeskTask.id == task_id, DeskTask.status == OPEN)
            .values(status=DONE, outcome=outcome, done_by_agent_id=agent.id, done_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            audit(
                session,
                "task.done",
                conversation_id=task.conversation_id,
                actor_type="agent",
                actor_id=agent.id,
                details={"task_id": task.id, "kind": task.kind, "outcome": outcome},
            )
            await session.commit()
        await session.refresh(task)
    if task.done_by_agent_id != agent.id:
        raise Conflict("Otra persona ya ha marcado esta llamada como hecha.")
    shown = await _out(session, _with_identity().where(DeskTask.id == task_id), None)
    return shown[0]


def _with_identity() -> _TaskRows:
    return (
        select(DeskTask, ChannelIdentity, Agent)
        .outerjoin(ChannelIdentity, ChannelIdentity.id == DeskTask.identity_id)
        .outerjoin(Agent, Agent.id == DeskTask.done_by_agent_id)
    )


async def _out(
    session: AsyncSession,
    query: _TaskRows,
    now: datetime | None,
) -> list[TaskOut]:
    today = (now or utcnow()).astimezone(MADRID).date()
    rows = (await session.execute(query)).unique().all()
    return [task_out(task, identity, done_by, today) for task, identity, done_by in rows]


def task_out(
    task: DeskTask, identity: ChannelIdentity | None, done_by: Agent | None, today: date
) -> TaskOut:
    details = task.details or {}
    phone = _phone(identity.address) if identity is not None else None
    duration = str(details.get("duration") or "")
    return TaskOut(
        id=task.id,
        kind=task.kind,
        status=task.status,
        conversation_id=task.conversation_id,
        due_on=task.due_on,
        overdue=task.status == OPEN and task.due_on < today,
        channel=identity.channel if identity is not None else None,
        phone=phone.e164 if phone else None,
        phone_display=phone.display if phone else None,
        recording_url=_text(details.get("recording_url")),
        transcription=_text(details.get("transcription")),
        duration_seconds=int(duration) if duration.isdigit() else None,
        outcome=task.outcome,
        done_by=AgentRef(id=done_by.id, full_name=done_by.full_name) if done_by else None,
        done_at=task.done_at,
        created_at=task.created_at,
    )


class _Phone:
    def __init__(self, e164: str, display: str) -> None:
        self.e164, self.display = e164, display


def _phone(address: str) -> _Phone | None:
    """The identity's address as a phone number, if it is one (voice: E.164; WhatsApp:
    ``whatsapp:+34…``)."""
    raw = address.removeprefix("whatsapp:").removeprefix("tel:").strip()
    try:
        number = phonenumbers.parse(raw, "ES")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 34
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return _Phone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, style),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
