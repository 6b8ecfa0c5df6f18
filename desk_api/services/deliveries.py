"""The outbox as the desk sees it: which messages reached the citizen's channel, which did not,
and sending a failed one again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import Delivery
from desk_api.errors import Conflict, NotFound
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation, utcnow
from desk_api.schemas import ConversationSummary, DeliveryOut
from desk_api.services import desk
from desk_api.services.transcript import audit

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
NOT_VISIBLE = "No existe esa entrega o no tiene permiso para verla."
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "telegram": "Telegram", "email": "correo electrónico"}


async def of_conversation(session: AsyncSession, conversation_id: str) -> list[Delivery]:
    """Every delivery of the conversation, oldest first (no permission check: callers do it)."""
    return list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.conversation_id == conversation_id)
            .order_by(Delivery.id)
        )
    )


async def for_agent(session: AsyncSession, agent: Agent, conversation_id: str) -> list[Delivery]:
    await desk.get_visible(session, agent, conversation_id)
    return await of_conversation(session, conversation_id)


async def retry(ctx: desk.DeskContext, agent: Agent, delivery_id: int) -> Delivery:
    """Queue a failed delivery again from scratch (the provider may be back, or the citizen
    unblocked the bot); atomic, so two agents pressing «Reintentar» queue it once."""
    session = ctx.session
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(NOT_VISIBLE)
    try:
        conversation = await desk.get_visible(session, agent, delivery.conversation_id)
    except NotFound:
        raise NotFound(NOT_VISIBLE) from None
    elsewhere = await session.scalar(
        select(Delivery.channel).where(
            Delivery.message_id == delivery.message_id,
            Delivery.id != delivery.id,
            Delivery.status != FAILED,
        )
    )
    if elsewhere is not None:
        name = CHANNEL_NAMES.get(elsewhere, elsewhere)
        raise Conflict(f"Ese mensaje ya se ha enviado (o se está enviando) por {name}.")
    previous_error = delivery.last_error
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == FAILED)
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await session.refresh(delivery)
        if delivery.status == SENT:
            raise Conflict("Ese mensaje ya se ha entregado.")
        raise Conflict("Ese mensaje ya se está enviando de nuevo.")
    audit(
        session,
        "delivery.retry",
        conversation_id=delivery.conversation_id,
        actor_type="agent",
        actor_id=agent.id,
        details={
            "delivery_id": delivery.id,
            "message_id": delivery.message_id,
            "channel": delivery.channel,
            "previous_error": previous_error,
        },
    )
    await session.commit()
    await session.refresh(delivery)
    if ctx.gateway.worker is not None:
        ctx.gateway.worker.wake()
    publish(ctx.hub, "delivery.updated", conversation, delivery)
    return delivery


def publish(hub: LiveHub, kind: str, conversation: Conversation, delivery: Delivery) -> None:
    """Tell the desks that may see the conversation (``desk_events.visible_to`` reads the
    summary) how a delivery stands."""
    hub.publish(DESK_TOPIC, event(kind, conversation, delivery))


def event(kind: str, conversation: Conversation, delivery: Delivery) -> dict[str, Any]:
    summary = ConversationSummary.of(conversation, None).model_dump(mode="json")
    summary.pop("last_message")  # unknown here: the desk keeps the preview it has
    return {
        "type": kind,
        "conversation_id": conversation.id,
        "delivery": DeliveryOut.model_validate(delivery).model_dump(mode="json"),
        "conversation": summary,
    }
