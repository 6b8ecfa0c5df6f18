"""The test run's databases: which backends it covers, and scratch PostgreSQL databases for
tests that change the schema itself (migrations, the desk benchmark's proposed indexes), so the
session's shared test database keeps exactly the migrated schema."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from desk_api.db import make_engine
from desk_api.migrations_runner import upgrade

BACKENDS = [b for b in os.environ.get("TUA_TEST_DATABASES", "sqlite,postgresql").split(",") if b]
PG_SERVER = os.environ.get("TUA_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
PG_TEST_DB = os.environ.get("TUA_TEST_PG_DB", "tuatencion_test")  # one per parallel run


async def _admin(*statements: str) -> None:
    engine = make_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def recreate(name: str, migrate: bool = True) -> str:
    """An empty database called ``name`` (dropped first if it exists), migrated to head."""
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"))
    url = f"{PG_SERVER}/{name}"
    if migrate:
        upgrade(url)
    return url


def drop(name: str) -> None:
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextmanager
def scratch(suffix: str) -> Iterator[str]:
    """A migrated database of its own for the duration of the block, named after the run's."""
    name = f"{PG_TEST_DB}_{suffix}"
    url = recreate(name)
    try:
        yield url
    finally:
        drop(name)


def truncate(url: str, tables: list[str]) -> None:
    """Empty ``tables`` of a migrated PostgreSQL database (identities restart)."""

    async def run() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                )
        finally:
            await engine.dispose()

    asyncio.run(run())
