"""Legal deadlines of the desk: computed at hand-off (or case registration), paused while
waiting for the citizen, warned before breach and escalated to the supervisors on breach.

- **First answer**: business hours after the hand-off (``TUA_DEADLINES_FIRST_RESPONSE_HOURS``,
  per channel); met by the first agent message (or the resolution).
- **Resolution**: business days after the hand-off day, due at the closing time of the last one
  (conversations), or the legal period of a complaint/suggestion (to the end of its last day).
- **Pause**: while the last message is the agent's (the inbox's ``waiting`` view) the clock
  stops; when the citizen writes (or the desk writes a notice: a derivation, a case) it resumes
  and the due times move by the business time paused. Derivation to N2 keeps the deadlines.
- **Alerts**: ``check`` (run by ``DeadlineWorker`` in the app's lifespan) records each warning
  and breach once per deadline, cycle and target (a unique constraint, inserts that do nothing on
  conflict: two workers never duplicate one), audits it and pushes it live.

The hooks (``start_conversation``, ``on_message``, ``on_resolved``, ``start_case``,
``on_case_done``) only ``add``/``flush``: the caller's transaction commits them.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, DateTime, and_, exists, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk_api.deadline_models import Deadline, DeadlineAlert
from desk_api.deadline_schemas import STATE_TEXTS, AlertOut, DeadlineOut, DeadlineReportRow
from desk_api.errors import Forbidden, InvalidInput, NotFound
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation, Unit, as_utc, utcnow
from desk_api.schemas import ConversationSummary
from desk_api.selfservice.models import Case
from desk_api.services.calendar import ServiceCalendar, get_calendar
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

FIRST, RESOLUTION = "first_response", "resolution"
WARNING, BREACH = "warning", "breach"
FILTERS = ("breached", "due_soon")
CHECK_BATCH = 500
ESCALATION_LIMIT = 200
SUPERVISOR = "supervisor"
ReportGroup = Literal["unit", "tier", "channel"]


# -- computing -----------------------------------------------------------------------------------


def _times(
    cal: ServiceCalendar, channel: str, office: str | None, start: datetime, allowed: float
) -> tuple[datetime, datetime]:
    """(due, warn_at) ``allowed`` business seconds after ``start``."""
    hours = cal.hours(channel)
    ratio = cal.settings.warn_ratio
    return (
        hours.add_business_time(start, allowed, office),
        hours.add_business_time(start, allowed * ratio, office),
    )


def _warn_before(
    cal: ServiceCalendar, channel: str, office: str | None, start: datetime, due: datetime
) -> datetime:
    hours = cal.hours(channel)
    allowed = hours.business_seconds(start, due, office)
    return hours.add_business_time(start, allowed * cal.settings.warn_ratio, office)


async def _of_conversation(session: AsyncSession, conversation_id: str) -> Deadline | None:
    return await session.scalar(select(Deadline).where(Deadline.conversation_id == conversation_id))


async def start_conversation(
    session: AsyncSession,
    conversation: Conversation,
    now: datetime | None = None,
    office: str | None = None,
) -> Deadline:
    """The clock of a hand-off (again from zero if the conversation had been handed off before)."""
    cal = get_calendar()
    now = now or utcnow()
    office = office or cal.settings.default_office
    channel = conversation.channel
    first_due, first_warn = _times(
        cal, channel, office, now, cal.settings.first_response_seconds(channel)
    )
    hours = cal.hours(channel)
    resolution_due = hours.close_after_open_days(
        now, cal.settings.resolution_days_for(channel), office
    )
    deadline = await _of_conversation(session, conversation.id)
    if deadline is None:
        deadline = Deadline(conversation_id=conversation.id, cycle=1)
        session.add(deadline)
    else:
        deadline.cycle += 1
    deadline.channel, deadline.office_code, deadline.started_at = channel, office, now
    deadline.first_response_due, deadline.first_response_warn_at = first_due, first_warn
    deadline.first_response_at = deadline.first_response_seconds = None
    deadline.resolution_due = resolution_due
    deadline.resolution_warn_at = _warn_before(cal, channel, office, now, resolution_due)
    deadline.resolved_at = deadline.paused_since = None
    deadline.paused_seconds, deadline.updated_at = 0, now
    await session.flush()
    return deadline


async def start_attention(
    session: AsyncSession,
    conversation: Conversation,
    office: str | None,
    outcome: str,
    now: datetime,
) -> Deadline:
    """An in-person attention at ``office`` (its local holidays apply): answered there and then;
    closed at once unless its outcome is ``pendiente`` (the citizen awaits an answer)."""
    deadline = await start_conversation(session, conversation, now, office)
    _first_response(deadline, now)
    if outcome != "pendiente":
        _close(deadline, now)
    await session.flush()
    return deadline


async def start_case(session: AsyncSession, case: Case, now: datetime | None = None) -> Deadline:
    """A complaint or suggestion: first action in business hours, resolution by the end of the
    legal period's last day (``case.deadline``, Madrid time)."""
    cal = get_calendar()
    now = now or utcnow()
    office = cal.settings.default_office
    first_due, first_warn = _times(
        cal, case.channel, office, now, cal.settings.case_first_response_hours * 3600
    )
    zone = ZoneInfo(cal.settings.timezone)
    end_of_day = datetime.combine(case.deadline + timedelta(days=1), time(0), tzinfo=zone)
    resolution_due = end_of_day.astimezone(UTC)
    deadline = Deadline(
        case_id=case.id,
        channel=case.channel,
        office_code=office,
        cycle=1,
        started_at=now,
        first_response_due=first_due,
        first_response_warn_at=first_warn,
        resolution_due=resolution_due,
        resolution_warn_at=_warn_before(cal, case.channel, office, now, resolution_due),
        paused_seconds=0,
        updated_at=now,
    )
    session.add(deadline)
    await session.flush()
    return deadline


async def on_message(
    session: AsyncSession, conversation_id: str, sender: str, now: datetime | None = None
) -> None:
    """An agent's message answers and pauses the clock; the citizen's (or a desk notice)
    resumes it, moving the due times by the business time paused."""
    if sender == "bot":
        return
    now = now or utcnow()
    query = select(Deadline).where(
        Deadline.conversation_id == conversation_id, Deadline.resolved_at.is_(None)
    )
    if sender != "agent":
        query = query.where(Deadline.paused_since.is_not(None))
    deadline = await session.scalar(query)
    if deadline is None:
        return
    if sender == "agent":
        _first_response(deadline, now)
        if deadline.paused_since is None:
            deadline.paused_since = now
    else:
        _resume(deadline, now)
    deadline.updated_at = now
    await session.flush()


async def on_resolved(
    session: AsyncSession, conversation_id: str, now: datetime | None = None
) -> None:
    """The attention ended: the clock stops for good (the resolution answers, if nobody had)."""
    now = now or utcnow()
    deadline = await session.scalar(
        select(Deadline).where(
            Deadline.conversation_id == conversation_id, Deadline.resolved_at.is_(None)
        )
    )
    if deadline is not None:
        _close(deadline, now)
        await session.flush()


async def on_case_done(session: AsyncSession, case: Case, now: datetime | None = None) -> None:
    """A case answered or closed: its deadlines are met (or missed) now."""
    now = now or utcnow()
    deadline = await session.scalar(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.resolved_at.is_(None))
    )
    if deadline is not None:
        _close(deadline, now)
        await session.flush()


def _first_response(deadline: Deadline, now: datetime) -> None:
    if deadline.first_response_at is None:
        hours = get_calendar().hours(deadline.channel)
        deadline.first_response_at = now
        deadline.first_response_seconds = hours.business_seconds(
            as_utc(deadline.started_at), now, deadline.office_code
        )


def _resume(deadline: Deadline, now: datetime) -> None:
    if deadline.paused_since is None:
        return
    hours = get_calendar().hours(deadline.channel)
    paused = hours.business_seconds(as_utc(deadline.paused_since), now, deadline.office_code)
    deadline.paused_since = None
    if paused <= 0:
        return
    deadline.paused_seconds += paused
    office = deadline.office_code
    deadline.resolution_due = hours.add_business_time(
        as_utc(deadline.resolution_due), paused, office
    )
    deadline.resolution_warn_at = hours.add_business_time(
        as_utc(deadline.resolution_warn_at), paused, office
    )
    if deadline.first_response_at is None:  # a notice before any answer: not a pause of it
        deadline.first_response_due = hours.add_business_time(
            as_utc(deadline.first_response_due), paused, office
        )
        deadline.first_response_warn_at = hours.add_business_time(
            as_utc(deadline.first_response_warn_at), paused, office
        )


def _close(deadline: Deadline, now: datetime) -> None:
    if deadline.paused_since is not None:  # the wait counts as paused, nothing moves any more
        hours = get_calendar().hours(deadline.channel)
        deadline.paused_seconds += hours.business_seconds(
            as_utc(deadline.paused_since), now, deadline.office_code
        )
        deadline.paused_since = None
    _first_response(deadline, now)
    deadline.resolved_at = deadline.updated_at = now


# -- reading -------------------------------------------------------------------------------------


def view(deadline: Deadline, now: datetime | None = None) -> DeadlineOut:
    """Where a deadline stands at ``now``."""
    now = now or utcnow()
    first_due, resolution_due = as_utc(deadline.first_response_due), as_utc(deadline.resolution_due)
    first_at = as_utc(deadline.first_response_at) if deadline.first_response_at else None
    resolved_at = as_utc(deadline.resolved_at) if deadline.resolved_at else None
    paused_since = as_utc(deadline.paused_since) if deadline.paused_since else None
    clock = paused_since or now  # a paused clock stands still
    target, due = (FIRST, first_due) if first_at is None else (RESOLUTION, resolution_due)
    hours = get_calendar().hours(deadline.channel)
    office = deadline.office_code
    if resolved_at is not None:
        on_time = resolved_at <= resolution_due and first_at is not None and first_at <= first_due
        state = "cumplido" if on_time else "incumplido"
        target, due, left = RESOLUTION, resolution_due, 0
    else:
        left = hours.business_seconds(clock, due, office) - hours.business_seconds(
            due, clock, office
        )
        overdue = resolution_due <= clock or (first_at is None and first_due <= clock)
        if overdue:
            state = "vencido"
            if resolution_due <= clock:
                target, due = RESOLUTION, resolution_due
                left = -hours.business_seconds(due, clock, office)
        elif paused_since is not None:
            state = "pausado"
        elif as_utc(deadline.resolution_warn_at) <= clock or (
            first_at is None and as_utc(deadline.first_response_warn_at) <= clock
        ):
            state = "proximo"
        else:
            state = "en_plazo"
    return DeadlineOut(
        state=state,  # type: ignore[arg-type]
        text=STATE_TEXTS[state],
        target=target,  # type: ignore[arg-type]
        due_at=due,
        business_seconds_left=left,
        started_at=as_utc(deadline.started_at),
        first_response_due=first_due,
        first_response_at=first_at,
        resolution_due=resolution_due,
        resolved_at=resolved_at,
        paused=paused_since is not None,
        paused_seconds=deadline.paused_seconds,
        office_code=office,
    )


async def deadline_of(
    session: AsyncSession, subject: Conversation | Case, now: datetime | None = None
) -> DeadlineOut | None:
    """The deadlines of a conversation or a case (None: never handed off / none recorded).

    For Miespacio too: it says nothing a citizen may not see about their own request."""
    column = Deadline.case_id if isinstance(subject, Case) else Deadline.conversation_id
    deadline = await session.scalar(select(Deadline).where(column == subject.id))
    return None if deadline is None else view(deadline, now)


async def of_conversations(
    session: AsyncSession, ids: Iterable[str], now: datetime | None = None
) -> dict[str, DeadlineOut]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Deadline).where(Deadline.conversation_id.in_(wanted)))
    return {d.conversation_id: view(d, now) for d in rows if d.conversation_id is not None}


async def annotate(
    session: AsyncSession, summaries: list[Any], now: datetime | None = None
) -> None:
    """Fill ``deadline`` on conversation summaries (the inbox's page, the detail)."""
    found = await of_conversations(session, [s.id for s in summaries], now)
    for summary in summaries:
        summary.deadline = found.get(summary.id)


async def conversation_deadline(
    session: AsyncSession, agent: Agent, conversation_id: str
) -> DeadlineOut:
    from desk_api.services import desk  # desk's hooks import this module

    conversation = await desk.get_visible(session, agent, conversation_id)
    found = await deadline_of(session, conversation)
    if found is None:
        raise NotFound("Esta conversación no tiene plazos: no ha pasado al equipo de atención.")
    return found


def inbox_filter(kind: str, now: datetime | None = None) -> ColumnElement[bool]:
    """``deadline=breached|due_soon`` for the inbox: open deadlines overdue, or warned."""
    if kind not in FILTERS:
        raise InvalidInput(f"Filtro de plazo desconocido: «{kind}». Use {', '.join(FILTERS)}.")
    clock = func_coalesce(Deadline.paused_since, now or utcnow())
    breached = or_(
        Deadline.resolution_due <= clock,
        and_(Deadline.first_response_at.is_(None), Deadline.first_response_due <= clock),
    )
    condition: ColumnElement[bool] = breached
    if kind == "due_soon":
        warned = or_(
            Deadline.resolution_warn_at <= clock,
            and_(Deadline.first_response_at.is_(None), Deadline.first_response_warn_at <= clock),
        )
        condition = and_(warned, not_(breached))
    return exists().where(
        Deadline.conversation_id == Conversation.id, Deadline.resolved_at.is_(None), condition
    )


def func_coalesce(column: Any, now: datetime) -> Any:
    from sqlalchemy import func

    return func.coalesce(column, literal(now, DateTime(timezone=True)))


# -- warnings and escalations ------------------------------------------------------------------


@dataclass
class Raised:
    alert: DeadlineAlert
    deadline: Deadline
    conversation: Conversation | None
    case: Case | None
    unit_code: str | None


async def check(session: AsyncSession, hub: LiveHub | None, now: datetime | None = None) -> int:
    """Record, audit and push every warning and breach due at ``now`` that is not recorded yet;
    returns how many this call recorded (another worker's are not counted, nor repeated)."""
    now = now or utcnow()
    clock = literal(now, DateTime(timezone=True))

    def recorded(target: str, *kinds: str) -> ColumnElement[bool]:
        return exists().where(
            DeadlineAlert.deadline_id == Deadline.id,
            DeadlineAlert.cycle == Deadline.cycle,
            DeadlineAlert.target == target,
            DeadlineAlert.kind.in_(kinds),
        )

    first_open = Deadline.first_response_at.is_(None)
    # Only clocks with an alert due and not recorded yet: a backlog of old breaches never
    # hides the new ones behind the batch limit.
    needs_alert = or_(
        and_(
            first_open, Deadline.first_response_warn_at <= clock, ~recorded(FIRST, WARNING, BREACH)
        ),
        and_(first_open, Deadline.first_response_due <= clock, ~recorded(FIRST, BREACH)),
        and_(Deadline.resolution_warn_at <= clock, ~recorded(RESOLUTION, WARNING, BREACH)),
        and_(Deadline.resolution_due <= clock, ~recorded(RESOLUTION, BREACH)),
    )
    candidates = list(
        await session.scalars(
            select(Deadline)
            .where(Deadline.resolved_at.is_(None), Deadline.paused_since.is_(None), needs_alert)
            .order_by(Deadline.id)
            .limit(CHECK_BATCH)
        )
    )
    raised: list[Raised] = []
    for deadline in candidates:
        conversation = case = None
        if deadline.conversation_id is not None:
            conversation = await session.get(Conversation, deadline.conversation_id)
        if deadline.case_id is not None:
            case = await session.get(Case, deadline.case_id)
        for target, due, warn in _targets(deadline):
            if warn > now:
                continue
            kind = BREACH if due <= now else WARNING
            alert = await _record_once(
                session, deadline, conversation, case, kind, target, due, now
            )
            if alert is not None:
                unit = conversation.unit if conversation is not None else None
                unit_code = unit.code if unit else (case.unit.code if case and case.unit else None)
                raised.append(Raised(alert, deadline, conversation, case, unit_code))
    await session.commit()
    for item in raised:
        logger.info(
            "deadline.%s",
            item.alert.kind,
            extra={"alert_id": item.alert.id, "conversation_id": item.alert.conversation_id},
        )
        if hub is not None:
            _publish(hub, item, now)
    return len(raised)


def _targets(deadline: Deadline) -> list[tuple[str, datetime, datetime]]:
    found = []
    if deadline.first_response_at is None:
        found.append(
            (FIRST, as_utc(deadline.first_response_due), as_utc(deadline.first_response_warn_at))
        )
    found.append((RESOLUTION, as_utc(deadline.resolution_due), as_utc(deadline.resolution_warn_at)))
    return found


async def _record_once(
    session: AsyncSession,
    deadline: Deadline,
    conversation: Conversation | None,
    case: Case | None,
    kind: str,
    target: str,
    due: datetime,
    now: datetime,
) -> DeadlineAlert | None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "deadline_id": deadline.id,
        "cycle": deadline.cycle,
        "kind": kind,
        "target": target,
        "conversation_id": deadline.conversation_id,
        "case_id": deadline.case_id,
        "agent_id": conversation.assigned_agent_id if conversation is not None else None,
        "unit_id": conversation.unit_id if conversation is not None else (case and case.unit_id),
        "due_at": due,
        "created_at": now,
    }
    statement = (
        insert(DeadlineAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["deadline_id", "cycle", "kind", "target"])
        .returning(DeadlineAlert.id)
    )
    alert_id = (await session.execute(statement)).scalar()
    if alert_id is None:
        return None  # recorded already (by this worker earlier, or by another one)
    audit(
        session,
        f"deadline.{kind}",
        conversation_id=deadline.conversation_id,
        actor_type="system",
        details={
            "alert_id": alert_id,
            "target": target,
            "due_at": due.isoformat(),
            "cycle": deadline.cycle,
            "case_code": case.code if case is not None else None,
        },
    )
    return await session.get(DeadlineAlert, alert_id)


def _alert_out(
    alert: DeadlineAlert,
    channel: str,
    tier: str | None,
    unit_code: str | None,
    case_code: str | None,
) -> AlertOut:
    return AlertOut(
        id=alert.id,
        kind=alert.kind,  # type: ignore[arg-type]
        target=alert.target,  # type: ignore[arg-type]
        conversation_id=alert.conversation_id,
        case_code=case_code,
        channel=channel,
        tier=tier,
        unit_code=unit_code,
        agent_id=alert.agent_id,
        due_at=as_utc(alert.due_at),
        created_at=as_utc(alert.created_at),
        acknowledged_at=as_utc(alert.acknowledged_at) if alert.acknowledged_at else None,
    )


def _publish(hub: LiveHub, item: Raised, now: datetime) -> None:
    conversation, case = item.conversation, item.case
    tier = conversation.tier if conversation is not None else "n2"
    out = _alert_out(
        item.alert, item.deadline.channel, tier, item.unit_code, case.code if case else None
    ).model_dump(mode="json")
    state = view(item.deadline, now).model_dump(mode="json")
    kind = "deadline.breached" if item.alert.kind == BREACH else "deadline.warning"
    if conversation is not None:
        summary = ConversationSummary.of(conversation, None).model_dump(mode="json")
        summary["deadline"] = state
        hub.publish(
            DESK_TOPIC, {"type": kind, "conversation": summary, "alert": out, "deadline": state}
        )
    else:  # a case: its unit (and supervisors, administrators) are told
        hub.publish(
            DESK_TOPIC,
            {"type": kind, "audience": "unit", "unit_code": item.unit_code, "alert": out},
        )
    if item.alert.kind == BREACH:
        hub.publish(
            DESK_TOPIC,
            {"type": "deadline.escalated", "audience": SUPERVISOR, "alert": out, "deadline": state},
        )


def require_supervisor(agent: Agent) -> None:
    if agent.role != SUPERVISOR:
        raise Forbidden("Solo la supervisión ve y atiende las escalaciones por plazo vencido.")


async def escalations(
    session: AsyncSession,
    agent: Agent,
    include_acknowledged: bool = False,
    alert_id: int | None = None,
) -> list[AlertOut]:
    """Breaches escalated to the supervisors, newest first (or the one ``alert_id``)."""
    require_supervisor(agent)
    query = (
        select(DeadlineAlert, Deadline, Conversation, Case, Unit)
        .join(Deadline, Deadline.id == DeadlineAlert.deadline_id)
        .outerjoin(Conversation, Conversation.id == Deadline.conversation_id)
        .outerjoin(Case, Case.id == Deadline.case_id)
        .outerjoin(Unit, Unit.id == DeadlineAlert.unit_id)
        .where(DeadlineAlert.kind == BREACH)
        .order_by(DeadlineAlert.created_at.desc(), DeadlineAlert.id.desc())
        .limit(ESCALATION_LIMIT)
    )
    if not include_acknowledged:
        query = query.where(DeadlineAlert.acknowledged_at.is_(None))
    if alert_id is not None:
        query = query.where(DeadlineAlert.id == alert_id)
    rows = (await session.execute(query)).tuples()
    return [
        _alert_out(
            alert,
            deadline.channel,
            conversation.tier if conversation is not None else "n2",
            unit.code if unit is not None else None,
            case.code if case is not None else None,
        )
        for alert, deadline, conversation, case, unit in rows
    ]


async def acknowledge(session: AsyncSession, hub: LiveHub, agent: Agent, alert_id: int) -> AlertOut:
    """A supervisor took charge of an escalation: it leaves the open list (kept, audited)."""
    require_supervisor(agent)
    alert = await session.get(DeadlineAlert, alert_id)
    if alert is None or alert.kind != BREACH:
        raise NotFound("No existe esa escalación.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_agent_id = utcnow(), agent.id
        audit(
            session,
            "deadline.acknowledge",
            conversation_id=alert.conversation_id,
            actor_type="agent",
            actor_id=agent.id,
            details={"alert_id": alert.id, "target": alert.target},
        )
        await session.commit()
    out = (await escalations(session, agent, True, alert.id))[0]
    hub.publish(
        DESK_TOPIC,
        {
            "type": "deadline.acknowledged",
            "audience": SUPERVISOR,
            "alert": out.model_dump(mode="json"),
        },
    )
    return out


# -- the worker --------------------------------------------------------------------------------


class DeadlineWorker:
    """Runs ``check`` every ``interval`` seconds in the app's lifespan, like the outbox worker."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], hub: LiveHub, interval: float
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="deadline-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        async with self._sessions() as session:
            return await check(session, self._hub)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep checking: one bad row must not stop every warning
                logger.exception("deadline.check_failed")
            await asyncio.sleep(self._interval)


# -- reports -----------------------------------------------------------------------------------


@dataclass
class _Bucket:
    label: str
    total: int = 0
    closed: int = 0
    on_time: int = 0
    breaches: int = 0
    first_seconds: list[int] = field(default_factory=list)


GROUP_LABELS = {"n1": "N1 (informadores)", "n2": "N2 (unidades especializadas)"}


async def report(
    session: AsyncSession,
    agent: Agent,
    group: ReportGroup,
    first: datetime,
    after: datetime,
    now: datetime | None = None,
) -> list[DeadlineReportRow]:
    """Attentions started in [first, after): on-time rate, breaches and mean first answer time
    (business hours), per unit, tier or channel. Supervisors and administrators see everything,
    N2 its unit; N1 has no report."""
    if agent.role == "n1":
        raise Forbidden("Los informes de plazos son para la supervisión y las unidades.")
    now = now or utcnow()
    query = (
        select(Deadline, Conversation, Case)
        .outerjoin(Conversation, Conversation.id == Deadline.conversation_id)
        .outerjoin(Case, Case.id == Deadline.case_id)
        .where(
            Deadline.started_at >= literal(first, DateTime(timezone=True)),
            Deadline.started_at < literal(after, DateTime(timezone=True)),
        )
    )
    if agent.role == "n2":
        query = query.where(
            or_(Conversation.unit_id == agent.unit_id, Case.unit_id == agent.unit_id)
        )
    units = {u.id: u for u in await session.scalars(select(Unit))}
    buckets: dict[str, _Bucket] = {}
    for deadline, conversation, case in (await session.execute(query)).tuples():
        unit_id = (
            conversation.unit_id if conversation is not None else case.unit_id if case else None
        )
        tier = conversation.tier if conversation is not None else "n2"
        if group == "unit":
            unit = units.get(unit_id) if unit_id is not None else None
            key, label = (unit.code, unit.name) if unit else ("", "Sin unidad (N1)")
        elif group == "tier":
            key = tier or ""
            label = GROUP_LABELS.get(key, key or "—")
        else:
            key = label = deadline.channel
        bucket = buckets.setdefault(key, _Bucket(label))
        state = view(deadline, now)
        bucket.total += 1
        late_first = (state.first_response_at or now) > state.first_response_due
        late_resolution = (state.resolved_at or now) > state.resolution_due and (
            state.resolved_at is not None or state.state == "vencido"
        )
        if state.resolved_at is not None:
            bucket.closed += 1
            bucket.on_time += state.state == "cumplido"
        if late_resolution or (
            late_first and (state.first_response_at or state.state == "vencido")
        ):
            bucket.breaches += 1
        if deadline.first_response_seconds is not None:
            bucket.first_seconds.append(deadline.first_response_seconds)
    rows = [
        DeadlineReportRow(
            key=key,
            label=b.label,
            total=b.total,
            closed=b.closed,
            on_time=b.on_time,
            on_time_rate=round(b.on_time / b.closed, 4) if b.closed else None,
            breaches=b.breaches,
            mean_first_response_hours=(
                round(sum(b.first_seconds) / len(b.first_seconds) / 3600, 2)
                if b.first_seconds
                else None
            ),
        )
        for key, b in buckets.items()
    ]
    return sorted(rows, key=lambda r: r.label)


def as_csv(rows: list[DeadlineReportRow]) -> str:
    """Semicolons and decimal commas, with a BOM: what a Spanish Excel opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "Grupo",
            "Atenciones",
            "Cerradas",
            "En plazo",
            "% en plazo",
            "Incumplimientos",
            "Primera respuesta media (horas hábiles)",
        ]
    )
    for row in rows:
        rate = "" if row.on_time_rate is None else f"{row.on_time_rate * 100:.1f}".replace(".", ",")
        mean = (
            ""
            if row.mean_first_response_hours is None
            else f"{row.mean_first_response_hours:.2f}".replace(".", ",")
        )
        writer.writerow([row.label, row.total, row.closed, row.on_time, rate, row.breaches, mean])
    return "\ufeff" + buffer.getvalue()
