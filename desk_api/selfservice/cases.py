"""Complaints and suggestions (quejas y sugerencias) as desk cases, and their status.

A case is registered for the conversation that asks (whatever the channel: they all look the
same in the desk) with a tracking code ``QS-<year>-<6 digits>``, a response deadline in business
days, and the desk unit that handles it. Routing: the desk unit whose code is the DIR3 code of
the responsible unit or of its nearest ancestor in the directory; if none, the configured default
unit ("Unidad de Quejas y Sugerencias"), created on first use.

A tracking code alone reveals nothing: the status needs the same conversation, the verified
Miespacio account that filed it, or a second factor (the DNI/NIE, email or phone given with it);
anything else gets the same neutral "not found" whether the code exists or not.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.es import dni as stdnum_dni
from stdnum.es import nie as stdnum_nie

from connectors import pii, pii_vault
from connectors.gateway import Gateway
from desk_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from desk_api.live import LiveHub
from desk_api.models import Agent, AuditEvent, Conversation, Message, Unit, utcnow
from desk_api.schemas import MessageOut
from desk_api.selfservice import counters
from desk_api.selfservice.business_days import (
    BusinessCalendar,
    CaseSettings,
    add_business_days,
    registration_day,
    spanish_date,
)
from desk_api.selfservice.models import Case, CaseEvent, PiiValue
from desk_api.services import deadlines, desk_events
from desk_api.services.transcript import append_message, audit
from knowledge.directory import Directory

logger = logging.getLogger(__name__)

KINDS = ("queja", "sugerencia")
CONTACT_PREFERENCES = ("email", "telefono", "canal")
STATUSES = ("registrada", "en_tramitacion", "respondida", "cerrada")
MIN_DESCRIPTION = 20
MAX_DESCRIPTION = 4000
MAX_ANSWER = 4000
LIST_LIMIT = 200
CREATE_ATTEMPTS = 10
LOOKUP_FAILED = "case.lookup_failed"

INVALID_DNI = (
    "La letra del DNI no corresponde al número. Revíselo y escríbalo de nuevo, o continúe "
    "sin indicarlo."
)
INVALID_NIE = (
    "La letra del NIE no corresponde al número. Revíselo y escríbalo de nuevo, o continúe "
    "sin indicarlo."
)
NOT_FOUND = (
    "No encontramos ninguna solicitud con ese código y esos datos. Revise el código y el dato "
    "de verificación (el DNI/NIE o el correo que indicó al presentarla)."
)
NOT_VERIFIED = (
    "Para ver la lista de sus solicitudes necesita identificarse en Miespacio. También puede "
    "consultar una solicitud concreta con su código y el DNI/NIE o el correo que indicó."
)
NOT_VISIBLE = "No existe esa queja o sugerencia, o no tiene permiso para verla."
KIND_NAMES = {"queja": "queja", "sugerencia": "sugerencia"}


@dataclass(frozen=True)
class NewCase:
    kind: str  # queja | sugerencia
    description: str
    unit_code: str  # DIR3 code of the unit the case is about
    occurred_on: date | None
    dni_ref: str | None  # "[DNI_1]" / "[NIE_1]" of the asking conversation, or None
    contact_preference: str  # email | telefono | canal
    contact_ref: str | None  # "[EMAIL_1]" / "[TELEFONO_1]" when the preference needs one


@dataclass(frozen=True)
class CaseContext:
    settings: CaseSettings
    calendar: BusinessCalendar

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.settings.timezone)).date()


# -- citizen side (through the bot) -------------------------------------------------------------


async def create(
    session: AsyncSession,
    ctx: CaseContext,
    directory: Directory,
    conversation_id: str,
    new: NewCase,
) -> Case:
    """Register a case for ``conversation_id``: one transaction with its event, audit entry and
    a system line in the conversation's transcript (so the desk sees it there too)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("No existe esa conversación.")
    today = ctx.today()
    kind = _checked_kind(new.kind)
    description = _checked_description(new.description)
    if new.occurred_on is not None and new.occurred_on > today:
        raise InvalidInput("La fecha de los hechos no puede ser posterior a hoy.")
    responsible = directory.get(new.unit_code.strip())
    if responsible is None:
        raise InvalidInput("No encuentro esa unidad en el directorio de la Junta de Extremadura.")
    description = await _unmasked(session, conversation_id, description)
    dni = await _document(session, conversation_id, new.dni_ref)
    preference, contact = await _contact(
        session, conversation_id, new.contact_preference, new.contact_ref
    )
    chain = [responsible.code, *(u.code for u in directory.parents(responsible))]
    registered = registration_day(today, ctx.calendar)
    deadline = add_business_days(registered, ctx.settings.days_for(kind), ctx.calendar)
    # Safety net: a concurrent first use may create the default unit twice, and a code clash
    # must never lose a complaint; the unique constraints refuse the loser, which tries again.
    citizen_id, channel = conversation.citizen_id, conversation.channel  # a rollback expires it
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        handler = await _handling_unit(session, ctx.settings, chain)
        number = await counters.next_value(session, f"cases-{today.year}")
        case = Case(
            code=f"QS-{today.year}-{number:06d}",
            kind=kind,
            status="registrada",
            conversation_id=conversation_id,
            citizen_id=citizen_id,
            channel=channel,
            unit_id=handler.id,
            unit_code=responsible.code,
            unit_name=responsible.name,
            description=description,
            occurred_on=new.occurred_on,
            dni=dni,
            contact_preference=preference,
            contact=contact,
            deadline=deadline,
        )
        try:
            session.add(case)
            await session.flush()
        except IntegrityError:
            await session.rollback()
            if attempt == CREATE_ATTEMPTS:
                raise
            continue
        break
    session.add(CaseEvent(case_id=case.id, kind="registrada", actor_type="citizen"))
    await deadlines.start_case(session, case)
    audit(
        session,
        "case.create",
        conversation_id=conversation_id,
        actor_type="citizen",
        details={
            "code": case.code,
            "kind": kind,
            "unit_code": responsible.code,
            "desk_unit": handler.code,
        },
    )
    await append_message(
        session,
        conversation_id,
        "system",
        f"{kind.capitalize()} {case.code} registrada. Unidad responsable: {responsible.name}. "
        f"Plazo de respuesta: {spanish_date(deadline)}.",
    )
    await session.commit()
    logger.info(
        "case.created",
        extra={"conversation_id": conversation_id, "code": case.code, "unit_code": case.unit_code},
    )
    return case


async def status(
    session: AsyncSession,
    ctx: CaseContext,
    conversation_id: str,
    code: str,
    verification_ref: str | None,
) -> Case:
    """The case with ``code`` if this conversation may see it, else the neutral NotFound."""
    normalised = normalise_code(code)
    if verification_ref:
        _refuse_invalid_document(verification_ref)
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(NOT_FOUND)
    since = utcnow() - timedelta(hours=1)
    failures = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.conversation_id == conversation_id,
            AuditEvent.action == LOOKUP_FAILED,
            AuditEvent.created_at >= since,
        )
    )
    if (failures or 0) >= ctx.settings.max_failed_lookups:
        raise Forbidden(
            "Ha hecho demasiadas consultas sin éxito. Espere una hora o pida hablar con una "
            "persona."
        )
    second_factor = None
    if verification_ref:
        second_factor = await pii_vault.resolve(session, conversation_id, verification_ref)
    case = await session.scalar(select(Case).where(Case.code == normalised))
    if case is not None and _may_see(case, conversation, second_factor):
        return case
    if case is not None and conversation.citizen_id is not None:
        mine = await session.scalar(
            select(Case.id).where(Case.id == case.id, _of_citizen(conversation.citizen_id))
        )
        if mine is not None:
            return case
    audit(session, LOOKUP_FAILED, conversation_id=conversation_id, actor_type="citizen")
    await session.commit()
    logger.info("case.lookup_failed", extra={"conversation_id": conversation_id})
    raise NotFound(NOT_FOUND)


async def cases_of_citizen(session: AsyncSession, conversation_id: str) -> list[Case]:
    """The cases of the verified Miespacio account linked to this conversation, newest first."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.citizen_id is None:
        raise Forbidden(NOT_VERIFIED)
    return list(
        await session.scalars(
            select(Case)
            .where(_of_citizen(conversation.citizen_id))
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def normalise_code(code: str) -> str:
    """``qs 2026 000123`` → ``QS-2026-000123``; a code of another shape is refused."""
    compact = re.sub(r"[\s_.-]+", "", code.upper())
    match = re.fullmatch(r"QS(\d{4})(\d{6})", compact)
    if match is None:
        raise InvalidInput(
            "El código de seguimiento tiene la forma QS-AAAA-NNNNNN (por ejemplo, QS-2026-000123)."
        )
    return f"QS-{match.group(1)}-{match.group(2)}"


# -- desk side ---------------------------------------------------------------------------------


def visible(agent: Agent) -> Select[Case]:
    """N2 agents see their unit's cases; N1 and administrators see all (like conversations)."""
    query = select(Case)
    if agent.role == "n2":
        query = query.where(Case.unit_id == agent.unit_id)
    return query


async def list_for_agent(session: AsyncSession, agent: Agent, status_: str | None) -> list[Case]:
    query = visible(agent)
    if status_ == "pendiente":  # not answered yet, whether or not its answer is in review
        query = query.where(Case.status.in_(("registrada", "en_tramitacion")))
    elif status_ is not None:
        query = query.where(Case.status == status_)
    query = query.order_by(Case.deadline, Case.id)
    return list(await session.scalars(query.limit(LIST_LIMIT)))


async def get_for_agent(session: AsyncSession, agent: Agent, code: str) -> Case:
    try:
        normalised = normalise_code(code)
    except InvalidInput as exc:
        raise NotFound(NOT_VISIBLE) from exc
    case = await session.scalar(visible(agent).where(Case.code == normalised))
    if case is None:
        raise NotFound(NOT_VISIBLE)
    return case


async def events(session: AsyncSession, case: Case) -> list[CaseEvent]:
    return list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )


async def answer(
    session: AsyncSession,
    gateway: Gateway,
    hub: LiveHub,
    agent: Agent,
    code: str,
    text: str,
    settings: CaseSettings | None = None,
) -> Case:
    """Answer a case in one step and tell the citizen in the conversation it came from, on its
    channel — only for kinds whose answer needs no approval (``TUA_CASES_APPROVAL``)."""
    case = await get_for_agent(session, agent, code)
    _require_handler(agent, case)
    text = text.strip()
    if not text:
        raise InvalidInput("La respuesta no puede estar vacía.")
    if settings is not None and settings.needs_approval(case.kind):
        raise Conflict(
            f"La respuesta a una {KIND_NAMES[case.kind]} necesita la aprobación de un "
            "supervisor: redáctela como borrador y envíela a revisión."
        )
    if case.status != "registrada":
        raise Conflict(
            {
                "respondida": "Esta queja o sugerencia ya está respondida o cerrada.",
                "en_tramitacion": "La respuesta a esta queja o sugerencia ya está en "
                "tramitación: continúe desde «Respuesta formal».",
            }.get(case.status, "Esta queja o sugerencia está cerrada.")
        )
    notice = await record_answer(session, case, agent, text)
    await session.commit()
    logger.info("case.answered", extra={"code": case.code, "agent_id": agent.id})
    await publish_answer(session, gateway, hub, notice)
    return case


async def record_answer(
    session: AsyncSession, case: Case, agent: Agent, text: str, now: datetime | None = None
) -> Message | None:
    """The case answered (status, event, audit, deadline) and the notice in its conversation's
    transcript, in the caller's transaction; hand the notice to ``publish_answer`` after it."""
    now = now or utcnow()
    case.status, case.answer, case.answered_at, case.updated_at = "respondida", text, now, now
    await deadlines.on_case_done(session, case, now)
    session.add(
        CaseEvent(case_id=case.id, kind="respondida", actor_type="agent", actor_id=str(agent.id))
    )
    audit(
        session,
        "case.answer",
        conversation_id=case.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"code": case.code},
    )
    if case.conversation_id is None:
        return None
    return await append_message(
        session,
        case.conversation_id,
        "system",
        f"Respuesta a su {KIND_NAMES[case.kind]} {case.code} ({case.unit_name}):\n{text}",
    )


async def publish_answer(
    session: AsyncSession, gateway: Gateway, hub: LiveHub, notice: Message | None
) -> None:
    """The committed notice out on the conversation's channel and to the desk."""
    if notice is None:
        return
    conversation = await session.get(Conversation, notice.conversation_id)
    if conversation is not None:
        out = [MessageOut.of(notice)]
        await gateway.deliver(conversation, out)
        desk_events.publish_messages(hub, conversation, out)


async def close(session: AsyncSession, agent: Agent, code: str, note: str | None) -> Case:
    """Close a case (answered, or finished another way: the note says how)."""
    case = await get_for_agent(session, agent, code)
    _require_handler(agent, case)
    if case.status == "cerrada":
        raise Conflict("Esta queja o sugerencia ya está cerrada.")
    case.status, case.updated_at = "cerrada", utcnow()
    await deadlines.on_case_done(session, case)
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="cerrada",
            actor_type="agent",
            actor_id=str(agent.id),
            note=(note or "").strip() or None,
        )
    )
    audit(
        session,
        "case.close",
        conversation_id=case.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"code": case.code, "answered": case.answer is not None},
    )
    await session.commit()
    return case


# -- helpers -----------------------------------------------------------------------------------


def _checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput("El tipo debe ser «queja» o «sugerencia».")
    return kind


def _checked_description(description: str) -> str:
    text = description.strip()
    if len(text) < MIN_DESCRIPTION:
        raise InvalidInput(
            f"Cuéntenos un poco más lo ocurrido (al menos {MIN_DESCRIPTION} caracteres)."
        )
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"La descripción es demasiado larga (máximo {MAX_DESCRIPTION} caracteres)."
        )
    return text


async def _unmasked(session: AsyncSession, conversation_id: str, text: str) -> str:
    """The citizen's own words: the bot saw ``[DNI_1]``, the case record keeps the value."""
    parts, position = [], 0
    for match in pii.PLACEHOLDER.finditer(text):
        value = await pii_vault.resolve(session, conversation_id, match.group(0))
        parts += [text[position : match.start()], value.value if value else match.group(0)]
        position = match.end()
    return "".join(parts) + text[position:]


def _refuse_invalid_document(ref: str) -> None:
    cleaned = ref.strip("[] ").upper()
    if cleaned == "DNI_INVALIDO":
        raise InvalidInput(INVALID_DNI)
    if cleaned == "NIE_INVALIDO":
        raise InvalidInput(INVALID_NIE)


async def _document(session: AsyncSession, conversation_id: str, ref: str | None) -> str | None:
    """The DNI/NIE behind ``ref`` in this conversation (checked again: it is the case record)."""
    if not ref:
        return None
    _refuse_invalid_document(ref)
    value = await pii_vault.resolve(session, conversation_id, ref)
    if value is None or value.kind not in ("DNI", "NIE"):
        raise InvalidInput("No tengo ese DNI/NIE en esta conversación. Escríbalo de nuevo.")
    checker = stdnum_dni if value.kind == "DNI" else stdnum_nie
    if not checker.is_valid(value.value):
        raise InvalidInput(INVALID_DNI if value.kind == "DNI" else INVALID_NIE)
    return value.value


async def _contact(
    session: AsyncSession, conversation_id: str, preference: str, ref: str | None
) -> tuple[str, str | None]:
    if preference not in CONTACT_PREFERENCES:
        raise InvalidInput("Indique cómo quiere la respuesta: por correo, por teléfono o por aquí.")
    if preference == "canal":
        return preference, None
    wanted, name = ("EMAIL", "correo electrónico")
    if preference == "telefono":
        wanted, name = "TELEFONO", "teléfono"
    value = await pii_vault.resolve(session, conversation_id, ref) if ref else None
    if value is None or value.kind != wanted:
        raise InvalidInput(f"Necesito el {name} al que quiere que le respondamos.")
    return preference, value.value


async def _handling_unit(session: AsyncSession, settings: CaseSettings, chain: list[str]) -> Unit:
    """The nearest desk unit of the DIR3 chain, else the default unit (created once)."""
    found = {u.code: u for u in await session.scalars(select(Unit).where(Unit.code.in_(chain)))}
    for code in chain:
        if code in found:
            return found[code]
    code = settings.default_unit_code
    for _ in range(3):
        unit = await session.scalar(select(Unit).where(Unit.code == code))
        if unit is not None:
            return unit
        try:
            async with session.begin_nested():  # another request may create it meanwhile
                unit = Unit(code=code, name=settings.default_unit_name)
                session.add(unit)
            return unit
        except IntegrityError:
            continue
    raise RuntimeError(f"default case unit {code!r} could not be created")


def _of_citizen(citizen_id: str) -> ColumnElement[bool]:
    """Cases filed by a Miespacio account, or in a conversation later linked to it."""
    linked = select(Conversation.id).where(Conversation.citizen_id == citizen_id)
    return or_(Case.citizen_id == citizen_id, Case.conversation_id.in_(linked))


def _may_see(case: Case, conversation: Conversation, second_factor: PiiValue | None) -> bool:
    if case.conversation_id == conversation.id:
        return True
    if second_factor is None:
        return False
    kind, value = second_factor.kind, second_factor.value
    if kind in ("DNI", "NIE"):
        return case.dni is not None and case.dni == value
    if kind in ("EMAIL", "TELEFONO"):
        return case.contact is not None and case.contact == value
    return False


def _require_handler(agent: Agent, case: Case) -> None:
    """The unit the case was routed to answers it (or an administrator); N1 only reads."""
    if agent.role == "admin":
        return
    if agent.role != "n2" or agent.unit_id != case.unit_id:
        raise Forbidden(
            "Solo la unidad a la que se ha dirigido esta queja o sugerencia puede responderla."
        )
