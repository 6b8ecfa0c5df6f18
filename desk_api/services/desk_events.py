"""Events pushed to the desk's WebSocket, and who may receive them."""

from __future__ import annotations

from typing import Any

from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation
from desk_api.schemas import ConversationSummary, MessageOut
from desk_api.services.supervision import can_supervise


def publish_conversation(
    hub: LiveHub, kind: str, conversation: Conversation, last_message: str | None
) -> None:
    summary = ConversationSummary.of(conversation, last_message)
    hub.publish(DESK_TOPIC, {"type": kind, "conversation": summary.model_dump(mode="json")})


def publish_messages(hub: LiveHub, conversation: Conversation, messages: list[MessageOut]) -> None:
    if conversation.handed_off_at is None:  # never handed off: no agent may see it (visible_to)
        return
    for message in messages:
        summary = ConversationSummary.of(conversation, message.text)
        hub.publish(
            DESK_TOPIC,
            {
                "type": "message.created",
                "conversation_id": conversation.id,
                "message": message.model_dump(mode="json"),
                "conversation": summary.model_dump(mode="json"),
            },
        )


def visible_to(agent: Agent, event: dict[str, Any]) -> bool:
    """Same rule as the desk's queries, applied to a live event's conversation summary.
    Events for some agents only name their ``audience``."""
    audience = event.get("audience")
    if isinstance(audience, dict):  # an agent's status and load: that agent and supervisors
        return agent.id in audience.get("agents", ()) or bool(
            audience.get("supervisors") and can_supervise(agent)
        )
    if audience == "supervisor":  # deadline escalations
        return agent.role == "supervisor"
    if audience == "unit":  # a case's deadline: its unit
        unit_code = event.get("unit_code")
        own = agent.unit is not None and agent.unit.code == unit_code
        return agent.role in ("admin", "supervisor") or (agent.role == "n2" and own)
    conversation = event.get("conversation") or {}
    if conversation.get("handed_off_at") is None:
        return False
    if agent.role in ("admin", "supervisor"):
        return True
    if agent.role == "n1":
        return True
    unit = conversation.get("unit") or {}
    return agent.unit is not None and unit.get("code") == agent.unit.code
