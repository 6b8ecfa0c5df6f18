"""transcript search: a Spanish full-text GIN index on messages (PostgreSQL only)

The desk's search (``desk_api.services.search``) matches
``to_tsvector('spanish', text) @@ websearch_to_tsquery('spanish', q)``; this index has the same
expression, so the planner can use it. SQLite searches with LIKE and needs nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_messages_text_search"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX {INDEX} ON messages USING gin (to_tsvector('spanish'::regconfig, text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
