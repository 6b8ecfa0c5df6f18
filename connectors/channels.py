"""The channel interface: how messages reach the platform and how they leave it.

The gateway, the handoff and the desk never care where a message came from. A channel module
(``connectors/<channel>.py``) verifies and parses its provider's webhooks into an
``InboundMessage`` for ``Gateway.accept``, and formats the transcript's messages for its
provider in ``send`` (inline keyboards, numbered options, short spoken sentences). Messages to a
provider channel go through the persistent outbox (``connectors.outbox``); the web chat, whose
browser listens on a live stream, is served directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from desk_api.live import LiveHub, conversation_topic
from desk_api.models import Conversation
from desk_api.schemas import MessageOut

# The channels by the ``channel`` a conversation stores, as citizens and informers read them.
CHANNEL_NAMES = {
    "webchat": "Chat web",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "email": "Correo electrónico",
    "voz": "Teléfono",
    "presencial": "Presencial",
}
# A phone call's or an office visit's transcript: nothing to write into afterwards.
SPOKEN_CHANNELS = frozenset({"voz", "presencial"})


@dataclass(frozen=True)
class Capabilities:
    buttons: bool  # shows buttons itself; otherwise the gateway understands "2", "la segunda"
    bot: bool = True  # the assistant answers; otherwise messages go straight to the desk (email)
    outbox: bool = True  # replies leave later through the outbox; False: in the same request


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class InboundMessage:
    """One citizen message as a provider delivered it, already verified by its channel."""

    channel: str
    user_id: str  # the provider's stable id for the person: chat id, phone (E.164), email
    address: str  # where replies go (often the same as user_id)
    text: str
    external_id: str | None = None  # update_id, MessageSid, Message-ID: retries are dropped
    payload: str | None = None  # a button the citizen pressed, as the bot's payload
    files: list[IncomingFile] = field(default_factory=list)
    # Provider ids of earlier messages this one answers (email In-Reply-To / References).
    replies_to: list[str] = field(default_factory=list)
    # The first message of a new contact (a phone call): start a fresh conversation unless a
    # person still attends the identity's current one.
    new_conversation: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)  # goes to Rasa: no personal data


@dataclass(frozen=True)
class Recipient:
    identity_id: int
    channel: str
    address: str
    user_hash: str
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class OutgoingAttachment:
    id: str
    filename: str
    content_type: str
    url: str  # signed, for providers that fetch media themselves


@dataclass(frozen=True)
class Outgoing:
    """A transcript message to send: what the channel formats for its provider."""

    message_id: int
    conversation_id: str
    sender: str  # bot | agent | system
    text: str
    buttons: list[dict[str, str]]  # [{"title": ..., "payload": ...}]
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    # Provider ids of the conversation's earlier messages (email threading).
    thread: list[str] = field(default_factory=list)


class DeliveryFailed(Exception):
    """A provider did not take a message. ``transient`` failures are retried with backoff;
    ``elsewhere`` asks the outbox to try another channel of the same citizen (WhatsApp's
    24-hour window closed and no template configured)."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        elsewhere: bool = False,
        retry_after: float | None = None,  # seconds the provider asked us to wait (429)
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.elsewhere = elsewhere
        self.retry_after = retry_after


class ProviderChannel(Protocol):
    name: str
    capabilities: Capabilities

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        """Hand one message to the provider; return its id for it, or raise DeliveryFailed."""


class WebChatChannel:
    """The portal's web chat: the browser listens on its conversation's live stream."""

    name = "webchat"
    capabilities = Capabilities(buttons=True)

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
