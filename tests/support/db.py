"""A session on the test's database, for tests that set up or check rows directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.db import make_engine, make_sessionmaker
from desk_api.settings import Settings


@asynccontextmanager
async def database(settings: Settings | str) -> AsyncIterator[AsyncSession]:
    """``settings`` or a database URL; the engine is disposed on the way out."""
    url = settings if isinstance(settings, str) else settings.database_url
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()
