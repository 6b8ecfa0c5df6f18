from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from desk_api.assignment_models import ConversationSnooze
from desk_api.deps import MAX_ROW_ID, CurrentAgent, DeskDep, SessionDep
from desk_api.models import AuditEvent, Conversation, Unit
from desk_api.schemas import (
    AgentReplyIn,
    AssistOut,
    AuditOut,
    ConversationDetail,
    ConversationSummary,
    DeliveryOut,
    DerivationOut,
    DeriveIn,
    MessageOut,
    ResolveIn,
    SnoozeRef,
    UnitOut,
)
from desk_api.services import assist, attachments, deadlines, deliveries, desk, inbox
from desk_api.services import labels as label_service
from knowledge.base import KnowledgeBase

router = APIRouter(prefix="/api/desk", tags=["desk"])


async def conversation_detail(
    ctx_session: SessionDep, conversation: Conversation
) -> ConversationDetail:
    messages = await desk.transcript(ctx_session, conversation.id)
    derivations = await desk.derivations(ctx_session, conversation.id)
    outbox = await deliveries.of_conversation(ctx_session, conversation.id)
    tags = await label_service.of_conversations(ctx_session, [conversation.id])
    summary = ConversationSummary.of(
        conversation, messages[-1].text if messages else None, tags.get(conversation.id, [])
    )
    await deadlines.annotate(ctx_session, [summary])
    summary.snooze = SnoozeRef.of(await ctx_session.get(ConversationSnooze, conversation.id))
    return ConversationDetail(
        **summary.model_dump(),
        messages=await attachments.with_attachments(ctx_session, messages),
        derivations=[DerivationOut.of(d) for d in derivations],
        citizen_id=conversation.citizen_id,
        deliveries=[DeliveryOut.model_validate(d) for d in outbox],
    )


@router.get("/units", response_model=list[UnitOut])
async def units(agent: CurrentAgent, session: SessionDep) -> list[UnitOut]:
    rows = await session.scalars(select(Unit).order_by(Unit.name))
    return [UnitOut(code=u.code, name=u.name) for u in rows]


@router.get("/conversations", response_model=list[ConversationSummary])
async def list_conversations(
    agent: CurrentAgent,
    session: SessionDep,
    response: Response,
    view: Literal["queue", "mine", "waiting", "snoozed", "unit", "resolved", "all"] = Query(
        default="queue"
    ),
    channel: str | None = Query(default=None, max_length=32),
    label: int | None = Query(default=None, ge=1, le=MAX_ROW_ID, description="A label's id"),
    q: str | None = Query(default=None, max_length=200, description="Words in the transcript"),
    limit: int = Query(default=inbox.DEFAULT_LIMIT, ge=1, le=inbox.MAX_LIMIT),
    before: str | None = Query(default=None, max_length=512, description="X-Next-Cursor"),
    deadline: Literal["breached", "due_soon"] | None = Query(default=None),
    category: str | None = Query(default=None, max_length=64, description="Procedure category"),
) -> list[ConversationSummary]:
    """One page of a view; the next page's cursor comes in the ``X-Next-Cursor`` header."""
    query = inbox.InboxQuery(
        view, channel or None, label, q, limit, before or None, deadline, category or None
    )
    found = await inbox.page(session, agent, query)
    if found.next_cursor:
        response.headers["X-Next-Cursor"] = found.next_cursor
    return found.items


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> ConversationDetail:
    conversation = await desk.get_visible(session, agent, conversation_id)
    return await conversation_detail(session, conversation)


@router.get("/conversations/{conversation_id}/suggestions", response_model=AssistOut)
async def suggestions(
    conversation_id: str,
    agent: CurrentAgent,
    session: SessionDep,
    request: Request,
    q: str | None = Query(default=None, max_length=1000, description="The informer's own words"),
    k: int = Query(default=5, ge=1, le=10),
) -> AssistOut:
    """Agent assist: procedures for what the citizen asked (or for ``q``), with ready answers."""
    kb: KnowledgeBase = request.app.state.knowledge
    return await assist.suggestions(session, kb, agent, conversation_id, q, k)


@router.post("/conversations/{conversation_id}/take", response_model=ConversationDetail)
async def take(conversation_id: str, agent: CurrentAgent, ctx: DeskDep) -> ConversationDetail:
    return await conversation_detail(ctx.session, await desk.take(ctx, agent, conversation_id))


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut)
async def reply(
    conversation_id: str, body: AgentReplyIn, agent: CurrentAgent, ctx: DeskDep
) -> MessageOut:
    return await desk.reply(ctx, agent, conversation_id, body.text)


@router.post("/conversations/{conversation_id}/typing", status_code=204)
async def typing(conversation_id: str, agent: CurrentAgent, ctx: DeskDep) -> None:
    await desk.typing(ctx, agent, conversation_id)


@router.post("/conversations/{conversation_id}/derive", response_model=ConversationDetail)
async def derive(
    conversation_id: str, body: DeriveIn, agent: CurrentAgent, ctx: DeskDep
) -> ConversationDetail:
    conversation = await desk.derive(ctx, agent, conversation_id, body.unit_code, body.reason)
    return await conversation_detail(ctx.session, conversation)


@router.post("/conversations/{conversation_id}/resolve", response_model=ConversationDetail)
async def resolve(
    conversation_id: str, agent: CurrentAgent, ctx: DeskDep, body: ResolveIn | None = None
) -> ConversationDetail:
    conversation = await desk.resolve(ctx, agent, conversation_id, body.note if body else None)
    return await conversation_detail(ctx.session, conversation)


@router.get("/conversations/{conversation_id}/audit", response_model=list[AuditOut])
async def audit_trail(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> list[AuditOut]:
    await desk.get_visible(session, agent, conversation_id)
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.conversation_id == conversation_id)
        .order_by(AuditEvent.id)
    )
    return [AuditOut.model_validate(r) for r in rows]
