"""In-person attentions («Presencial»): an informer at an office records whom they attended, on
what and how it ended, so the citizen's history is complete across channels.

Each attention is a closed conversation of channel ``presencial`` (its transcript holds the
informer's notes) plus an ``InPersonAttention`` row with the structured data.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import InPersonAttention
from desk_api.errors import Forbidden, InvalidInput, Unavailable
from desk_api.models import Agent, Conversation, utcnow
from desk_api.schemas import AgentRef, AttentionIn, AttentionOut, OfficeOut, ProcedureOut
from desk_api.selfservice.models import Citizen
from desk_api.services import deadlines, desk_events
from desk_api.services.desk import DeskContext
from desk_api.services.transcript import append_message, audit
from handoff.contract import Controller, State, Tier
from knowledge.base import KnowledgeBase, KnowledgeUnavailable

CHANNEL = "presencial"
IN_PERSON = "in_person"  # the conversation's ``handoff.reason``: it never was the bot's
LIST_LIMIT = 200
OUTCOME_TEXTS = {
    "resuelta": "resuelta en el momento",
    "derivada": "derivada a otra unidad",
    "cita": "se le ha dado cita",
    "pendiente": "pendiente de respuesta",
}


def require_informer(agent: Agent) -> None:
    if agent.role not in ("n1", "admin"):
        raise Forbidden("Las atenciones presenciales las registra el personal de N1.")


async def register(ctx: DeskContext, agent: Agent, body: AttentionIn) -> AttentionOut:
    """Record the attention, its closed conversation (with the notes) and the audit entry."""
    require_informer(agent)
    session = ctx.session
    citizen_id = await find_citizen(session, body.email, body.phone)
    now = utcnow()
    conversation = Conversation(
        id=str(uuid.uuid4()),
        channel=CHANNEL,
        controller=Controller.HUMAN,
        state=State.RESOLVED,
        tier=Tier.N1,
        assigned_agent_id=agent.id,
        citizen_id=citizen_id,
        outbound="live",
        handed_off_at=now,
        handoff=_summary(body),
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    where = f" en la oficina {body.office_code}" if body.office_code else ""
    await append_message(
        session,
        conversation.id,
        "system",
        f"Atención presencial{where} registrada por {agent.full_name}. "
        f"Resultado: {OUTCOME_TEXTS[body.outcome]}.",
    )
    await append_message(
        session,
        conversation.id,
        "agent",
        body.notes.strip() or body.topic,
        agent=agent,
        tier=Tier.N1,
    )
    attention = InPersonAttention(
        conversation_id=conversation.id,
        agent_id=agent.id,
        office_code=body.office_code,
        citizen_id=citizen_id,
        dni=body.dni,
        topic=body.topic,
        procedure_code=body.procedure_code,
        procedure_title=body.procedure_title,
        outcome=body.outcome,
        attended_at=now,
        created_at=now,
    )
    session.add(attention)
    await session.flush()
    await deadlines.start_attention(session, conversation, body.office_code, body.outcome, now)
    audit(
        session,
        "attention.created",
        conversation_id=conversation.id,
        actor_type="agent",
        actor_id=agent.id,
        details={
            "attention_id": attention.id,
            "office_code": body.office_code,
            "procedure_code": body.procedure_code,
            "outcome": body.outcome,
            "citizen_found": citizen_id is not None,
        },
    )
    await session.commit()
    await session.refresh(conversation)  # its unit and agent, for the live summary
    desk_events.publish_conversation(ctx.hub, "conversation.updated", conversation, body.topic)
    return attention_out(attention, agent)


async def find_citizen(session: AsyncSession, email: str | None, phone: str | None) -> str | None:
    """The Miespacio account with this (normalised) email or mobile, if there is one."""
    found: dict[str, str] = {}
    if email is not None:
        by_email = await session.scalar(select(Citizen.id).where(Citizen.email == email))
        if by_email is not None:
            found["email"] = by_email
    if phone is not None:
        by_phone = await session.scalar(select(Citizen.id).where(Citizen.phone == phone))
        if by_phone is not None:
            found["phone"] = by_phone
    if len(set(found.values())) > 1:
        raise InvalidInput(
            "El correo y el teléfono pertenecen a dos cuentas distintas de Miespacio: "
            "indique solo uno de los dos."
        )
    return next(iter(found.values()), None)


async def list_attentions(session: AsyncSession, agent: Agent, mine: bool) -> list[AttentionOut]:
    require_informer(agent)
    query = select(InPersonAttention)
    if mine:
        query = query.where(InPersonAttention.agent_id == agent.id)
    rows = await session.scalars(
        query.order_by(InPersonAttention.attended_at.desc(), InPersonAttention.id.desc()).limit(
            LIST_LIMIT
        )
    )
    return [attention_out(a, a.agent) for a in rows]


async def of_citizen(session: AsyncSession, citizen_id: str) -> list[AttentionOut]:
    rows = await session.scalars(
        select(InPersonAttention)
        .where(InPersonAttention.citizen_id == citizen_id)
        .order_by(InPersonAttention.attended_at.desc(), InPersonAttention.id.desc())
    )
    return [attention_out(a, a.agent) for a in rows]


def attention_out(attention: InPersonAttention, agent: Agent) -> AttentionOut:
    return AttentionOut(
        id=attention.id,
        conversation_id=attention.conversation_id,
        agent=AgentRef(id=agent.id, full_name=agent.full_name),
        office_code=attention.office_code,
        citizen_id=attention.citizen_id,
        dni=attention.dni,
        topic=attention.topic,
        procedure_code=attention.procedure_code,
        procedure_title=attention.procedure_title,
        outcome=attention.outcome,
        attended_at=attention.attended_at,
    )


def _summary(body: AttentionIn) -> dict[str, object]:
    """What the desk shows in the conversation's summary card."""
    procedure = body.procedure_title or body.procedure_code
    if body.procedure_title and body.procedure_code:
        procedure = f"{body.procedure_title} ({body.procedure_code})"
    slots = {
        "Oficina": body.office_code,
        "Asunto": body.topic,
        "Trámite": procedure,
        "Resultado": OUTCOME_TEXTS[body.outcome],
    }
    return {
        "reason": IN_PERSON,
        "summary": f"Atención presencial: {body.topic}.",
        "slots": {k: v for k, v in slots.items() if v},
    }


# -- pickers for the form (the knowledge base) ---------------------------------------------


async def search_procedures(kb: KnowledgeBase, query: str, k: int) -> list[ProcedureOut]:
    def search() -> list[ProcedureOut]:
        result = kb.ask(query, k)
        out = []
        for hit in result.hits:
            procedure = hit.procedure
            unit = kb.directory.get(procedure.unit) if procedure.unit else None
            name = unit.name if unit else None
            out.append(ProcedureOut(id=procedure.id, title=procedure.title, unit=name))
        return out

    try:
        return await asyncio.to_thread(search)
    except KnowledgeUnavailable as exc:
        raise Unavailable(
            "La base de conocimiento no está disponible en este momento. Escriba el trámite a mano."
        ) from exc


async def offices(kb: KnowledgeBase) -> list[OfficeOut]:
    try:
        found = await asyncio.to_thread(lambda: kb.offices)
    except KnowledgeUnavailable as exc:
        raise Unavailable("La lista de oficinas no está disponible en este momento.") from exc
    return sorted(
        (OfficeOut(id=o.id, name=o.name, municipality=o.municipality) for o in found),
        key=lambda o: (o.municipality, o.name),
    )
