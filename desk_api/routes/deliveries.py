"""The outbox in the desk: how each message of a conversation left, and «Reintentar»."""

from __future__ import annotations

from fastapi import APIRouter

from desk_api.deps import CurrentAgent, DeskDep, RowId, SessionDep
from desk_api.schemas import DeliveryOut
from desk_api.services import deliveries

router = APIRouter(prefix="/api/desk", tags=["desk"])


@router.get("/conversations/{conversation_id}/deliveries", response_model=list[DeliveryOut])
async def of_conversation(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> list[DeliveryOut]:
    rows = await deliveries.for_agent(session, agent, conversation_id)
    return [DeliveryOut.model_validate(d) for d in rows]


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry(delivery_id: RowId, agent: CurrentAgent, ctx: DeskDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await deliveries.retry(ctx, agent, delivery_id))
