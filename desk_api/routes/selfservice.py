"""Self-service API for the bot's actions: who the conversation is, and its vault references.

Every route here is called with the conversation's self-service token (``SelfServiceConversation``)
and acts for that conversation only. The flows have their own routers (payments, Miespacio,
cases) under the same prefix."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from connectors import pii_vault
from desk_api.deps import SelfServiceConversation, SessionDep
from desk_api.errors import NotFound
from desk_api.models import Conversation

router = APIRouter(prefix="/api/selfservice", tags=["self-service"])


class WhoAmI(BaseModel):
    conversation_id: str
    channel: str
    citizen_id: str | None  # the verified Miespacio account linked to this conversation


class PiiReference(BaseModel):
    ref: str
    kind: str


@router.get("/me", response_model=WhoAmI)
async def whoami(conversation_id: SelfServiceConversation, session: SessionDep) -> WhoAmI:
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None  # checked by the dependency
    return WhoAmI(
        conversation_id=conversation.id,
        channel=conversation.channel,
        citizen_id=conversation.citizen_id,
    )


@router.get("/pii/{ref}", response_model=PiiReference)
async def pii_reference(
    ref: str, conversation_id: SelfServiceConversation, session: SessionDep
) -> PiiReference:
    """Whether a reference exists in this conversation, and its kind (never its value)."""
    value = await pii_vault.resolve(session, conversation_id, ref)
    if value is None:
        raise NotFound("Esa referencia no existe en esta conversación.")
    return PiiReference(ref=value.ref, kind=value.kind)
