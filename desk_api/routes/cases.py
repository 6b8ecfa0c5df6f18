"""Complaints and suggestions: the bot's routes (self-service token) and the desk's (agents)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from desk_api.deps import CurrentAgent, DeskDep, SelfServiceConversation, SessionDep
from desk_api.errors import Unavailable
from desk_api.selfservice import cases
from desk_api.selfservice.business_days import spanish_date
from desk_api.selfservice.mail import MailSender
from desk_api.selfservice.models import Case, CaseEvent
from desk_api.selfservice.outbox import Outbox
from desk_api.services import case_answers
from desk_api.services.supervision import can_supervise
from knowledge.base import KnowledgeBase, KnowledgeUnavailable
from knowledge.directory import Directory

router = APIRouter(prefix="/api/selfservice/casos", tags=["self-service"])
desk_router = APIRouter(prefix="/api/desk/cases", tags=["desk"])

STATUS_TEXTS = {
    "registrada": "Registrada, pendiente de respuesta",
    "en_tramitacion": "En tramitación",
    "respondida": "Respondida",
    "cerrada": "Cerrada",
}


async def get_case_context(request: Request) -> cases.CaseContext:
    context: cases.CaseContext = request.app.state.cases
    return context


async def get_directory(request: Request) -> Directory:
    kb: KnowledgeBase = request.app.state.knowledge
    try:
        return await asyncio.to_thread(lambda: kb.directory)
    except KnowledgeUnavailable as exc:
        raise Unavailable(
            "El directorio de unidades no está disponible ahora mismo. Inténtelo más tarde."
        ) from exc


async def get_mail(request: Request) -> MailSender | None:
    outbox: Outbox | None = getattr(request.app.state, "outbox", None)
    return outbox.mail if outbox is not None else None


CaseContextDep = Annotated[cases.CaseContext, Depends(get_case_context)]
MailDep = Annotated[MailSender | None, Depends(get_mail)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]


# -- the bot -----------------------------------------------------------------------------------


class CaseIn(BaseModel):
    tipo: Literal["queja", "sugerencia"]
    descripcion: str = Field(max_length=cases.MAX_DESCRIPTION)
    unidad: str = Field(min_length=1, max_length=32, description="DIR3 code")
    fecha: date | None = None  # of the facts
    dni: str | None = Field(default=None, max_length=24, description='"[DNI_1]", "[NIE_1]"')
    contacto: Literal["email", "telefono", "canal"] = "canal"
    contacto_ref: str | None = Field(default=None, max_length=24, description='"[EMAIL_1]"')


class CaseCreatedOut(BaseModel):
    codigo: str
    tipo: str
    unidad: str
    plazo: date
    plazo_texto: str


class LookupIn(BaseModel):
    codigo: str = Field(min_length=1, max_length=40)
    verificacion: str | None = Field(default=None, max_length=24)


class CaseStatusOut(BaseModel):
    codigo: str
    tipo: str
    estado: str
    estado_texto: str
    registrada: datetime
    ultima_actualizacion: datetime
    unidad: str
    plazo: date
    plazo_texto: str
    respuesta: str | None

    @classmethod
    def of(cls, case: Case) -> CaseStatusOut:
        return cls(
            codigo=case.code,
            tipo=case.kind,
            estado=case.status,
            estado_texto=STATUS_TEXTS.get(case.status, case.status),
            registrada=case.created_at,
            ultima_actualizacion=case.updated_at,
            unidad=case.unit_name,
            plazo=case.deadline,
            plazo_texto=spanish_date(case.deadline),
            respuesta=case.answer,
        )


@router.post("", response_model=CaseCreatedOut, status_code=201)
@router.post("/", response_model=CaseCreatedOut, status_code=201, include_in_schema=False)
async def create_case(
    body: CaseIn,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    ctx: CaseContextDep,
    directory: DirectoryDep,
) -> CaseCreatedOut:
    new = cases.NewCase(
        kind=body.tipo,
        description=body.descripcion,
        unit_code=body.unidad,
        occurred_on=body.fecha,
        dni_ref=body.dni,
        contact_preference=body.contacto,
        contact_ref=body.contacto_ref,
    )
    case = await cases.create(session, ctx, directory, conversation_id, new)
    return CaseCreatedOut(
        codigo=case.code,
        tipo=case.kind,
        unidad=case.unit_name,
        plazo=case.deadline,
        plazo_texto=spanish_date(case.deadline),
    )


@router.post("/consulta", response_model=CaseStatusOut)
async def lookup(
    body: LookupIn,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    ctx: CaseContextDep,
) -> CaseStatusOut:
    case = await cases.status(session, ctx, conversation_id, body.codigo, body.verificacion)
    return CaseStatusOut.of(case)


@router.get("", response_model=list[CaseStatusOut])
@router.get("/", response_model=list[CaseStatusOut], include_in_schema=False)
async def my_cases(
    conversation_id: SelfServiceConversation, session: SessionDep
) -> list[CaseStatusOut]:
    return [CaseStatusOut.of(c) for c in await cases.cases_of_citizen(session, conversation_id)]


# -- the desk ----------------------------------------------------------------------------------


class CaseEventOut(BaseModel):
    kind: str
    actor_type: str
    actor_id: str | None
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, event: CaseEvent) -> CaseEventOut:
        return cls(
            kind=event.kind,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            note=event.note,
            created_at=event.created_at,
        )


class DeskCaseOut(BaseModel):
    code: str
    kind: str
    status: str
    channel: str
    conversation_id: str | None
    verified_citizen: bool
    unit_code: str  # DIR3 code of the responsible unit
    unit_name: str
    desk_unit: str | None  # the desk unit handling it
    deadline: date
    deadline_text: str
    created_at: datetime
    updated_at: datetime
    excerpt: str

    @classmethod
    def of(cls, case: Case) -> DeskCaseOut:
        return cls(
            code=case.code,
            kind=case.kind,
            status=case.status,
            channel=case.channel,
            conversation_id=case.conversation_id,
            verified_citizen=case.citizen_id is not None,
            unit_code=case.unit_code,
            unit_name=case.unit_name,
            desk_unit=case.unit.name if case.unit else None,
            deadline=case.deadline,
            deadline_text=spanish_date(case.deadline),
            created_at=case.created_at,
            updated_at=case.updated_at,
            excerpt=case.description[:140],
        )


class DeskCaseDetail(DeskCaseOut):
    description: str
    occurred_on: date | None
    dni: str | None
    contact_preference: str
    contact: str | None
    answer: str | None
    answered_at: datetime | None
    events: list[CaseEventOut]


class AnswerIn(BaseModel):
    text: str = Field(min_length=1, max_length=cases.MAX_ANSWER)


class CloseIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


async def _detail(session: SessionDep, case: Case) -> DeskCaseDetail:
    trail = await cases.events(session, case)
    return DeskCaseDetail(
        **DeskCaseOut.of(case).model_dump(),
        description=case.description,
        occurred_on=case.occurred_on,
        dni=case.dni,
        contact_preference=case.contact_preference,
        contact=case.contact,
        answer=case.answer,
        answered_at=case.answered_at,
        events=[CaseEventOut.of(e) for e in trail],
    )


@desk_router.get("", response_model=list[DeskCaseOut])
async def list_cases(
    agent: CurrentAgent,
    session: SessionDep,
    status: Literal["pendiente", "registrada", "en_tramitacion", "respondida", "cerrada"]
    | None = Query(default=None, description="«pendiente»: registrada or en_tramitacion"),
    pending_approval: bool = Query(default=False, description="«Pendientes de aprobación»"),
) -> list[DeskCaseOut]:
    if pending_approval:
        return [DeskCaseOut.of(c) for c in await case_answers.pending(session, agent)]
    return [DeskCaseOut.of(c) for c in await cases.list_for_agent(session, agent, status)]


@desk_router.get("/{code}", response_model=DeskCaseDetail)
async def get_case(code: str, agent: CurrentAgent, session: SessionDep) -> DeskCaseDetail:
    return await _detail(session, await cases.get_for_agent(session, agent, code))


@desk_router.post("/{code}/answer", response_model=DeskCaseDetail)
async def answer_case(
    code: str, body: AnswerIn, agent: CurrentAgent, ctx: DeskDep, cases_ctx: CaseContextDep
) -> DeskCaseDetail:
    case = await cases.answer(
        ctx.session, ctx.gateway, ctx.hub, agent, code, body.text, cases_ctx.settings
    )
    return await _detail(ctx.session, case)


@desk_router.post("/{code}/close", response_model=DeskCaseDetail)
async def close_case(
    code: str, agent: CurrentAgent, session: SessionDep, body: CloseIn | None = None
) -> DeskCaseDetail:
    case = await cases.close(session, agent, code, body.note if body else None)
    return await _detail(session, case)


# -- the formal answer: draft, approval, sending ------------------------------


class RevisionOut(BaseModel):
    number: int
    text: str
    author: str
    author_id: int
    created_at: datetime


class DraftOut(BaseModel):
    code: str
    case_status: str
    state: str  # sin_borrador | borrador | en_revision | devuelta | enviada
    version: int  # send it back with each change: a stale one gets a 409
    approval_required: bool
    current: str | None
    comment: str | None  # the supervisor's, when returned (internal)
    revisions: list[RevisionOut]
    can_edit: bool
    can_approve: bool

    @classmethod
    def of(cls, view: case_answers.DraftView, agent: CurrentAgent) -> DraftOut:
        editable = view.state in ("sin_borrador", *case_answers.EDITABLE)
        open_case = view.case.status not in ("respondida", "cerrada")
        return cls(
            code=view.case.code,
            case_status=view.case.status,
            state=view.state,
            version=view.version,
            approval_required=view.approval_required,
            current=view.current,
            comment=view.draft.comment if view.draft else None,
            revisions=[
                RevisionOut(
                    number=r.number,
                    text=r.text,
                    author=r.author.full_name,
                    author_id=r.author_id,
                    created_at=r.created_at,
                )
                for r in view.revisions
            ],
            can_edit=open_case and editable and case_answers.may_draft(agent, view.case),
            can_approve=open_case and view.state == "en_revision" and can_supervise(agent),
        )


class DraftIn(BaseModel):
    text: str = Field(min_length=1, max_length=cases.MAX_ANSWER)
    version: int | None = Field(default=None, ge=0)


class StepIn(BaseModel):
    version: int | None = Field(default=None, ge=0)


class ApproveIn(StepIn):
    text: str | None = Field(default=None, min_length=1, max_length=cases.MAX_ANSWER)


class ReturnIn(StepIn):
    comment: str = Field(min_length=1, max_length=case_answers.MAX_COMMENT)


@desk_router.get("/{code}/draft", response_model=DraftOut)
async def get_draft(
    code: str, agent: CurrentAgent, session: SessionDep, cases_ctx: CaseContextDep
) -> DraftOut:
    return DraftOut.of(await case_answers.view(session, cases_ctx.settings, agent, code), agent)


@desk_router.put("/{code}/draft", response_model=DraftOut)
async def save_draft(
    code: str, body: DraftIn, agent: CurrentAgent, ctx: DeskDep, cases_ctx: CaseContextDep
) -> DraftOut:
    view = await case_answers.save(
        ctx.session, cases_ctx.settings, ctx.hub, agent, code, body.text, body.version
    )
    return DraftOut.of(view, agent)


@desk_router.post("/{code}/draft/submit", response_model=DraftOut)
async def submit_draft(
    code: str,
    agent: CurrentAgent,
    ctx: DeskDep,
    cases_ctx: CaseContextDep,
    body: StepIn | None = None,
) -> DraftOut:
    version = body.version if body else None
    view = await case_answers.submit(ctx.session, cases_ctx.settings, ctx.hub, agent, code, version)
    return DraftOut.of(view, agent)


@desk_router.post("/{code}/draft/return", response_model=DraftOut)
async def return_draft(
    code: str, body: ReturnIn, agent: CurrentAgent, ctx: DeskDep, cases_ctx: CaseContextDep
) -> DraftOut:
    view = await case_answers.return_to_unit(
        ctx.session, cases_ctx.settings, ctx.hub, agent, code, body.comment, body.version
    )
    return DraftOut.of(view, agent)


@desk_router.post("/{code}/draft/approve", response_model=DraftOut)
async def approve_draft(
    code: str,
    agent: CurrentAgent,
    ctx: DeskDep,
    cases_ctx: CaseContextDep,
    mail: MailDep,
    body: ApproveIn | None = None,
) -> DraftOut:
    senders = case_answers.Senders(ctx.gateway, ctx.hub, mail)
    view = await case_answers.approve(
        ctx.session,
        cases_ctx.settings,
        senders,
        agent,
        code,
        body.text if body else None,
        body.version if body else None,
    )
    return DraftOut.of(view, agent)


@desk_router.post("/{code}/draft/send", response_model=DraftOut)
async def send_draft(
    code: str,
    agent: CurrentAgent,
    ctx: DeskDep,
    cases_ctx: CaseContextDep,
    mail: MailDep,
    body: StepIn | None = None,
) -> DraftOut:
    senders = case_answers.Senders(ctx.gateway, ctx.hub, mail)
    version = body.version if body else None
    view = await case_answers.send(ctx.session, cases_ctx.settings, senders, agent, code, version)
    return DraftOut.of(view, agent)
