"""Alembic environment: runs migrations on the async engine given by the app settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from desk_api.db import make_engine
from desk_api.models import Base

config = context.config
target_metadata = Base.metadata

# Indexes Alembic cannot describe (expression indexes written by hand in migrations).
UNMANAGED_INDEXES = {"ix_messages_text_search"}


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "index" and name in UNMANAGED_INDEXES)


def _do_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_do_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
