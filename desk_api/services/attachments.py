"""Files that came with messages, as the desk sees them: listed on their messages and downloaded
only by agents who may see the conversation."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.channel_models import Attachment
from desk_api.errors import NotFound
from desk_api.models import Agent, Message
from desk_api.schemas import AttachmentOut, MessageOut
from desk_api.services import desk

NOT_VISIBLE = "No existe ese archivo o no tiene permiso para verlo."


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
    )


async def attachments_by_message(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[AttachmentOut]]:
    """The attachments of each message (messages without any are left out), in arrival order."""
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(message_ids))
        .order_by(Attachment.created_at, Attachment.id)
    )
    found: dict[int, list[AttachmentOut]] = defaultdict(list)
    for attachment in rows:
        assert attachment.message_id is not None
        found[attachment.message_id].append(attachment_out(attachment))
    return dict(found)


async def with_attachments(session: AsyncSession, messages: list[Message]) -> list[MessageOut]:
    """The messages as the API shows them, each with its files."""
    files = await attachments_by_message(session, [m.id for m in messages])
    out = []
    for message in messages:
        shown = MessageOut.of(message)
        shown.attachments = files.get(message.id, [])
        out.append(shown)
    return out


async def for_download(session: AsyncSession, agent: Agent, attachment_id: str) -> Attachment:
    """The attachment, if its conversation is one the agent may see (same rule as the desk's
    conversation queries); otherwise NotFound, so ids of other units' files reveal nothing."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(NOT_VISIBLE)
    try:
        await desk.get_visible(session, agent, attachment.conversation_id)
    except NotFound:
        raise NotFound(NOT_VISIBLE) from None
    return attachment
