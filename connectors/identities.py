"""Channel identities: who writes, as each channel knows them, without their number or email
ever leaving the gateway.

A provider's user id is keyed-hashed (HMAC-SHA256); the hash is what Rasa, the logs and the
Miespacio links see. The raw address is kept on the identity row only so replies can reach it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import ChannelIdentity
from desk_api.models import Conversation, as_utc
from desk_api.selfservice.models import CitizenIdentity
from handoff.contract import Controller


def user_hash(key: bytes, channel: str, user_id: str) -> str:
    """Stable, keyed and per channel: the same phone on WhatsApp and voice hashes differently,
    so linking them is Miespacio's verified decision, not a side effect of hashing."""
    message = f"{channel}\x1f{user_id.strip().casefold()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def upsert(
    session: AsyncSession, channel: str, hashed: str, address: str, now: datetime
) -> ChannelIdentity:
    """The identity row, created on first contact; its address follows the latest message."""
    identity = await _find(session, channel, hashed)
    if identity is None:
        try:
            async with session.begin_nested():
                identity = ChannelIdentity(
                    channel=channel, user_hash=hashed, address=address, created_at=now
                )
                session.add(identity)
        except IntegrityError:  # the same person's first two messages raced
            identity = await _find(session, channel, hashed)
            assert identity is not None
    identity.address = address
    return identity


async def _find(session: AsyncSession, channel: str, hashed: str) -> ChannelIdentity | None:
    return await session.scalar(
        select(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.user_hash == hashed)
        .with_for_update()
    )


def over_flood_limit(identity: ChannelIdentity, now: datetime, per_minute: int) -> int:
    """Count this message in the identity's one-minute window; return how far over the limit
    it is (0 = within it). The identity row is locked, so concurrent messages count right."""
    started = identity.window_started_at
    if started is None or as_utc(now) - as_utc(started) >= timedelta(minutes=1):
        identity.window_started_at = now
        identity.window_count = 0
    identity.window_count += 1
    return max(0, identity.window_count - per_minute)


async def current_conversation(
    session: AsyncSession, identity: ChannelIdentity, now: datetime, idle: timedelta
) -> Conversation | None:
    """The identity's ongoing conversation, or None when a new one should start: the bot's
    conversations end after ``idle``; one a person attends continues until they close it."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.identity_id == identity.id)
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )
    if conversation is None:
        return None
    if (
        conversation.controller == Controller.BOT
        and as_utc(now) - as_utc(conversation.updated_at) > idle
    ):
        return None
    return conversation


async def verified_citizen(session: AsyncSession, identity: ChannelIdentity) -> str | None:
    """The Miespacio account this identity was linked to after verification, if any."""
    return await session.scalar(
        select(CitizenIdentity.citizen_id).where(
            CitizenIdentity.channel == identity.channel,
            CitizenIdentity.channel_user == identity.user_hash,
        )
    )
