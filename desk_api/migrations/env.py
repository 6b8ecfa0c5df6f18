"""Alembic environment: runs migrations on the async engine given by the app settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from desk_api.db import make_engine
from desk_api.models import Base

config = context.config
target_metadata = Base.metadata

# PostgreSQL-only schema Alembic cannot describe from the models (descending, partial and
# expression indexes, a generated tsvector column), written by hand in migrations 0005 and 0006.
UNMANAGED_INDEXES = {
    "ix_messages_text_search",
    "ix_conversations_inbox",
    "ix_conversations_unit_inbox",
    "ix_derivations_to_unit",
    "ix_messages_search_vector",
}
UNMANAGED_COLUMNS = {("messages", "search_vector")}


def _include_name(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
    if type_ == "index":
        return name not in UNMANAGED_INDEXES
    if type_ == "column":
        return (parents.get("table_name"), name) not in UNMANAGED_COLUMNS
    return True


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
