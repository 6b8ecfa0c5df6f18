"""Canned answers: ready replies with variables, shared by every informer or kept by a unit.

Who may use them: shared ones everyone; a unit's, its N2 agents (the admin, all). Who manages
them: the admin everything, an N2 agent their unit's. Variables, filled for one conversation:

- ``{agente}``: the agent's full name; ``{fecha}``: today in Spain, «7 de diciembre de 2026»;
- ``{unidad}``: the conversation's unit, else the agent's;
- ``{tramite}``: the procedure of the bot's hand-off (the ``tramite_actual`` slot, named by the
  hand-off's suggestions or the knowledge base; else the first suggestion);
- ``{nombre}``: always left empty. The platform has no citizen name: Miespacio keeps an email or a
  mobile, and guessing a name from an email's local part ("jp1987", "info", a relative's
  address) would greet people wrongly. The text is tidied around the gap («Buenos días,
  {nombre}:» → «Buenos días:») and the answer lists it in ``missing``, so the composer asks the
  agent to write the name in if the citizen gave it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import CannedAnswer
from desk_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from desk_api.models import Agent, Conversation, Unit, utcnow
from desk_api.schemas import CannedIn, CannedOut, CannedPatch, CannedRenderOut, UnitOut
from desk_api.selfservice.business_days import spanish_date
from desk_api.services.desk import get_visible
from desk_api.services.transcript import audit
from knowledge.text import fold

MADRID = ZoneInfo("Europe/Madrid")
VARIABLES = ("nombre", "tramite", "agente", "unidad", "fecha")
_VARIABLE = re.compile(r"\{([^{}\s]{1,40})\}")
_GAP = "\0"
# An empty variable takes the comma or space before it when punctuation or the line end follows
# («Hola, {nombre}:» → «Hola:»); otherwise only the space before it («Hola {nombre} y» → «Hola y»).
_GAP_AT_LINE_START = re.compile(r"^[ \t]*\0[ \t]*,?[ \t]*", re.MULTILINE)
_GAP_BEFORE_PUNCTUATION = re.compile(r"(?:[ \t]*,)?[ \t]*\0[ \t]*(?=[,.:;!?)»]|$)", re.MULTILINE)
_GAP_IN_TEXT = re.compile(r"[ \t]*\0")

ProcedureTitle = Callable[[str], str | None]


def variables_of(body: str) -> list[str]:
    """The variables a body uses, in order, once each (accents and case do not matter)."""
    return list(dict.fromkeys(_name(match) for match in _VARIABLE.findall(body)))


def require_known_variables(body: str) -> None:
    unknown = [f"{{{v}}}" for v in variables_of(body) if v not in VARIABLES]
    if unknown:
        known = ", ".join(f"{{{v}}}" for v in VARIABLES[:-1]) + f" y {{{VARIABLES[-1]}}}"
        raise InvalidInput(
            f"Variable desconocida en la respuesta: {', '.join(unknown)}. Puede usar {known}."
        )


def canned_out(answer: CannedAnswer) -> CannedOut:
    return CannedOut(
        id=answer.id,
        unit=UnitOut.of(answer.unit),
        shortcut=answer.shortcut,
        title=answer.title,
        body=answer.body,
        variables=variables_of(answer.body),
        updated_at=answer.updated_at,
    )


async def usable(session: AsyncSession, agent: Agent, unit_code: str | None) -> list[CannedOut]:
    """What the agent may use: shared ones and their unit's (the admin: every unit's);
    ``unit_code`` narrows that to the shared ones and that unit's."""
    query = select(CannedAnswer).order_by(CannedAnswer.shortcut, CannedAnswer.id)
    if agent.role != "admin":
        query = query.where(
            or_(CannedAnswer.unit_id.is_(None), CannedAnswer.unit_id == agent.unit_id)
            if agent.unit_id is not None
            else CannedAnswer.unit_id.is_(None)
        )
    if unit_code is not None:
        unit = await _unit(session, unit_code)
        query = query.where(or_(CannedAnswer.unit_id.is_(None), CannedAnswer.unit_id == unit.id))
    return [canned_out(answer) for answer in await session.scalars(query)]


async def create(session: AsyncSession, agent: Agent, body: CannedIn) -> CannedOut:
    require_known_variables(body.body)
    unit = await _unit(session, body.unit_code) if body.unit_code is not None else None
    if unit is None and agent.role == "n2":
        unit = agent.unit  # an N2 agent writes for their own unit
    _require_manager(agent, unit.id if unit else None)
    await _require_free_shortcut(session, unit.id if unit else None, body.shortcut)
    now = utcnow()
    answer = CannedAnswer(
        unit=unit,
        shortcut=body.shortcut,
        title=body.title,
        body=body.body,
        created_by_agent_id=agent.id,
        created_at=now,
        updated_at=now,
    )
    session.add(answer)
    await _flush_unique(session, body.shortcut)
    _audit(session, agent, "canned.created", answer)
    await session.commit()
    return canned_out(answer)


async def update(
    session: AsyncSession, agent: Agent, canned_id: int, body: CannedPatch
) -> CannedOut:
    answer = await _get(session, canned_id)
    _require_manager(agent, answer.unit_id)
    if body.body is not None:
        require_known_variables(body.body)
        answer.body = body.body
    if body.title is not None:
        answer.title = body.title
    if body.shortcut is not None and body.shortcut != answer.shortcut:
        await _require_free_shortcut(session, answer.unit_id, body.shortcut)
        answer.shortcut = body.shortcut
    answer.updated_at = utcnow()
    await _flush_unique(session, answer.shortcut)
    _audit(session, agent, "canned.updated", answer)
    await session.commit()
    return canned_out(answer)


async def remove(session: AsyncSession, agent: Agent, canned_id: int) -> None:
    answer = await _get(session, canned_id)
    _require_manager(agent, answer.unit_id)
    _audit(session, agent, "canned.deleted", answer)
    await session.delete(answer)
    await session.commit()


async def render(
    session: AsyncSession,
    agent: Agent,
    canned_id: int,
    conversation_id: str,
    procedure_title: ProcedureTitle | None = None,
) -> CannedRenderOut:
    """The answer's text for one conversation, ready for the agent to review and send."""
    conversation = await get_visible(session, agent, conversation_id)
    answer = await _get(session, canned_id)
    if not _may_use(agent, answer.unit_id):
        raise Forbidden("Esa respuesta predefinida es de otra unidad; no puede usarla.")
    require_known_variables(answer.body)
    values = {
        "nombre": "",
        "tramite": _procedure(conversation.handoff or {}, procedure_title),
        "agente": agent.full_name,
        "unidad": _unit_name(conversation, agent),
        "fecha": spanish_date(datetime.now(MADRID).date()),
    }
    return fill(answer.body, values)


def fill(body: str, values: dict[str, str]) -> CannedRenderOut:
    """Put the values in; an empty one leaves no dangling comma or double space."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = _name(match.group(1))
        text = values.get(name, "").strip()
        if not text:
            if name not in missing:
                missing.append(name)
            return _GAP
        return text

    text = _VARIABLE.sub(value, body)
    for gap in (_GAP_AT_LINE_START, _GAP_BEFORE_PUNCTUATION, _GAP_IN_TEXT):
        text = gap.sub("", text)
    return CannedRenderOut(text=text, missing=missing)


def _name(raw: str) -> str:
    return fold(raw).strip()


def _procedure(handoff: dict[str, Any], procedure_title: ProcedureTitle | None) -> str:
    slots = handoff.get("slots") if isinstance(handoff.get("slots"), dict) else {}
    suggestions = [
        s for s in handoff.get("suggestions") or [] if isinstance(s, dict) and s.get("title")
    ]
    current = slots.get("tramite_actual") if slots else None
    if current:
        for suggestion in suggestions:
            if str(suggestion.get("code") or suggestion.get("id") or "") == str(current):
                return str(suggestion["title"])
        title = procedure_title(str(current)) if procedure_title else None
        if title:
            return title
    return str(suggestions[0]["title"]) if suggestions else ""


def _unit_name(conversation: Conversation, agent: Agent) -> str:
    unit = conversation.unit or agent.unit
    return unit.name if unit else ""


def _may_use(agent: Agent, unit_id: int | None) -> bool:
    return agent.role == "admin" or unit_id is None or unit_id == agent.unit_id


def _require_manager(agent: Agent, unit_id: int | None) -> None:
    if agent.role == "admin":
        return
    if agent.role != "n2":
        raise Forbidden(
            "Solo la administración o el personal N2 de una unidad gestionan las respuestas."
        )
    if unit_id is None:
        raise Forbidden("Solo la administración gestiona las respuestas compartidas.")
    if unit_id != agent.unit_id:
        raise Forbidden("Solo puede gestionar las respuestas predefinidas de su unidad.")


async def _unit(session: AsyncSession, code: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"No existe la unidad «{code}» en el directorio.")
    return unit


async def _get(session: AsyncSession, canned_id: int) -> CannedAnswer:
    answer = await session.get(CannedAnswer, canned_id)
    if answer is None:
        raise NotFound("No existe esa respuesta predefinida.")
    return answer


async def _require_free_shortcut(session: AsyncSession, unit_id: int | None, shortcut: str) -> None:
    # The database's unique constraint does not cover shared answers (NULL unit): check here.
    taken = await session.scalar(
        select(CannedAnswer.id).where(
            CannedAnswer.shortcut == shortcut,
            CannedAnswer.unit_id.is_(None) if unit_id is None else CannedAnswer.unit_id == unit_id,
        )
    )
    if taken is not None:
        raise Conflict(f"Ya hay una respuesta con el atajo «/{shortcut}» en ese ámbito.")


async def _flush_unique(session: AsyncSession, shortcut: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"Ya hay una respuesta con el atajo «/{shortcut}» en ese ámbito.") from None


def _audit(session: AsyncSession, agent: Agent, action: str, answer: CannedAnswer) -> None:
    audit(
        session,
        action,
        conversation_id=None,
        actor_type="agent",
        actor_id=agent.id,
        details={
            "canned_id": answer.id,
            "unit_code": answer.unit.code if answer.unit else None,
            "shortcut": answer.shortcut,
        },
    )
