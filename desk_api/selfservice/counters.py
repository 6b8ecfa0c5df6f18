"""Gap-free named sequences (tracking codes per year, 050 justificantes) in the database."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.selfservice.models import Counter


async def next_value(session: AsyncSession, name: str) -> int:
    """The next value of ``name`` (1 first). One atomic ``UPDATE … RETURNING``: the row stays
    locked until the caller commits (two requests never get the same number, on SQLite too),
    and the caller's rollback gives the number back."""
    for _ in range(3):
        value = await session.scalar(
            update(Counter)
            .where(Counter.name == name)
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        )
        if value is not None:
            return int(value)
        try:
            async with session.begin_nested():  # another request may create it meanwhile
                session.add(Counter(name=name, value=1))
            return 1
        except IntegrityError:
            continue
    raise RuntimeError(f"counter {name!r}: could not be created or incremented")
