"""The channel interface: how messages leave the platform towards a citizen.

Each channel formats for itself (buttons, length, voice); the gateway, the handoff and the
desk only call ``deliver``. The web chat is the first channel; later ones plug in here.
"""

from __future__ import annotations

from typing import Protocol

from desk_api.live import LiveHub, conversation_topic
from desk_api.models import Conversation
from desk_api.schemas import MessageOut


class Channel(Protocol):
    name: str

    async def deliver(self, conversation: Conversation, messages: list[MessageOut]) -> None:
        """Send messages to the citizen on this channel."""


class WebChatChannel:
    """The portal's web chat: the browser listens on its conversation's live stream."""

    name = "webchat"

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    async def deliver(self, conversation: Conversation, messages: list[MessageOut]) -> None:
        topic = conversation_topic(conversation.id)
        for message in messages:
            self._hub.publish(
                topic, {"type": "message", "message": message.model_dump(mode="json")}
            )

    def notify_controller(self, conversation: Conversation) -> None:
        self._hub.publish(
            conversation_topic(conversation.id),
            {"type": "controller", "controller": conversation.controller},
        )

    def notify_typing(self, conversation: Conversation) -> None:
        self._hub.publish(
            conversation_topic(conversation.id), {"type": "typing", "sender": "agent"}
        )
