"""What conversations are about: the procedure categories, and an agent's correction."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from desk_api.deps import CurrentAgent, HubDep, SessionDep
from desk_api.routes.conversations import conversation_detail
from desk_api.schemas import ConversationDetail
from desk_api.services import topics
from knowledge.base import KnowledgeBase

router = APIRouter(prefix="/api/desk", tags=["desk-topics"])


class CategoryIn(BaseModel):
    category: str | None = Field(default=None, max_length=64, description="null: none")


def _kb(request: Request) -> KnowledgeBase | None:
    kb: KnowledgeBase | None = getattr(request.app.state, "knowledge", None)
    return kb


@router.get("/categories", response_model=list[str])
async def categories(agent: CurrentAgent, request: Request) -> list[str]:
    """The procedure inventory's categories, for the inbox's filter and the detail."""
    return topics.catalogue(_kb(request))


@router.put("/conversations/{conversation_id}/category", response_model=ConversationDetail)
async def set_category(
    conversation_id: str,
    body: CategoryIn,
    agent: CurrentAgent,
    session: SessionDep,
    hub: HubDep,
    request: Request,
) -> ConversationDetail:
    conversation = await topics.set_category(
        session, hub, _kb(request), agent, conversation_id, body.category
    )
    return await conversation_detail(session, conversation)
