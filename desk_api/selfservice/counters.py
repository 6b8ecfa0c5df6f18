"""Gap-free named sequences (tracking codes per year, 050 justificantes) in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.selfservice.models import Counter


async def next_value(session: AsyncSession, name: str) -> int:
    """The next value of ``name`` (1 first), under a row lock held until the caller commits;
    the caller's rollback gives the number back."""
    for _ in range(3):
        counter = await session.scalar(
            select(Counter).where(Counter.name == name).with_for_update()
        )
        if counter is not None:
            counter.value += 1
            await session.flush()
            return counter.value
        try:
            async with session.begin_nested():  # another request may create it meanwhile
                session.add(Counter(name=name, value=1))
            return 1
        except IntegrityError:
            continue
    raise RuntimeError(f"counter {name!r}: could not be created or locked")
