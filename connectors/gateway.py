"""The gateway owns every conversation: it stores each inbound message and routes it by controller.

``bot`` → Rasa's REST channel (masked text, channel metadata); ``human`` → the desk only.
Bot replies, and the handoffs the bot asks for, come back through here, so there is one
transcript per conversation whatever the channel and whoever answers.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors import pii_vault
from connectors.channels import Channel, WebChatChannel
from connectors.rasa_client import BotReply, RasaClient, RasaUnavailable
from desk_api.errors import InvalidInput, NotFound, Unauthorized
from desk_api.live import LiveHub
from desk_api.models import Conversation, Message, utcnow
from desk_api.schemas import MessageOut
from desk_api.security import citizen_token_matches, new_citizen_token
from desk_api.selfservice.access import SelfServiceAccess
from desk_api.services import desk_events
from desk_api.services.transcript import append_message, audit
from handoff import notices
from handoff.contract import Controller, HandoffReason, HandoffRequest, State, Tier
from handoff.summary import build_summary

logger = logging.getLogger(__name__)

SUMMARY_CONTEXT_MESSAGES = 10


@dataclass
class InboundResult:
    message: MessageOut
    replies: list[MessageOut]
    controller: str


class Gateway:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        hub: LiveHub,
        max_message_chars: int,
        self_service: SelfServiceAccess | None = None,
    ) -> None:
        self._sessions = sessions
        self._self_service = self_service
        self._rasa = rasa
        self._hub = hub
        self._max_chars = max_message_chars
        self.webchat = WebChatChannel(hub)
        self._channels: dict[str, Channel] = {self.webchat.name: self.webchat}

    @property
    def rasa(self) -> RasaClient:
        return self._rasa

    # --- conversations -------------------------------------------------------------------

    async def start_conversation(self, channel: str) -> tuple[Conversation, str]:
        token, token_hash = new_citizen_token()
        conversation = Conversation(
            id=str(uuid.uuid4()),
            channel=channel,
            citizen_token_hash=token_hash,
            controller=Controller.BOT,
            state=State.BOT,
        )
        async with self._sessions() as session:
            session.add(conversation)
            audit(
                session,
                "conversation.start",
                conversation_id=conversation.id,
                actor_type="citizen",
                details={"channel": channel},
            )
            await session.commit()
        return conversation, token

    async def authorize(
        self, session: AsyncSession, conversation_id: str, token: str | None
    ) -> Conversation:
        """The conversation, if ``token`` proves the caller is its citizen."""
        if not token:
            raise Unauthorized("Falta el código de acceso de la conversación.")
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("No existe esa conversación.")
        if not citizen_token_matches(token, conversation.citizen_token_hash):
            raise Unauthorized("El código de acceso de la conversación no es válido.")
        return conversation

    # --- inbound -------------------------------------------------------------------------

    async def receive(
        self,
        conversation_id: str,
        token: str | None,
        text: str,
        *,
        payload: str | None = None,
        client_message_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> InboundResult:
        """Store a citizen message, then let the bot answer it unless a person attends."""
        if len(text) > self._max_chars:
            raise InvalidInput(
                f"El mensaje es demasiado largo ({len(text)} caracteres). "
                f"El máximo es {self._max_chars}."
            )
        async with self._sessions() as session:
            conversation = await self.authorize(session, conversation_id, token)
            controller = conversation.controller
            duplicate = await self._find_client_message(session, conversation_id, client_message_id)
            if duplicate is not None:
                return InboundResult(MessageOut.of(duplicate), [], controller)
            try:
                message = await append_message(
                    session, conversation_id, "citizen", text, client_message_id=client_message_id
                )
                bot_text = (
                    payload if payload else await pii_vault.mask(session, conversation_id, text)
                )
                await session.commit()
            except IntegrityError:  # the same client_message_id raced in
                await session.rollback()
                duplicate = await self._find_client_message(
                    session, conversation_id, client_message_id
                )
                if duplicate is None:
                    raise
                return InboundResult(MessageOut.of(duplicate), [], controller)
        stored = MessageOut.of(message)
        desk_events.publish_messages(self._hub, conversation, [stored])
        if controller == Controller.HUMAN:
            return InboundResult(stored, [], controller)

        meta = {
            "channel": conversation.channel,
            "message_id": stored.id,
            **(metadata or {}),
            **self._platform_access(conversation_id),
        }
        try:
            replies = await self._rasa.send(conversation_id, bot_text, meta)
        except RasaUnavailable as exc:
            logger.error(
                "gateway.rasa_unavailable",
                extra={"conversation_id": conversation_id, "error": str(exc)},
            )
            replies = [
                BotReply(
                    custom=HandoffRequest(reason=HandoffReason.BOT_UNAVAILABLE).as_custom_payload()
                )
            ]
        out, controller = await self._store_bot_replies(conversation_id, replies)
        return InboundResult(stored, out, controller)

    async def _store_bot_replies(
        self, conversation_id: str, replies: list[BotReply]
    ) -> tuple[list[MessageOut], str]:
        handoff: HandoffRequest | None = None
        async with self._sessions() as session:
            conversation = await self._locked(session, conversation_id)
            stored: list[Message] = []
            for reply in replies:
                request = HandoffRequest.from_custom_payload(reply.custom)
                if request is not None:
                    handoff = request
                if reply.text:
                    stored.append(
                        await append_message(
                            session, conversation_id, "bot", reply.text, buttons=reply.buttons
                        )
                    )
            if handoff is not None and conversation.controller == Controller.BOT:
                stored.append(await self._hand_off(session, conversation, handoff))
            else:
                handoff = None
            await session.commit()
            await session.refresh(conversation)
        out = [MessageOut.of(m) for m in stored]
        await self.deliver(conversation, out)
        desk_events.publish_messages(self._hub, conversation, out)
        if handoff is not None:
            self.notify_controller(conversation)
            desk_events.publish_conversation(
                self._hub, "conversation.queued", conversation, out[-1].text if out else None
            )
        return out, conversation.controller

    async def _hand_off(
        self, session: AsyncSession, conversation: Conversation, request: HandoffRequest
    ) -> Message:
        now = utcnow()
        citizen_texts = list(
            await session.scalars(
                select(Message.text)
                .where(Message.conversation_id == conversation.id, Message.sender == "citizen")
                .order_by(Message.seq.desc())
                .limit(SUMMARY_CONTEXT_MESSAGES)
            )
        )[::-1]
        ahead = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.state == State.QUEUED,
                Conversation.tier == Tier.N1,
                Conversation.handed_off_at <= now,
                Conversation.id != conversation.id,
            )
        )
        conversation.controller = Controller.HUMAN
        conversation.state = State.QUEUED
        conversation.tier = Tier.N1
        conversation.unit_id = None
        conversation.assigned_agent_id = None
        conversation.handed_off_at = now
        conversation.handoff = {
            **request.model_dump(mode="json"),
            "summary": build_summary(request, citizen_texts),
        }
        audit(
            session,
            "handoff",
            conversation_id=conversation.id,
            actor_type="bot",
            details={
                "reason": request.reason,
                "intent": request.intent,
                "confidence": request.confidence,
                "queue_ahead": ahead,
            },
        )
        logger.info(
            "handoff.created", extra={"conversation_id": conversation.id, "reason": request.reason}
        )
        return await append_message(
            session, conversation.id, "system", notices.queued(int(ahead or 0), request.reason)
        )

    # --- outbound ------------------------------------------------------------------------

    async def deliver(self, conversation: Conversation, messages: list[MessageOut]) -> None:
        """Send messages to the citizen on the conversation's own channel."""
        if not messages:
            return
        channel = self._channels.get(conversation.channel)
        if channel is None:
            logger.error(
                "gateway.unknown_channel",
                extra={"conversation_id": conversation.id, "channel": conversation.channel},
            )
            return
        await channel.deliver(conversation, messages)

    def _platform_access(self, conversation_id: str) -> dict[str, Any]:
        """Message metadata that lets the bot's actions call the self-service API."""
        return self._self_service.metadata(conversation_id) if self._self_service else {}

    def notify_controller(self, conversation: Conversation) -> None:
        if conversation.channel == self.webchat.name:
            self.webchat.notify_controller(conversation)

    def notify_typing(self, conversation: Conversation) -> None:
        if conversation.channel == self.webchat.name:
            self.webchat.notify_typing(conversation)

    async def resume_bot(self, conversation_id: str) -> None:
        try:
            await self._rasa.resume(conversation_id)
        except RasaUnavailable as exc:
            logger.error(
                "gateway.resume_failed",
                extra={"conversation_id": conversation_id, "error": str(exc)},
            )

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    async def _locked(session: AsyncSession, conversation_id: str) -> Conversation:
        conversation = await session.scalar(
            select(Conversation)
            .where(Conversation.id == conversation_id)
            .with_for_update(of=Conversation)
        )
        if conversation is None:
            raise NotFound("No existe esa conversación.")
        return conversation

    @staticmethod
    async def _find_client_message(
        session: AsyncSession, conversation_id: str, client_message_id: str | None
    ) -> Message | None:
        if client_message_id is None:
            return None
        return await session.scalar(
            select(Message).where(
                Message.conversation_id == conversation_id,
                Message.client_message_id == client_message_id,
            )
        )
