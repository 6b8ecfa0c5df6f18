"""The gateway owns every conversation: it stores each inbound message and routes it by controller.

``bot`` → Rasa's REST channel (masked text, channel metadata); ``human`` → the desk only.
Bot replies, and the handoffs the bot asks for, come back through here, so there is one
transcript per conversation whatever the channel and whoever answers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors import identities, location, nlu_capture, options, pii, pii_vault
from connectors.attachments import AttachmentStore
from connectors.channels import InboundMessage, IncomingFile, ProviderChannel, WebChatChannel
from connectors.delivery import DeliveryWorker
from connectors.rasa_client import BotReply, RasaClient, RasaUnavailable
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.errors import InvalidInput, NotFound, TooManyRequests, Unauthorized
from desk_api.live import LiveHub
from desk_api.models import Conversation, Message, utcnow
from desk_api.schemas import AttachmentOut, MessageOut
from desk_api.security import citizen_token_matches, new_citizen_token
from desk_api.selfservice.access import SelfServiceAccess
from desk_api.services import csat, deadlines, desk_events
from desk_api.services.transcript import OUTBOX, append_message, audit
from handoff import notices
from handoff.contract import Controller, HandoffReason, HandoffRequest, State, Tier
from handoff.summary import build_summary
from knowledge.base import KnowledgeBase
from knowledge.topics import guess_category

logger = logging.getLogger(__name__)

SUMMARY_CONTEXT_MESSAGES = 10
# Returns the conversation if the caller may write into it; raises otherwise.
OwnerCheck = Callable[[AsyncSession, str], Awaitable[Conversation]]


@dataclass
class InboundResult:
    message: MessageOut
    replies: list[MessageOut]
    controller: str


@dataclass(frozen=True)
class _TurnDraft:
    """A typed citizen message (masked) and what Rasa understood of it, recorded with the
    replies."""

    message_id: int
    text: str
    understanding: nlu_capture.Understanding


@dataclass(frozen=True)
class ChannelLimits:
    max_message_chars: int = 4000
    max_attachment_bytes: int = 10 * 1024 * 1024
    flood_messages_per_minute: int = 20
    conversation_idle: timedelta = timedelta(hours=24)


@dataclass
class Accepted:
    """What ``Gateway.accept`` did with a provider's message.

    ``accepted``: stored, to be routed; ``duplicate``: a provider retry, nothing changed;
    ``limited``: over the flood limit, not stored; ``rejected``: too long, not stored (the
    citizen was told why)."""

    status: Literal["accepted", "duplicate", "limited", "rejected"]
    conversation_id: str | None = None
    message: MessageOut | None = None
    bot_text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    notices: list[MessageOut] = field(default_factory=list)


class AssignmentHooks(Protocol):
    """What the desk's automatic assignment needs to hear from the gateway."""

    async def queued(self, conversation_id: str) -> None: ...

    async def citizen_wrote(self, conversation_id: str) -> None: ...


class Gateway:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        hub: LiveHub,
        max_message_chars: int,
        self_service: SelfServiceAccess | None = None,
        *,
        identity_key: bytes = b"",
        limits: ChannelLimits | None = None,
        attachments: AttachmentStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._self_service = self_service
        self._rasa = rasa
        self._hub = hub
        self._max_chars = max_message_chars
        self._identity_key = identity_key
        self._limits = limits or ChannelLimits(max_message_chars=max_message_chars)
        self.attachments = attachments
        self.webchat = WebChatChannel(hub)
        self.providers: dict[str, ProviderChannel] = {}
        self.worker: DeliveryWorker | None = None
        # The app's knowledge base, for channels that suggest procedures (email); set by the app.
        self.knowledge: KnowledgeBase | None = None
        # Automatic assignment and snoozes (desk_api.services.assignment); set by the app.
        self.assignment: AssignmentHooks | None = None

    @property
    def rasa(self) -> RasaClient:
        return self._rasa

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The app's database sessions, for channel modules that keep their own records."""
        return self._sessions

    def register(self, channel: ProviderChannel) -> None:
        """Plug a provider channel in: its inbound goes through ``accept``/``route``, its
        outbound through the delivery worker."""
        self.providers[channel.name] = channel

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
        files: list[IncomingFile] | None = None,
        owner: OwnerCheck | None = None,
    ) -> InboundResult:
        """Store a citizen message (and the files sent with it), then let the bot answer it
        unless a person attends. A message with only files is not shown to the bot. ``owner``
        replaces the token check for callers that identified the citizen otherwise (Miespacio)."""
        if len(text) > self._max_chars:
            raise InvalidInput(
                f"El mensaje es demasiado largo ({len(text)} caracteres). "
                f"El máximo es {self._max_chars}."
            )
        files = files or []
        for file in files:
            if len(file.data) > self._limits.max_attachment_bytes:
                raise InvalidInput(
                    notices.file_too_large(file.filename, self._limits.max_attachment_bytes)
                )
        if not text.strip() and not files:
            raise InvalidInput("El mensaje está vacío.")
        async with self._sessions() as session:
            conversation = await (
                owner(session, conversation_id)
                if owner is not None
                else self.authorize(session, conversation_id, token)
            )
            controller = conversation.controller
            duplicate = await self._find_client_message(session, conversation_id, client_message_id)
            if duplicate is not None:
                return InboundResult(MessageOut.of(duplicate), [], controller)
            await self._check_flood(session, conversation_id)
            try:
                message = await append_message(
                    session, conversation_id, "citizen", text, client_message_id=client_message_id
                )
                kept = [
                    self.attachments.add(session, conversation_id, message.id, file)
                    for file in files
                    if self.attachments is not None
                ]
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
        stored = _with_files(MessageOut.of(message), kept)
        desk_events.publish_messages(self._hub, conversation, [stored])
        if controller == Controller.HUMAN and self.assignment is not None:
            await self.assignment.citizen_wrote(conversation_id)  # a snoozed one wakes up
        if controller == Controller.HUMAN or not bot_text.strip():
            return InboundResult(stored, [], controller)
        rated = await csat.intercept(self, self._hub, conversation, stored, bot_text)
        if rated is not None:  # a rating or comment for the satisfaction survey: not for the bot
            return InboundResult(stored, rated, controller)
        out, controller = await self._ask_bot(conversation, stored, bot_text, metadata or {})
        return InboundResult(stored, out, controller)

    async def _check_flood(self, session: AsyncSession, conversation_id: str) -> None:
        """The web chat's identity is its conversation: at most the per-minute limit."""
        recent = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.sender == "citizen",
                Message.created_at > utcnow() - timedelta(minutes=1),
            )
        )
        if int(recent or 0) >= self._limits.flood_messages_per_minute:
            raise TooManyRequests(notices.flooding_refused())

    async def _ask_bot(
        self, conversation: Conversation, stored: MessageOut, text: str, metadata: dict[str, Any]
    ) -> tuple[list[MessageOut], str]:
        meta = {
            "channel": conversation.channel,
            "message_id": stored.id,
            **metadata,
            **self._platform_access(conversation.id),
        }
        turn: _TurnDraft | None = None
        try:
            replies = await self._rasa.send(conversation.id, text, meta)
            if not text.startswith("/"):  # a typed message, not a button's payload
                turn = await self._understood(conversation, stored)
        except RasaUnavailable as exc:
            logger.error(
                "gateway.rasa_unavailable",
                extra={"conversation_id": conversation.id, "error": str(exc)},
            )
            replies = [
                BotReply(
                    custom=HandoffRequest(reason=HandoffReason.BOT_UNAVAILABLE).as_custom_payload()
                )
            ]
        return await self._store_bot_replies(conversation.id, replies, turn)

    async def _understood(
        self, conversation: Conversation, stored: MessageOut
    ) -> _TurnDraft | None:
        """What Rasa understood of ``stored`` (for the content teams), if it can tell."""
        parse = await self._rasa.user_parse(conversation.id, stored.id)
        understanding = nlu_capture.understanding_of(parse, stored.id)
        if understanding is None:
            return None
        model_id = await self._rasa.model_id()
        masked = await asyncio.to_thread(pii.mask_for_review, stored.text)  # NER: off the loop
        return _TurnDraft(stored.id, masked, replace(understanding, model_id=model_id))

    # --- provider channels ---------------------------------------------------------------

    async def accept(self, inbound: InboundMessage) -> Accepted:
        """Store a provider channel's message (fast: webhooks answer before the bot does).

        Deduplicates provider retries, finds or starts the identity's conversation, enforces
        the flood and size limits, keeps attachments, and turns "2" / "la segunda" into the
        pressed option on channels without buttons. ``route`` then lets the bot answer."""
        channel = self.providers.get(inbound.channel)
        if channel is None:
            raise InvalidInput(f"Canal no configurado: {inbound.channel}")
        hashed = identities.user_hash(self._identity_key, inbound.channel, inbound.user_id)
        now = utcnow()
        limits = self._limits
        async with self._sessions() as session:
            identity = await identities.upsert(
                session, inbound.channel, hashed, inbound.address, now
            )
            if inbound.external_id and await self._received(session, inbound):
                await session.commit()
                return Accepted("duplicate")
            over = identities.over_flood_limit(identity, now, limits.flood_messages_per_minute)
            conversation = await self._conversation_for(session, identity, inbound, now)
            told: list[Message] = []
            status: Literal["accepted", "limited", "rejected"] = "accepted"
            message: Message | None = None
            kept: list[Attachment] = []
            bot_text: str | None = None
            if over:
                status = "limited"
                if over == 1:  # say it once per minute, not once per flooding message
                    told.append(await self._notice(session, conversation, notices.flooding()))
            elif len(inbound.text) > limits.max_message_chars:
                status = "rejected"
                told.append(await self._notice(
                    session, conversation,
                    notices.too_long(len(inbound.text), limits.max_message_chars),
                ))  # fmt: skip
            else:
                identity.last_inbound_at = now
                message, bot_text, file_notices, kept = await self._store_inbound(
                    session, conversation, channel.capabilities.buttons, inbound
                )
                told.extend(file_notices)
            session.add(
                InboundReceipt(
                    channel=inbound.channel,
                    external_id=inbound.external_id or f"local:{uuid.uuid4()}",
                    conversation_id=conversation.id,
                    message_id=message.id if message else None,
                    created_at=now,
                )
            )
            try:
                await session.commit()
            except IntegrityError:  # the provider's retry raced its first delivery
                await session.rollback()
                return Accepted("duplicate")
            await session.refresh(conversation)
        notice_out = [MessageOut.of(n) for n in told]
        stored = _with_files(MessageOut.of(message), kept) if message else None
        desk_events.publish_messages(self._hub, conversation, [*([stored] if stored else [])])
        await self.deliver(conversation, notice_out)
        if stored and conversation.controller == Controller.HUMAN and self.assignment is not None:
            await self.assignment.citizen_wrote(conversation.id)  # a snoozed one wakes up
        return Accepted(
            status,
            conversation.id,
            stored,
            bot_text,
            {"channel_user": hashed, **inbound.metadata},
            notice_out,
        )

    async def route(self, accepted: Accepted) -> list[MessageOut]:
        """Let the bot answer an accepted message, unless a person attends the conversation or
        its channel goes straight to the desk; return what was sent back."""
        if accepted.status != "accepted" or accepted.message is None:
            return []
        assert accepted.conversation_id is not None
        async with self._sessions() as session:
            conversation = await session.get(Conversation, accepted.conversation_id)
            assert conversation is not None
        channel = self.providers[conversation.channel]
        if conversation.controller == Controller.HUMAN:
            return []
        message, bot_text = accepted.message, accepted.bot_text
        rated = await csat.intercept(self, self._hub, conversation, message, bot_text)
        if rated is not None:  # a rating or comment for the satisfaction survey: not for the bot
            return rated
        if not channel.capabilities.bot:
            out, _ = await self._store_bot_replies(
                conversation.id,
                [BotReply(custom=HandoffRequest(
                    reason=HandoffReason.DIRECT_TO_DESK,
                    suggestions=list(accepted.metadata.get("suggestions", [])),
                ).as_custom_payload())],
            )  # fmt: skip
            return out
        if not accepted.bot_text:  # only files: nothing for the bot to read
            return []
        out, _ = await self._ask_bot(
            conversation, accepted.message, accepted.bot_text, accepted.metadata
        )
        return out

    async def receive_from(self, inbound: InboundMessage) -> tuple[Accepted, list[MessageOut]]:
        """``accept`` then ``route``, for channels that answer in the same request (voice)."""
        accepted = await self.accept(inbound)
        return accepted, await self.route(accepted)

    async def _received(self, session: AsyncSession, inbound: InboundMessage) -> bool:
        found = await session.scalar(
            select(InboundReceipt.id).where(
                InboundReceipt.channel == inbound.channel,
                InboundReceipt.external_id == inbound.external_id,
            )
        )
        return found is not None

    async def _conversation_for(
        self,
        session: AsyncSession,
        identity: ChannelIdentity,
        inbound: InboundMessage,
        now: Any,
    ) -> Conversation:
        conversation = await self._replied_conversation(session, identity, inbound.replies_to)
        if conversation is None and not inbound.new_conversation:
            conversation = await identities.current_conversation(
                session, identity, now, self._limits.conversation_idle
            )
        elif conversation is None:  # a new phone call: unless a person still attends the last
            current = await identities.current_conversation(
                session, identity, now, self._limits.conversation_idle
            )
            if current is not None and current.controller == Controller.HUMAN:
                conversation = current
        if conversation is not None:
            return conversation
        channel = self.providers[inbound.channel]
        conversation = Conversation(
            id=str(uuid.uuid4()),
            channel=inbound.channel,
            identity_id=identity.id,
            outbound=OUTBOX if channel.capabilities.outbox else "live",
            citizen_id=await identities.verified_citizen(session, identity),
            controller=Controller.BOT,
            state=State.BOT,
            created_at=now,
            updated_at=now,
        )
        session.add(conversation)
        audit(
            session,
            "conversation.start",
            conversation_id=conversation.id,
            actor_type="citizen",
            details={"channel": inbound.channel, "identity_id": identity.id},
        )
        await session.flush()
        return conversation

    @staticmethod
    async def _replied_conversation(
        session: AsyncSession, identity: ChannelIdentity, refs: list[str]
    ) -> Conversation | None:
        """The conversation an email reply continues: one of its own earlier messages."""
        if not refs:
            return None
        for source in (
            select(InboundReceipt.conversation_id).where(InboundReceipt.external_id.in_(refs)),
            select(Delivery.conversation_id).where(Delivery.provider_message_id.in_(refs)),
        ):
            conversation = await session.scalar(
                select(Conversation).where(
                    Conversation.id.in_(source), Conversation.identity_id == identity.id
                )
            )
            if conversation is not None:
                return conversation
        return None

    async def _store_inbound(
        self,
        session: AsyncSession,
        conversation: Conversation,
        has_buttons: bool,
        inbound: InboundMessage,
    ) -> tuple[Message, str | None, list[Message], list[Attachment]]:
        limit = self._limits.max_attachment_bytes
        kept = [f for f in inbound.files if len(f.data) <= limit]
        refused = [f for f in inbound.files if len(f.data) > limit]
        payload = inbound.payload
        if payload is None and not has_buttons:
            payload = options.choose(inbound.text, await self._last_buttons(session, conversation))
        message = await append_message(session, conversation.id, "citizen", inbound.text)
        stored = [
            self.attachments.add(session, conversation.id, message.id, file)
            for file in kept
            if self.attachments is not None
        ]
        told = [
            await self._notice(session, conversation, notices.file_too_large(f.filename, limit))
            for f in refused
        ]
        if kept and not inbound.text.strip() and conversation.controller == Controller.BOT:
            told.append(
                await self._notice(
                    session, conversation, notices.file_kept([f.filename for f in kept])
                )
            )
        if payload:
            return message, payload, told, stored
        text = inbound.text.strip()
        masked = await pii_vault.mask(session, conversation.id, text) if text else None
        return message, masked, told, stored

    @staticmethod
    async def _last_buttons(
        session: AsyncSession, conversation: Conversation
    ) -> list[dict[str, str]]:
        """The options of the conversation's last message, if it was the bot's and had any."""
        last = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.seq.desc())
            .limit(1)
        )
        if last is None or last.sender != "bot" or not last.buttons:
            return []
        # Channels without buttons leave "share my location" out of the numbered list.
        items = last.buttons.get("items", [])
        return [b for b in items if b.get("payload") != location.SHARE_BUTTON_PAYLOAD]

    @staticmethod
    async def _notice(session: AsyncSession, conversation: Conversation, text: str) -> Message:
        return await append_message(session, conversation.id, "system", text)

    async def _store_bot_replies(
        self, conversation_id: str, replies: list[BotReply], turn: _TurnDraft | None = None
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
            if turn is not None:
                nlu_capture.record(
                    session,
                    conversation_id=conversation_id,
                    channel=conversation.channel,
                    message_id=turn.message_id,
                    text=turn.text,
                    understanding=turn.understanding,
                    replies=replies,
                    handoff=handoff,
                )
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
            if self.assignment is not None:  # to an available informer with room, if any
                await self.assignment.queued(conversation.id)
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
        # What it is about, for the inbox (a new topic replaces an earlier hand-off's).
        conversation.category = (
            await guess_category(self.knowledge, citizen_texts) or conversation.category
        )
        await deadlines.start_conversation(session, conversation, now)
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
        """Send messages to the citizen on the conversation's own channel: the web chat's live
        stream, or the outbox, whose rows were written with the messages."""
        if not messages:
            return
        if conversation.channel == self.webchat.name:
            await self.webchat.deliver(conversation, messages)
        elif conversation.outbound == OUTBOX and self.worker is not None:
            self.worker.wake()

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


def _with_files(message: MessageOut, files: list[Attachment]) -> MessageOut:
    """The stored message as the desk's live event shows it: with the files it came with."""
    message.attachments = [
        AttachmentOut(id=a.id, filename=a.filename, content_type=a.content_type,
                      size_bytes=a.size_bytes)
        for a in files
    ]  # fmt: skip
    return message
