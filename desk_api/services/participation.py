"""Citizen participation: processes N2 units publish, and the proposals citizens send to them.

A process belongs to the unit that created it: its N2 agents (and administrators) edit, publish,
close it, upload its documents and moderate and answer its proposals; every other agent reads.
Its status is derived from publication and dates in Spanish local time (both dates included):
``draft`` → ``scheduled`` (published, not started) → ``open`` → ``closed`` (past its end, or
closed early). A proposal goes ``received`` → ``published`` | ``rejected`` (with a reason) and a
published one → ``answered`` (the unit's public answer).

Citizen text is kept as written for the unit. Whatever leaves for the public (published
proposals), logs or audit details is masked (``connectors.pii.mask``) or left out. The citizen
functions (``submit_proposal``, ``proposals_of_citizen``) take plain ids, whoever authenticated
the citizen (the bot's self-service token, Miespacio's session cookie).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import pii, pii_vault
from connectors.attachments import AttachmentStore, safe_filename
from connectors.file_kinds import MACROS, sniff
from connectors.gateway import Gateway
from desk_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from desk_api.live import LiveHub
from desk_api.models import Agent, Conversation, Unit, utcnow
from desk_api.participation_models import ParticipatoryProcess, ProcessDocument, Proposal
from desk_api.participation_schemas import (
    DocumentoPublico,
    DocumentOut,
    ProcesoPublico,
    ProcessOut,
    ProposalOut,
    PropuestaCiudadana,
    PropuestaPublica,
)
from desk_api.schemas import MessageOut, UnitOut
from desk_api.selfservice.business_days import spanish_date
from desk_api.services import desk_events
from desk_api.services.transcript import append_message, audit

logger = logging.getLogger(__name__)

TIMEZONE = ZoneInfo("Europe/Madrid")
TOPIC = "participation"  # the desk's participation page listens here (its own WebSocket)
MIN_TITLE = 5
MIN_DESCRIPTION = 20
MIN_PROPOSAL_TEXT = 20
MAX_DOCUMENTS = 20
PUBLIC_DOCUMENT_URL = "/api/participacion/documentos/{id}"

PROCESS_NOT_FOUND = "No existe ese proceso de participación."
PROPOSAL_NOT_FOUND = "No existe esa propuesta."
NOT_OPEN = "Este proceso de participación no está abierto a propuestas ahora mismo."
STATUS_TEXTS = {
    "received": "Recibida, pendiente de revisión",
    "published": "Publicada",
    "rejected": "No publicada",
    "answered": "Respondida",
}
PUBLIC_STATUS = {"scheduled": "programado", "open": "abierto", "closed": "cerrado"}


def today() -> date:
    """Today in Extremadura: a process is open on its end date until local midnight."""
    return datetime.now(TIMEZONE).date()


def status_of(process: ParticipatoryProcess, day: date | None = None) -> str:
    day = day or today()
    if process.published_at is None:
        return "draft"
    if process.closed_at is not None or day > process.ends_on:
        return "closed"
    if day < process.starts_on:
        return "scheduled"
    return "open"


def may_manage(agent: Agent, process: ParticipatoryProcess) -> bool:
    return agent.role == "admin" or (agent.role == "n2" and agent.unit_id == process.unit_id)


@dataclass(frozen=True)
class ProcessData:
    title: str
    description: str
    starts_on: date
    ends_on: date
    unit_code: str | None = None


@dataclass(frozen=True)
class NewProposal:
    """A proposal from a citizen, however they were identified: ``conversation_id`` when it
    came through a conversation (the bot), ``citizen_id`` for a Miespacio account."""

    process_id: int
    title: str
    text: str
    channel: str
    conversation_id: str | None = None
    citizen_id: str | None = None


# -- the desk: processes -------------------------------------------------------------------------


async def list_processes(session: AsyncSession, agent: Agent) -> list[ProcessOut]:
    """Every process, newest first: the agent's unit's first, the others read-only."""
    rows = list(
        await session.scalars(
            select(ParticipatoryProcess).order_by(
                ParticipatoryProcess.starts_on.desc(), ParticipatoryProcess.id.desc()
            )
        )
    )
    rows.sort(key=lambda p: not may_manage(agent, p))  # stable: keeps the date order
    counts = await _proposal_counts(session, [p.id for p in rows])
    documents = await _documents(session, [p.id for p in rows])
    return [process_out(p, agent, documents.get(p.id, []), counts.get(p.id, {})) for p in rows]


async def get_process(session: AsyncSession, agent: Agent, process_id: int) -> ProcessOut:
    process = await _process(session, process_id)
    counts = await _proposal_counts(session, [process.id])
    documents = await _documents(session, [process.id])
    return process_out(process, agent, documents.get(process.id, []), counts.get(process.id, {}))


async def create_process(
    session: AsyncSession, hub: LiveHub, agent: Agent, data: ProcessData
) -> ProcessOut:
    unit = await _publishing_unit(session, agent, data.unit_code)
    fields = _checked_process(data)
    process = ParticipatoryProcess(unit_id=unit.id, created_by_agent_id=agent.id, **fields)
    session.add(process)
    await session.flush()
    _audit_process(session, agent, "process.create", process)
    return await _commit_process(session, hub, agent, process, "process.created")


async def update_process(
    session: AsyncSession, hub: LiveHub, agent: Agent, process_id: int, data: ProcessData
) -> ProcessOut:
    process = await _managed(session, agent, process_id)
    if status_of(process) == "closed":
        raise Conflict("El proceso está cerrado: ya no se puede modificar.")
    fields = _checked_process(data)
    if process.published_at is not None and fields["ends_on"] < today():
        raise InvalidInput("La fecha de fin de un proceso publicado no puede ser anterior a hoy.")
    for name, value in fields.items():
        setattr(process, name, value)
    process.updated_at = utcnow()
    _audit_process(session, agent, "process.update", process)
    return await _commit_process(session, hub, agent, process, "process.updated")


async def publish_process(
    session: AsyncSession, hub: LiveHub, agent: Agent, process_id: int
) -> ProcessOut:
    process = await _managed(session, agent, process_id)
    if process.published_at is not None:
        raise Conflict("El proceso ya está publicado.")
    if process.ends_on < today():
        raise InvalidInput("No se puede publicar: la fecha de fin del proceso ya ha pasado.")
    process.published_at = process.updated_at = utcnow()
    _audit_process(session, agent, "process.publish", process)
    return await _commit_process(session, hub, agent, process, "process.updated")


async def close_process(
    session: AsyncSession, hub: LiveHub, agent: Agent, process_id: int
) -> ProcessOut:
    """Close before the end date: no more proposals (moderation and answers go on)."""
    process = await _managed(session, agent, process_id)
    status = status_of(process)
    if status == "draft":
        raise Conflict("El proceso no está publicado: no hay nada que cerrar.")
    if status == "closed":
        raise Conflict("El proceso ya está cerrado.")
    process.closed_at = process.updated_at = utcnow()
    _audit_process(session, agent, "process.close", process)
    return await _commit_process(session, hub, agent, process, "process.updated")


async def add_document(
    session: AsyncSession,
    hub: LiveHub,
    store: AttachmentStore,
    agent: Agent,
    process_id: int,
    filename: str,
    data: bytes,
    max_bytes: int,
) -> DocumentOut:
    """A document for the process: the same kinds the web chat accepts, decided by the bytes
    (never the declared type or the name), within the attachment size limit."""
    process = await _managed(session, agent, process_id)
    if status_of(process) == "closed":
        raise Conflict("El proceso está cerrado: ya no se pueden añadir documentos.")
    name = safe_filename(filename, "") or "documento"
    if len(data) > max_bytes:
        raise InvalidInput(
            f"El archivo «{name}» es demasiado grande (máximo {max(max_bytes // 1024 // 1024, 1)}"
            " MB)."
        )
    if not data:
        raise InvalidInput(f"El archivo «{name}» está vacío.")
    kind = sniff(data, name)
    if kind is None or kind is MACROS:
        raise InvalidInput(
            f"No se puede publicar «{name}»: solo se admiten documentos PDF, imágenes (JPEG, "
            "PNG, WebP, GIF o HEIC), archivos de texto y documentos de Office u OpenDocument "
            "sin macros."
        )
    existing = await session.scalar(
        select(func.count())
        .select_from(ProcessDocument)
        .where(ProcessDocument.process_id == process.id)
    )
    if (existing or 0) >= MAX_DOCUMENTS:
        raise Conflict(f"Un proceso admite como máximo {MAX_DOCUMENTS} documentos.")
    document = ProcessDocument(
        id=str(uuid.uuid4()),
        process_id=process.id,
        filename=kind.named(name),
        content_type=kind.content_type,
        size_bytes=len(data),
        sha256=store.write(data),
        uploaded_by_agent_id=agent.id,
    )
    session.add(document)
    await session.flush()
    process.updated_at = utcnow()
    _audit_process(session, agent, "process.document", process, document_id=document.id)
    await _commit_process(session, hub, agent, process, "process.updated")
    return document_out(document)


async def document_for_agent(session: AsyncSession, document_id: str) -> ProcessDocument:
    """Any agent reads any process's documents (other units' processes are read-only)."""
    document = await session.get(ProcessDocument, document_id)
    if document is None:
        raise NotFound("No existe ese documento.")
    return document


async def public_document(session: AsyncSession, document_id: str) -> ProcessDocument:
    """A document of a published process; a draft's documents are not public yet."""
    document = await session.get(ProcessDocument, document_id)
    process = (
        None if document is None else await session.get(ParticipatoryProcess, document.process_id)
    )
    if document is None or process is None or process.published_at is None:
        raise NotFound("No existe ese documento.")
    return document


# -- the desk: proposals -------------------------------------------------------------------------


async def proposals_of_process(
    session: AsyncSession, agent: Agent, process_id: int, status: str | None = None
) -> list[ProposalOut]:
    await _process(session, process_id)
    query = select(Proposal).where(Proposal.process_id == process_id)
    if status is not None:
        query = query.where(Proposal.status == status)
    rows = await session.scalars(query.order_by(Proposal.created_at, Proposal.id))
    return [proposal_out(p) for p in rows]


async def moderate(
    session: AsyncSession,
    gateway: Gateway,
    hub: LiveHub,
    agent: Agent,
    proposal_id: int,
    decision: str,
    reason: str | None,
) -> ProposalOut:
    """Publish a received proposal, or reject it with a reason the citizen is told."""
    proposal = await _managed_proposal(session, agent, proposal_id)
    if proposal.status != "received":
        raise Conflict("Esta propuesta ya está moderada.")
    reason = (reason or "").strip() or None
    if decision == "reject" and reason is None:
        raise InvalidInput("Indique el motivo por el que no se publica la propuesta.")
    if decision not in ("publish", "reject"):
        raise InvalidInput("La decisión debe ser «publish» o «reject».")
    now = utcnow()
    new_status = "published" if decision == "publish" else "rejected"
    await _transition(
        session,
        proposal,
        "received",
        "Esta propuesta ya está moderada.",
        status=new_status,
        rejection_reason=reason if decision == "reject" else None,
        moderated_by_agent_id=agent.id,
        moderated_at=now,
        updated_at=now,
    )
    audit(
        session,
        "proposal.publish" if decision == "publish" else "proposal.reject",
        conversation_id=proposal.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"proposal_id": proposal.id, "process_id": proposal.process_id},
    )
    notice = None
    if decision == "reject":
        notice = await _tell_citizen(
            session,
            proposal,
            f"Su propuesta «{proposal.title}» al proceso «{proposal.process.title}» no se ha "
            f"publicado. Motivo: {reason}",
        )
    return await _commit_proposal(session, gateway, hub, proposal, notice)


async def answer(
    session: AsyncSession,
    gateway: Gateway,
    hub: LiveHub,
    agent: Agent,
    proposal_id: int,
    text: str,
) -> ProposalOut:
    """The unit's public answer to a published proposal; the citizen is told on their channel."""
    proposal = await _managed_proposal(session, agent, proposal_id)
    text = text.strip()
    if not text:
        raise InvalidInput("La respuesta no puede estar vacía.")
    if proposal.status == "received":
        raise Conflict("Publique la propuesta antes de responderla.")
    if proposal.status == "rejected":
        raise Conflict("Esta propuesta no se ha publicado: no se puede responder.")
    if proposal.status == "answered":
        raise Conflict("Esta propuesta ya tiene respuesta.")
    now = utcnow()
    await _transition(
        session,
        proposal,
        "published",
        "Esta propuesta ya tiene respuesta.",
        status="answered",
        answer=text,
        answered_by_agent_id=agent.id,
        answered_at=now,
        updated_at=now,
    )
    audit(
        session,
        "proposal.answer",
        conversation_id=proposal.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={"proposal_id": proposal.id, "process_id": proposal.process_id},
    )
    notice = await _tell_citizen(
        session,
        proposal,
        f"Respuesta a su propuesta «{proposal.title}» ({proposal.process.unit.name}):\n{text}",
    )
    return await _commit_proposal(session, gateway, hub, proposal, notice)


# -- citizens ------------------------------------------------------------------------------------


async def open_processes(session: AsyncSession) -> list[ProcesoPublico]:
    """The processes open to proposals today, ending soonest first, with their published ones."""
    day = today()
    rows = await session.scalars(
        select(ParticipatoryProcess)
        .where(
            ParticipatoryProcess.published_at.is_not(None),
            ParticipatoryProcess.closed_at.is_(None),
            ParticipatoryProcess.starts_on <= day,
            ParticipatoryProcess.ends_on >= day,
        )
        .order_by(ParticipatoryProcess.ends_on, ParticipatoryProcess.id)
    )
    return await _public(session, list(rows), with_proposals=True)


async def public_process(session: AsyncSession, process_id: int) -> ProcesoPublico:
    """A published process (open, scheduled or closed) with its published proposals."""
    process = await session.get(ParticipatoryProcess, process_id)
    if process is None or process.published_at is None:
        raise NotFound(PROCESS_NOT_FOUND)
    [found] = await _public(session, [process], with_proposals=True)
    return found


async def submit_proposal(session: AsyncSession, hub: LiveHub, new: NewProposal) -> Proposal:
    """Register a citizen's proposal to an open process (status ``received``). Through a
    conversation, vault references (``[DNI_1]``) are put back: the unit reads what was written."""
    process = await session.get(ParticipatoryProcess, new.process_id)
    if process is None or process.published_at is None:
        raise NotFound(PROCESS_NOT_FOUND)
    if status_of(process) != "open":
        raise Conflict(NOT_OPEN)
    title, text = new.title.strip(), new.text.strip()
    if len(title) < MIN_TITLE:
        raise InvalidInput(f"El título es demasiado corto (al menos {MIN_TITLE} caracteres).")
    if len(title) > 160:
        raise InvalidInput("El título es demasiado largo (máximo 160 caracteres).")
    if len(text) < MIN_PROPOSAL_TEXT:
        raise InvalidInput(
            f"Explique un poco más su propuesta (al menos {MIN_PROPOSAL_TEXT} caracteres)."
        )
    if len(text) > 4000:
        raise InvalidInput("La propuesta es demasiado larga (máximo 4000 caracteres).")
    citizen_id = new.citizen_id
    if new.conversation_id is not None:
        conversation = await session.get(Conversation, new.conversation_id)
        if conversation is None:
            raise NotFound("No existe esa conversación.")
        citizen_id = citizen_id or conversation.citizen_id
        title = await _unmasked(session, new.conversation_id, title)
        text = await _unmasked(session, new.conversation_id, text)
    proposal = Proposal(
        process=process,
        title=title,
        text=text,
        citizen_id=citizen_id,
        conversation_id=new.conversation_id,
        channel=new.channel,
        status="received",
    )
    session.add(proposal)
    await session.flush()
    audit(
        session,
        "proposal.submit",
        conversation_id=new.conversation_id,
        actor_type="citizen",
        actor_id=citizen_id,
        details={"proposal_id": proposal.id, "process_id": process.id, "channel": new.channel},
    )
    if new.conversation_id is not None:
        await append_message(
            session,
            new.conversation_id,
            "system",
            f"Propuesta «{pii.mask(title)}» enviada al proceso de participación "
            f"«{process.title}». La revisará {process.unit.name}.",
        )
    await session.commit()
    logger.info(
        "participation.proposal_submitted",
        extra={
            "proposal_id": proposal.id,
            "process_id": process.id,
            "channel": new.channel,
            "chars": len(text),
        },
    )
    _publish(hub, "proposal.created", proposal)
    return proposal


async def proposals_of_citizen(session: AsyncSession, citizen_id: str) -> list[PropuestaCiudadana]:
    """A Miespacio account's proposals: sent from it, or from a conversation linked to it."""
    rows = await session.scalars(
        select(Proposal).where(_of_citizen(citizen_id)).order_by(Proposal.created_at.desc())
    )
    return [citizen_view(p) for p in rows]


async def proposals_of_conversation(
    session: AsyncSession, conversation_id: str
) -> list[PropuestaCiudadana]:
    rows = await session.scalars(
        select(Proposal)
        .where(Proposal.conversation_id == conversation_id)
        .order_by(Proposal.created_at.desc())
    )
    return [citizen_view(p) for p in rows]


def masked_for_analytics(proposal: Proposal) -> dict[str, Any]:
    """What analytics may keep of a proposal: no author, personal data masked."""
    return {
        "id": proposal.id,
        "process_id": proposal.process_id,
        "channel": proposal.channel,
        "status": proposal.status,
        "title": pii.mask(proposal.title),
        "text": pii.mask(proposal.text),
        "created_at": proposal.created_at.isoformat(),
    }


# -- views ---------------------------------------------------------------------------------------


def document_out(document: ProcessDocument) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        filename=document.filename,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        created_at=document.created_at,
    )


def process_out(
    process: ParticipatoryProcess,
    agent: Agent,
    documents: list[ProcessDocument],
    counts: dict[str, int],
) -> ProcessOut:
    unit = UnitOut.of(process.unit)
    assert unit is not None
    return ProcessOut(
        id=process.id,
        unit=unit,
        title=process.title,
        description=process.description,
        starts_on=process.starts_on,
        ends_on=process.ends_on,
        status=status_of(process),  # type: ignore[arg-type]
        published_at=process.published_at,
        closed_at=process.closed_at,
        created_at=process.created_at,
        updated_at=process.updated_at,
        may_manage=may_manage(agent, process),
        documents=[document_out(d) for d in documents],
        proposal_counts=counts,
    )


def proposal_out(proposal: Proposal) -> ProposalOut:
    return ProposalOut(
        id=proposal.id,
        process_id=proposal.process_id,
        title=proposal.title,
        text=proposal.text,
        channel=proposal.channel,
        status=proposal.status,  # type: ignore[arg-type]
        from_miespacio_account=proposal.citizen_id is not None,
        conversation_id=proposal.conversation_id,
        rejection_reason=proposal.rejection_reason,
        answer=proposal.answer,
        created_at=proposal.created_at,
        moderated_at=proposal.moderated_at,
        answered_at=proposal.answered_at,
    )


def citizen_view(proposal: Proposal) -> PropuestaCiudadana:
    return PropuestaCiudadana(
        id=proposal.id,
        proceso=proposal.process_id,
        proceso_titulo=proposal.process.title,
        titulo=proposal.title,
        texto=proposal.text,
        canal=proposal.channel,
        estado=proposal.status,  # type: ignore[arg-type]
        estado_texto=STATUS_TEXTS[proposal.status],
        motivo_rechazo=proposal.rejection_reason,
        respuesta=proposal.answer,
        fecha=proposal.created_at,
        fecha_respuesta=proposal.answered_at,
    )


def public_proposal(proposal: Proposal) -> PropuestaPublica:
    return PropuestaPublica(
        id=proposal.id,
        titulo=pii.mask(proposal.title),
        texto=pii.mask(proposal.text),
        estado="respondida" if proposal.status == "answered" else "publicada",
        respuesta=proposal.answer,
        fecha=proposal.created_at,
        fecha_respuesta=proposal.answered_at,
    )


# -- helpers -------------------------------------------------------------------------------------


async def _public(
    session: AsyncSession, processes: list[ParticipatoryProcess], *, with_proposals: bool
) -> list[ProcesoPublico]:
    ids = [p.id for p in processes]
    documents = await _documents(session, ids)
    proposals: dict[int, list[Proposal]] = {}
    if with_proposals and ids:
        for proposal in await session.scalars(
            select(Proposal)
            .where(Proposal.process_id.in_(ids), Proposal.status.in_(("published", "answered")))
            .order_by(Proposal.created_at, Proposal.id)
        ):
            proposals.setdefault(proposal.process_id, []).append(proposal)
    return [
        ProcesoPublico(
            id=p.id,
            titulo=p.title,
            descripcion=p.description,
            unidad=p.unit.name,
            inicio=p.starts_on,
            fin=p.ends_on,
            fin_texto=spanish_date(p.ends_on),
            estado=PUBLIC_STATUS[status_of(p)],  # type: ignore[arg-type]
            documentos=[
                DocumentoPublico(
                    id=d.id,
                    nombre=d.filename,
                    tipo=d.content_type,
                    bytes=d.size_bytes,
                    url=PUBLIC_DOCUMENT_URL.format(id=d.id),
                )
                for d in documents.get(p.id, [])
            ],
            propuestas=[public_proposal(x) for x in proposals.get(p.id, [])],
        )
        for p in processes
    ]


async def _process(session: AsyncSession, process_id: int) -> ParticipatoryProcess:
    process = await session.get(ParticipatoryProcess, process_id)
    if process is None:
        raise NotFound(PROCESS_NOT_FOUND)
    return process


async def _managed(session: AsyncSession, agent: Agent, process_id: int) -> ParticipatoryProcess:
    process = await _process(session, process_id)
    if not may_manage(agent, process):
        raise Forbidden("Solo la unidad que publica este proceso puede modificarlo.")
    return process


async def _managed_proposal(session: AsyncSession, agent: Agent, proposal_id: int) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(PROPOSAL_NOT_FOUND)
    if not may_manage(agent, proposal.process):
        raise Forbidden(
            "Solo la unidad que publica el proceso puede moderar y responder sus propuestas."
        )
    return proposal


async def _publishing_unit(session: AsyncSession, agent: Agent, unit_code: str | None) -> Unit:
    if agent.role == "n2":
        assert agent.unit_id is not None
        if unit_code and (agent.unit is None or unit_code != agent.unit.code):
            raise Forbidden("Solo puede crear procesos de participación de su propia unidad.")
        unit = await session.get(Unit, agent.unit_id)
        assert unit is not None
        return unit
    if agent.role != "admin":
        raise Forbidden(
            "Solo las unidades especializadas (N2) pueden crear procesos de participación."
        )
    if not unit_code:
        raise InvalidInput("Indique la unidad que publica el proceso.")
    unit = await session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise NotFound(f"No existe la unidad «{unit_code}».")
    return unit


def _checked_process(data: ProcessData) -> dict[str, Any]:
    title, description = data.title.strip(), data.description.strip()
    if len(title) < MIN_TITLE:
        raise InvalidInput(f"El título es demasiado corto (al menos {MIN_TITLE} caracteres).")
    if len(description) < MIN_DESCRIPTION:
        raise InvalidInput(
            f"Describa el proceso con algo más de detalle (al menos {MIN_DESCRIPTION} caracteres)."
        )
    if data.ends_on <= data.starts_on:
        raise InvalidInput("La fecha de fin debe ser posterior a la fecha de inicio.")
    return {
        "title": title,
        "description": description,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
    }


def _audit_process(
    session: AsyncSession, agent: Agent, action: str, process: ParticipatoryProcess, **extra: Any
) -> None:
    audit(
        session,
        action,
        conversation_id=None,
        actor_type="agent",
        actor_id=agent.id,
        details={"process_id": process.id, "unit_id": process.unit_id, **extra},
    )


async def _commit_process(
    session: AsyncSession, hub: LiveHub, agent: Agent, process: ParticipatoryProcess, kind: str
) -> ProcessOut:
    await session.commit()
    out = await get_process(session, agent, process.id)
    hub.publish(
        TOPIC,
        {"type": kind, "process": {"id": out.id, "status": out.status, "unit": out.unit.code}},
    )
    return out


async def _commit_proposal(
    session: AsyncSession,
    gateway: Gateway,
    hub: LiveHub,
    proposal: Proposal,
    notice: Any,
) -> ProposalOut:
    await session.commit()
    out = proposal_out(proposal)
    _publish(hub, "proposal.updated", proposal)
    if notice is not None:
        conversation = await session.get(Conversation, notice.conversation_id)
        if conversation is not None:
            messages = [MessageOut.of(notice)]
            await gateway.deliver(conversation, messages)
            desk_events.publish_messages(hub, conversation, messages)
    return out


async def _transition(
    session: AsyncSession, proposal: Proposal, expected: str, conflict: str, **values: Any
) -> None:
    """Change the proposal only if it is still in ``expected`` status: of two agents deciding
    at once, one wins and the other gets a conflict (the row lock decides in PostgreSQL)."""
    result = await session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict(conflict)
    await session.refresh(proposal)


def _publish(hub: LiveHub, kind: str, proposal: Proposal) -> None:
    """Ids and status only: the page fetches the text with the agent's permissions."""
    hub.publish(
        TOPIC,
        {
            "type": kind,
            "proposal": {
                "id": proposal.id,
                "process_id": proposal.process_id,
                "status": proposal.status,
            },
        },
    )


async def _tell_citizen(session: AsyncSession, proposal: Proposal, text: str) -> Any:
    """A system line in the conversation the proposal came from (delivered after commit)."""
    if proposal.conversation_id is None:
        return None
    return await append_message(session, proposal.conversation_id, "system", text)


async def _unmasked(session: AsyncSession, conversation_id: str, text: str) -> str:
    """The citizen's own words: the bot saw ``[DNI_1]``, the unit reads the value."""
    parts, position = [], 0
    for match in pii.PLACEHOLDER.finditer(text):
        value = await pii_vault.resolve(session, conversation_id, match.group(0))
        parts += [text[position : match.start()], value.value if value else match.group(0)]
        position = match.end()
    return "".join(parts) + text[position:]


async def _proposal_counts(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, int]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Proposal.process_id, Proposal.status, func.count())
        .where(Proposal.process_id.in_(ids))
        .group_by(Proposal.process_id, Proposal.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for process_id, status, count in rows:
        counts.setdefault(process_id, {})[status] = count
    return counts


async def _documents(session: AsyncSession, ids: list[int]) -> dict[int, list[ProcessDocument]]:
    if not ids:
        return {}
    found: dict[int, list[ProcessDocument]] = {}
    for document in await session.scalars(
        select(ProcessDocument)
        .where(ProcessDocument.process_id.in_(ids))
        .order_by(ProcessDocument.created_at, ProcessDocument.id)
    ):
        found.setdefault(document.process_id, []).append(document)
    return found


def _of_citizen(citizen_id: str) -> ColumnElement[bool]:
    linked = select(Conversation.id).where(Conversation.citizen_id == citizen_id)
    return or_(Proposal.citizen_id == citizen_id, Proposal.conversation_id.in_(linked))
