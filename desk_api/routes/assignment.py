"""Agents' status and capacity, supervisors' reassignment, N2 → N1 return and «Posponer»."""

from __future__ import annotations

from fastapi import APIRouter

from desk_api.assignment_schemas import (
    AgentLoadOut,
    CapacityIn,
    ReassignIn,
    ReturnIn,
    SnoozeIn,
    SnoozeOut,
    StatusIn,
)
from desk_api.deps import CurrentAgent, DeskDep, RowId
from desk_api.routes.conversations import conversation_detail
from desk_api.schemas import ConversationDetail
from desk_api.services import assignment, snooze

router = APIRouter(prefix="/api/desk", tags=["desk-assignment"])


@router.get("/agents/me/status", response_model=AgentLoadOut)
async def my_status(agent: CurrentAgent, ctx: DeskDep) -> AgentLoadOut:
    return await assignment.load_of(ctx.session, agent, assignment.settings_of(ctx))


@router.put("/agents/me/status", response_model=AgentLoadOut)
async def set_my_status(body: StatusIn, agent: CurrentAgent, ctx: DeskDep) -> AgentLoadOut:
    """available | busy | away; becoming available pulls waiting conversations at once."""
    return await assignment.set_status(ctx, agent, body.status)


@router.post("/auth/logout", response_model=AgentLoadOut)
async def logout(agent: CurrentAgent, ctx: DeskDep) -> AgentLoadOut:
    """Leaving the desk: the agent is «away» and gets nothing new (the token simply expires)."""
    return await assignment.set_status(ctx, agent, "away")


@router.get("/agents", response_model=list[AgentLoadOut])
async def agents(agent: CurrentAgent, ctx: DeskDep) -> list[AgentLoadOut]:
    """Supervisors: every informer with status, open conversations and capacity."""
    return await assignment.agents_load(ctx, agent)


@router.put("/agents/{agent_id}/capacity", response_model=AgentLoadOut)
async def set_capacity(
    agent_id: RowId, body: CapacityIn, agent: CurrentAgent, ctx: DeskDep
) -> AgentLoadOut:
    return await assignment.set_capacity(ctx, agent, agent_id, body.capacity)


@router.post("/conversations/{conversation_id}/assign", response_model=ConversationDetail)
async def reassign(
    conversation_id: str, body: ReassignIn, agent: CurrentAgent, ctx: DeskDep
) -> ConversationDetail:
    conversation = await assignment.reassign(ctx, agent, conversation_id, body.agent_id)
    return await conversation_detail(ctx.session, conversation)


@router.post("/conversations/{conversation_id}/return", response_model=ConversationDetail)
async def return_to_n1(
    conversation_id: str, body: ReturnIn, agent: CurrentAgent, ctx: DeskDep
) -> ConversationDetail:
    """N2 → N1 with an internal answer for N1 to relay (never sent to the citizen)."""
    conversation = await assignment.return_to_n1(ctx, agent, conversation_id, body.answer)
    return await conversation_detail(ctx.session, conversation)


@router.put("/conversations/{conversation_id}/snooze", response_model=SnoozeOut)
async def snooze_conversation(
    conversation_id: str, body: SnoozeIn, agent: CurrentAgent, ctx: DeskDep
) -> SnoozeOut:
    row = await snooze.snooze(ctx, agent, conversation_id, body.until, body.until_reply)
    return SnoozeOut(
        conversation_id=row.conversation_id,
        agent_id=row.agent_id,
        until=row.until,
        until_reply=row.until_reply,
        created_at=row.created_at,
    )


@router.delete("/conversations/{conversation_id}/snooze", response_model=ConversationDetail)
async def wake_conversation(
    conversation_id: str, agent: CurrentAgent, ctx: DeskDep
) -> ConversationDetail:
    """Back to «Mías» before its time."""
    return await conversation_detail(
        ctx.session, await snooze.unsnooze(ctx, agent, conversation_id)
    )
