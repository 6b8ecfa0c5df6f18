"""The formal answer to a complaint or suggestion: draft, approval, sending.

The handling unit's N2 agents write a draft; each save is a new revision (author, time), the
latest is current, and nobody outside the unit and the supervisors reads it until it is sent.
Where ``TUA_CASES_APPROVAL`` asks for it (quejas by default) the unit sends the draft to review
and a supervisor approves it — optionally editing it, which is a revision of theirs — or returns
it to the unit with a comment; otherwise the unit sends it itself. Sending answers the case as
the one-step answer does (the notice in the conversation, on its channel, the deadline closed)
and, when the citizen asked for the answer by email, mails it too.

Every change is ``UPDATE case_answer_drafts … WHERE version = :seen``: of two supervisors
approving at once, or an edit racing an approval, one wins and the other gets a 409.

What the citizen sees (the case's public history, Miespacio): «En tramitación» once the answer
goes to review, and «Respondida»; the review's own steps (``en_revision``, ``devuelta`` with its
comment, ``aprobada``) are desk-only events.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import pii, pii_vault
from connectors.gateway import Gateway
from desk_api.errors import Conflict, Forbidden, InvalidInput
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Message, utcnow
from desk_api.quejas_models import CaseAnswerDraft, CaseAnswerRevision
from desk_api.selfservice import cases
from desk_api.selfservice.business_days import CaseSettings
from desk_api.selfservice.mail import Mail, MailNotSent, MailSender
from desk_api.selfservice.models import Case, CaseEvent
from desk_api.services.supervision import can_supervise
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

# Events of a case the citizen sees (Miespacio's history); the rest stay in the desk.
PUBLIC_EVENTS = frozenset({"registrada", "en_tramitacion", "respondida", "cerrada"})
EDITABLE = ("borrador", "devuelta")
MAX_COMMENT = 2000

STALE = (
    "Otra persona ha cambiado esta respuesta mientras la tenía abierta. Recargue la queja para "
    "ver cómo está ahora."
)
NOT_DRAFTER = (
    "Solo la unidad a la que se ha dirigido esta queja o sugerencia puede redactar la respuesta."
)
NOT_READER = (
    "Solo la unidad que la tramita y los supervisores pueden ver el borrador de la respuesta."
)
NOT_SUPERVISOR = "Solo un supervisor puede aprobar o devolver la respuesta."
STATE_TEXTS = {
    "borrador": "está en borrador",
    "en_revision": "está en revisión",
    "devuelta": "ha sido devuelta a la unidad",
    "aprobada": "ya está aprobada",
    "enviada": "ya se ha enviado",
}


@dataclass(frozen=True)
class DraftView:
    case: Case
    draft: CaseAnswerDraft | None
    revisions: list[CaseAnswerRevision]
    approval_required: bool

    @property
    def state(self) -> str:
        return self.draft.state if self.draft else "sin_borrador"

    @property
    def version(self) -> int:
        return self.draft.version if self.draft else 0

    @property
    def current(self) -> str | None:
        return self.revisions[-1].text if self.revisions else None


@dataclass(frozen=True)
class Senders:
    """What sending needs besides the database: the channels and the mail."""

    gateway: Gateway
    hub: LiveHub
    mail: MailSender | None


def may_draft(agent: Agent, case: Case) -> bool:
    return agent.role == "admin" or (agent.role == "n2" and agent.unit_id == case.unit_id)


async def view(session: AsyncSession, settings: CaseSettings, agent: Agent, code: str) -> DraftView:
    case = await cases.get_for_agent(session, agent, code)
    if not (may_draft(agent, case) or can_supervise(agent)):
        raise Forbidden(NOT_READER)
    return await _view(session, settings, case)


async def pending(session: AsyncSession, agent: Agent) -> list[Case]:
    """Cases whose answer waits for a supervisor (what «Pendientes de aprobación» lists)."""
    waiting = select(CaseAnswerDraft.case_id).where(CaseAnswerDraft.state == "en_revision")
    query = (
        cases.visible(agent)
        .where(Case.id.in_(waiting), Case.status.not_in(("respondida", "cerrada")))
        .order_by(Case.deadline, Case.id)
    )
    return list(await session.scalars(query.limit(cases.LIST_LIMIT)))


async def save(
    session: AsyncSession,
    settings: CaseSettings,
    hub: LiveHub,
    agent: Agent,
    code: str,
    text: str,
    version: int | None,
) -> DraftView:
    """A new revision of the draft by the unit (while it is a draft or was returned)."""
    case = await _open_case(session, agent, code, may_draft, NOT_DRAFTER)
    text = _checked_text(text)
    draft = await session.get(CaseAnswerDraft, case.id)
    if draft is None:
        if version not in (None, 0):
            raise Conflict(STALE)
        draft = CaseAnswerDraft(case_id=case.id, state="borrador", version=1, revisions=1)
        try:
            async with session.begin_nested():  # a colleague's first save may come first
                session.add(draft)
        except IntegrityError as exc:
            raise Conflict(STALE) from exc
        number = 1
    else:
        _check_state(draft, EDITABLE, "No se puede editar: la respuesta")
        number = draft.revisions + 1
        await _advance(session, draft, version, state="borrador", revisions=number)
    session.add(CaseAnswerRevision(case_id=case.id, number=number, text=text, author_id=agent.id))
    _audit(session, "case.draft", case, agent, revision=number)
    await session.commit()
    _publish(hub, case, "borrador")
    return await _view(session, settings, case)


async def submit(
    session: AsyncSession,
    settings: CaseSettings,
    hub: LiveHub,
    agent: Agent,
    code: str,
    version: int | None,
) -> DraftView:
    """The unit sends its current draft to a supervisor's review."""
    case = await _open_case(session, agent, code, may_draft, NOT_DRAFTER)
    if not settings.needs_approval(case.kind):
        raise Conflict(
            f"La respuesta a una {cases.KIND_NAMES[case.kind]} no necesita aprobación: "
            "envíela directamente."
        )
    draft = await _existing_draft(session, case)
    _check_state(draft, EDITABLE, "No se puede enviar a revisión: la respuesta")
    await _advance(session, draft, version, state="en_revision", comment=None)
    now = utcnow()
    if case.status == "registrada":  # the citizen sees it is being dealt with (once)
        case.status, case.updated_at = "en_tramitacion", now
        session.add(_event(case, "en_tramitacion", agent))
    session.add(_event(case, "en_revision", agent))
    _audit(session, "case.review", case, agent, revision=draft.revisions)
    await session.commit()
    _publish(hub, case, "en_revision")
    return await _view(session, settings, case)


async def return_to_unit(
    session: AsyncSession,
    settings: CaseSettings,
    hub: LiveHub,
    agent: Agent,
    code: str,
    comment: str,
    version: int | None,
) -> DraftView:
    """A supervisor sends the draft back to the unit with what to change (internal)."""
    case = await _open_case(session, agent, code, _supervises, NOT_SUPERVISOR)
    comment = comment.strip()
    if not comment:
        raise InvalidInput("Explique a la unidad qué debe cambiar antes de devolverla.")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"El comentario es demasiado largo (máximo {MAX_COMMENT} caracteres).")
    draft = await _existing_draft(session, case)
    _check_state(draft, ("en_revision",), "No se puede devolver: la respuesta")
    await _advance(
        session, draft, version, state="devuelta", comment=comment, decided_by_agent_id=agent.id
    )
    session.add(_event(case, "devuelta", agent, note=comment))
    _audit(session, "case.return", case, agent, revision=draft.revisions)
    await session.commit()
    _publish(hub, case, "devuelta")
    return await _view(session, settings, case)


async def approve(
    session: AsyncSession,
    settings: CaseSettings,
    senders: Senders,
    agent: Agent,
    code: str,
    text: str | None,
    version: int | None,
) -> DraftView:
    """«Aprobar y enviar»: a supervisor approves the draft (their edit, if any, is a new
    revision of theirs) and the answer goes to the citizen in the same transaction."""
    case = await _open_case(session, agent, code, _supervises, NOT_SUPERVISOR)
    draft = await _existing_draft(session, case)
    _check_state(draft, ("en_revision",), "No se puede aprobar: la respuesta")
    current = await _current_text(session, case)
    edited = text is not None and _checked_text(text) != current
    number = draft.revisions + 1 if edited else draft.revisions
    await _advance(
        session, draft, version, state="enviada", revisions=number, decided_by_agent_id=agent.id
    )
    final = _checked_text(text) if edited and text is not None else current
    if edited:
        session.add(
            CaseAnswerRevision(case_id=case.id, number=number, text=final, author_id=agent.id)
        )
    session.add(_event(case, "aprobada", agent))
    _audit(session, "case.approve", case, agent, revision=number, edited=edited)
    return await _send(session, settings, senders, agent, case, final)


async def send(
    session: AsyncSession,
    settings: CaseSettings,
    senders: Senders,
    agent: Agent,
    code: str,
    version: int | None,
) -> DraftView:
    """The unit sends its current draft itself, where no approval is required."""
    case = await _open_case(session, agent, code, may_draft, NOT_DRAFTER)
    if settings.needs_approval(case.kind):
        raise Conflict(
            f"La respuesta a una {cases.KIND_NAMES[case.kind]} necesita la aprobación de un "
            "supervisor: envíela a revisión."
        )
    draft = await _existing_draft(session, case)
    _check_state(draft, EDITABLE, "No se puede enviar: la respuesta")
    await _advance(session, draft, version, state="enviada")
    return await _send(session, settings, senders, agent, case, await _current_text(session, case))


# -- helpers -----------------------------------------------------------------------------------


async def _send(
    session: AsyncSession,
    settings: CaseSettings,
    senders: Senders,
    agent: Agent,
    case: Case,
    text: str,
) -> DraftView:
    notice: Message | None = await cases.record_answer(session, case, agent, text)
    await session.commit()
    logger.info("case.answered", extra={"code": case.code, "agent_id": agent.id})
    await cases.publish_answer(session, senders.gateway, senders.hub, notice)
    _publish(senders.hub, case, "enviada")
    if case.contact_preference == "email" and senders.mail is not None:
        await _mail(session, senders.mail, agent, case, text)
    return await _view(session, settings, case)


async def _mail(
    session: AsyncSession, sender: MailSender, agent: Agent, case: Case, text: str
) -> None:
    """The answer by email, as the citizen asked; a failure is audited (never the address)."""
    address = case.contact
    if address and pii.PLACEHOLDER.fullmatch(address) and case.conversation_id:
        value = await pii_vault.resolve(session, case.conversation_id, address)
        address = value.value if value is not None and value.kind == "EMAIL" else None
    if not address:
        return
    kind = cases.KIND_NAMES[case.kind]
    subject = f"Respuesta a su {kind} {case.code}"
    body = f"{subject} ({case.unit_name}):\n\n{text}\n\nJunta de Extremadura · Tuatención\n"
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    markup = (
        f'<!doctype html><html lang="es"><body><h1>{html.escape(subject)}</h1>'
        f"<p>{html.escape(case.unit_name)}</p>{paragraphs}"
        "<p>Junta de Extremadura · Tuatención</p></body></html>"
    )
    try:
        await sender.send(Mail(to=address, subject=subject, text=body, html=markup))
    except MailNotSent as exc:
        _audit(session, "case.answer_mail_failed", case, agent, error=str(exc))
        await session.commit()
        return
    _audit(session, "case.answer_mailed", case, agent)
    await session.commit()


def _supervises(agent: Agent, _case: Case) -> bool:
    return can_supervise(agent)


async def _open_case(
    session: AsyncSession,
    agent: Agent,
    code: str,
    may: Callable[[Agent, Case], bool],
    refusal: str,
) -> Case:
    """The case, checked in this order: visible to the agent (else 404), theirs to act on (else
    403), still open (else 409): nobody learns a case's state from a step they may not take."""
    case = await cases.get_for_agent(session, agent, code)
    if not may(agent, case):
        raise Forbidden(refusal)
    if case.status in ("respondida", "cerrada"):
        raise Conflict(
            "Esta queja o sugerencia ya está respondida."
            if case.status == "respondida"
            else "Esta queja o sugerencia está cerrada."
        )
    return case


async def _existing_draft(session: AsyncSession, case: Case) -> CaseAnswerDraft:
    draft = await session.get(CaseAnswerDraft, case.id)
    if draft is None:
        raise Conflict("Todavía no hay borrador de la respuesta: escríbalo y guárdelo primero.")
    return draft


def _check_state(draft: CaseAnswerDraft, allowed: tuple[str, ...], what: str) -> None:
    if draft.state not in allowed:
        raise Conflict(f"{what} {STATE_TEXTS.get(draft.state, draft.state)}.")


async def _advance(
    session: AsyncSession,
    draft: CaseAnswerDraft,
    seen: int | None,
    **values: object,
) -> None:
    """One conditional step of the workflow: only from the version the caller saw (the one
    the client sent, else the one just read); whoever changed it first wins."""
    expected = draft.version if seen is None else seen
    if expected != draft.version:
        raise Conflict(STALE)
    result = await session.execute(
        update(CaseAnswerDraft)
        .where(CaseAnswerDraft.case_id == draft.case_id, CaseAnswerDraft.version == expected)
        .values(version=expected + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict(STALE)
    for name, value in values.items():
        setattr(draft, name, value)
    draft.version = expected + 1


async def _current_text(session: AsyncSession, case: Case) -> str:
    text = await session.scalar(
        select(CaseAnswerRevision.text)
        .where(CaseAnswerRevision.case_id == case.id)
        .order_by(CaseAnswerRevision.number.desc())
        .limit(1)
    )
    if text is None:
        raise Conflict("Todavía no hay borrador de la respuesta: escríbalo y guárdelo primero.")
    return text


async def _view(session: AsyncSession, settings: CaseSettings, case: Case) -> DraftView:
    draft = await session.get(CaseAnswerDraft, case.id, populate_existing=True)
    revisions = list(
        await session.scalars(
            select(CaseAnswerRevision)
            .where(CaseAnswerRevision.case_id == case.id)
            .order_by(CaseAnswerRevision.number)
        )
    )
    return DraftView(case, draft, revisions, settings.needs_approval(case.kind))


def _checked_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("La respuesta no puede estar vacía.")
    if len(text) > cases.MAX_ANSWER:
        raise InvalidInput(
            f"La respuesta es demasiado larga (máximo {cases.MAX_ANSWER} caracteres)."
        )
    return text


def _event(case: Case, kind: str, agent: Agent, note: str | None = None) -> CaseEvent:
    return CaseEvent(
        case_id=case.id, kind=kind, actor_type="agent", actor_id=str(agent.id), note=note
    )


def _audit(session: AsyncSession, action: str, case: Case, agent: Agent, **details: object) -> None:
    """No text of the answer or comment, and no contact: the code and the step only."""
    audit(
        session,
        action,
        conversation_id=case.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"code": case.code, **details},
    )


def _publish(hub: LiveHub, case: Case, state: str) -> None:
    """The case's unit and the supervisors see the answer's state change live."""
    hub.publish(
        DESK_TOPIC,
        {
            "type": "case.answer",
            "audience": "unit",
            "unit_code": case.unit.code if case.unit else None,
            "code": case.code,
            "state": state,
        },
    )
