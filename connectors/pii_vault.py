"""The conversation's vault of personal data: what the bot sees as ``[DNI_1]`` is kept here.

The same value said twice in a conversation keeps its reference; references are numbered per
kind and conversation. Only self-service endpoints of that same conversation resolve them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import pii
from desk_api.selfservice.models import PiiValue


async def mask(session: AsyncSession, conversation_id: str, text: str) -> str:
    """``text`` with its personal data replaced by references, new values stored (flushed, not
    committed: the caller commits with the message)."""
    found = [f for f in pii.find(text) if f.valid or f.kind not in ("DNI", "NIE")]
    if not found:
        return pii.mask_with_refs(text, lambda _found: None)
    kept = (
        await session.scalars(select(PiiValue).where(PiiValue.conversation_id == conversation_id))
    ).all()
    refs = {(v.kind, v.value): v.ref for v in kept}
    counts: dict[str, int] = {}
    for value in kept:
        counts[value.kind] = counts.get(value.kind, 0) + 1
    for item in found:
        if (item.kind, item.value) in refs:
            continue
        counts[item.kind] = counts.get(item.kind, 0) + 1
        ref = f"{item.kind}_{counts[item.kind]}"
        refs[(item.kind, item.value)] = ref
        session.add(PiiValue(conversation_id=conversation_id, ref=ref, kind=item.kind,
                             value=item.value))  # fmt: skip
    await session.flush()
    return pii.mask_with_refs(text, lambda item: refs.get((item.kind, item.value)))


async def resolve(session: AsyncSession, conversation_id: str, ref: str) -> PiiValue | None:
    """The value behind ``ref`` ("DNI_1" or "[DNI_1]") in this conversation, else None."""
    return await session.scalar(
        select(PiiValue).where(
            PiiValue.conversation_id == conversation_id, PiiValue.ref == ref.strip("[] ")
        )
    )
