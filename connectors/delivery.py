"""The persistent outbox's worker: sends pending deliveries to their providers, in order per
conversation, retrying transient failures with exponential backoff.

Deliveries are rows written with their messages (``transcript.append_message``), so a restart
loses nothing: a claimed delivery whose worker died is claimed again when its lease expires
(at-least-once; providers' own ids let the desk spot the rare duplicate). Permanent failures
are marked ``failed``, audited and announced to the desk.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.channels import (
    DeliveryFailed,
    Outgoing,
    OutgoingAttachment,
    ProviderChannel,
    Recipient,
)
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Conversation, Message, as_utc, utcnow
from desk_api.schemas import ConversationSummary
from desk_api.selfservice.models import CitizenIdentity
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNSENT = (PENDING, SENDING)
LEASE = timedelta(seconds=60)  # a send taking longer than this is presumed dead
BATCH = 50


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential, capped, with ±10 % jitter so retries of many messages spread out."""
        base = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=base * random.uniform(0.9, 1.1))


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, ProviderChannel],
        hub: LiveHub,
        policy: RetryPolicy,
        attachment_url: Any = None,  # Callable[[str], str]: signed download link for an id
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._hub = hub
        self._policy = policy
        self._attachment_url = attachment_url
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
                delay = await self._seconds_to_next()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive a database hiccup
                logger.exception("delivery.worker_error")
                delay = 5.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _seconds_to_next(self) -> float:
        async with self._sessions() as session:
            due = await session.scalar(
                select(Delivery.next_attempt_at)
                .where(Delivery.status.in_(UNSENT))
                .order_by(Delivery.next_attempt_at)
                .limit(1)
            )
        if due is None:
            return 30.0
        return max(0.05, min(30.0, (as_utc(due) - utcnow()).total_seconds()))

    # --- one pass ------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send what is due now; return how many deliveries were attempted."""
        now = utcnow()
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(Delivery)
                    .where(Delivery.status.in_(UNSENT), Delivery.next_attempt_at <= now)
                    .order_by(Delivery.id)
                    .limit(BATCH)
                )
            )
        attempted = 0
        blocked: set[str] = set()
        for delivery in due:
            if delivery.conversation_id in blocked:
                continue
            if not await self._claim(delivery.id, delivery.conversation_id, now):
                blocked.add(delivery.conversation_id)  # an earlier message goes first
                continue
            attempted += 1
            if not await self._send(delivery.id):
                blocked.add(delivery.conversation_id)
        return attempted

    async def _claim(self, delivery_id: int, conversation_id: str, now: datetime) -> bool:
        earlier = (
            select(Delivery.id)
            .where(
                Delivery.conversation_id == conversation_id,
                Delivery.id < delivery_id,
                Delivery.status.in_(UNSENT),
            )
            .correlate(None)
        )
        async with self._sessions() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.status.in_(UNSENT),
                    Delivery.next_attempt_at <= now,
                    ~exists(earlier),
                )
                .values(status=SENDING, attempts=Delivery.attempts + 1, next_attempt_at=now + LEASE)
            )
            await session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)

    async def _send(self, delivery_id: int) -> bool:
        """Attempt one claimed delivery; True when it left."""
        async with self._sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            identity = await session.get(ChannelIdentity, delivery.identity_id)
            message = await session.get(Message, delivery.message_id)
            assert identity is not None and message is not None
            last_inbound = identity.last_inbound_at
            recipient = Recipient(
                identity_id=identity.id,
                channel=identity.channel,
                address=identity.address,
                user_hash=identity.user_hash,
                last_inbound_at=as_utc(last_inbound) if last_inbound else None,
            )
            outgoing = Outgoing(
                message_id=message.id,
                conversation_id=message.conversation_id,
                sender=message.sender,
                text=message.text,
                buttons=list((message.buttons or {}).get("items", [])),
                attachments=await self._attachments(session, message.id),
                thread=await _thread(session, message.conversation_id),
            )
            channel_name = delivery.channel
        channel = self._channels.get(channel_name)
        try:
            if channel is None:
                raise DeliveryFailed(f"canal {channel_name} no configurado", transient=False)
            provider_id = await channel.send(recipient, outgoing)
        except DeliveryFailed as exc:
            await self._failed(delivery_id, exc)
            return False
        except Exception as exc:  # a provider's client raised something unforeseen: retry
            logger.warning(
                "delivery.error",
                extra={"delivery_id": delivery_id, "error": type(exc).__name__},
            )
            await self._failed(delivery_id, DeliveryFailed(type(exc).__name__, transient=True))
            return False
        async with self._sessions() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(status=SENT, sent_at=utcnow(), provider_message_id=provider_id,
                        last_error=None)
            )  # fmt: skip
            await session.commit()
        logger.info("delivery.sent", extra={"delivery_id": delivery_id, "channel": channel_name})
        return True

    async def _failed(self, delivery_id: int, error: DeliveryFailed) -> None:
        now = utcnow()
        async with self._sessions() as session:
            delivery = await session.get(Delivery, delivery_id, with_for_update=True)
            assert delivery is not None
            delivery.last_error = error.reason[:255]
            if error.transient and delivery.attempts < self._policy.max_attempts:
                delivery.status = PENDING
                wait = self._policy.delay(delivery.attempts)
                if error.retry_after is not None:  # the provider said how long: at least that
                    wait = max(wait, timedelta(seconds=error.retry_after))
                delivery.next_attempt_at = now + wait
                await session.commit()
                logger.warning(
                    "delivery.retry",
                    extra={"delivery_id": delivery_id, "attempts": delivery.attempts,
                           "error": delivery.last_error},
                )  # fmt: skip
                return
            delivery.status = FAILED
            rerouted = await self._elsewhere(session, delivery, now) if error.elsewhere else None
            audit(
                session,
                "delivery.failed",
                conversation_id=delivery.conversation_id,
                actor_type="system",
                details={"delivery_id": delivery.id, "message_id": delivery.message_id,
                         "channel": delivery.channel, "attempts": delivery.attempts,
                         "error": delivery.last_error, "rerouted_to": rerouted},
            )  # fmt: skip
            await session.commit()
            # The summary lets the desk's socket show it only to agents who may see it.
            conversation = await session.get(Conversation, delivery.conversation_id)
            assert conversation is not None
            event = {
                "type": "delivery.failed",
                "conversation_id": delivery.conversation_id,
                "delivery": {"id": delivery.id, "message_id": delivery.message_id,
                             "channel": delivery.channel, "error": delivery.last_error,
                             "rerouted_to": rerouted},
                "conversation": ConversationSummary.of(conversation, None).model_dump(mode="json"),
            }  # fmt: skip
        logger.error(
            "delivery.failed",
            extra={"delivery_id": delivery_id, "rerouted_to": rerouted},
        )  # fmt: skip
        self._hub.publish(DESK_TOPIC, event)
        if rerouted:
            self.wake()

    async def _elsewhere(
        self, session: AsyncSession, delivery: Delivery, now: datetime
    ) -> str | None:
        """Queue the message on another channel of the same verified citizen, if they have
        one this platform can write to first (the most recently used)."""
        conversation = await session.get(Conversation, delivery.conversation_id)
        if conversation is None or conversation.citizen_id is None:
            return None
        candidates = await session.scalars(
            select(ChannelIdentity)
            .join(
                CitizenIdentity,
                (CitizenIdentity.channel == ChannelIdentity.channel)
                & (CitizenIdentity.channel_user == ChannelIdentity.user_hash),
            )
            .where(
                CitizenIdentity.citizen_id == conversation.citizen_id,
                ChannelIdentity.id != delivery.identity_id,
                ChannelIdentity.channel.in_(
                    [n for n, c in self._channels.items() if c.capabilities.outbox]
                ),
            )
            .order_by(ChannelIdentity.last_inbound_at.desc())
        )
        for identity in candidates:
            already = await session.scalar(
                select(Delivery.id).where(
                    Delivery.message_id == delivery.message_id,
                    Delivery.identity_id == identity.id,
                )
            )
            if already is not None:
                continue
            session.add(
                Delivery(
                    conversation_id=delivery.conversation_id,
                    message_id=delivery.message_id,
                    channel=identity.channel,
                    identity_id=identity.id,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            return identity.channel
        return None

    async def _attachments(
        self, session: AsyncSession, message_id: int
    ) -> list[OutgoingAttachment]:
        if self._attachment_url is None:
            return []
        rows = await session.scalars(
            select(Attachment)
            .where(Attachment.message_id == message_id)
            .order_by(Attachment.created_at, Attachment.id)
        )
        return [
            OutgoingAttachment(a.id, a.filename, a.content_type, self._attachment_url(a.id))
            for a in rows
        ]


async def _thread(session: AsyncSession, conversation_id: str) -> list[str]:
    """Provider ids of the conversation so far, oldest first (email's References header)."""
    inbound = await session.execute(
        select(InboundReceipt.created_at, InboundReceipt.external_id).where(
            InboundReceipt.conversation_id == conversation_id
        )
    )
    outbound = await session.execute(
        select(Delivery.sent_at, Delivery.provider_message_id).where(
            Delivery.conversation_id == conversation_id,
            Delivery.status == SENT,
            Delivery.provider_message_id.is_not(None),
        )
    )
    ids = [(as_utc(at), ref) for at, ref in [*inbound, *outbound] if at and ref]
    return [ref for _, ref in sorted(ids)]
