"""desk at scale: inbox indexes and a stored Spanish search vector (PostgreSQL only)

Measured with ``make bench-desk`` on 100,000 conversations and 2 million messages (results in
docs/benchmarks.md, «Escritorio a escala»):

- ``ix_conversations_inbox``: the «all» views (every role, and the walk behind an N2 agent's
  visibility) read the newest handed-off conversations and stop after a page, instead of
  sorting all of them;
- ``ix_conversations_unit_inbox``: «my unit» and an N2 agent's own conversations, newest first;
- ``ix_derivations_to_unit``: the "derived to my unit" half of an N2 agent's visibility;
- ``messages.search_vector``: each message's ``to_tsvector('spanish', text)`` computed once, on
  write (a generated column), with its GIN index; it replaces 0005's expression index, since
  ``desk_api.services.search`` now matches on the column.

Adding a stored generated column rewrites ``messages`` (53 s for 2 million rows on the benchmark
machine, under an exclusive lock): on a large installation run this upgrade in a maintenance
window. SQLite (development, small installs) needs none of it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_COLUMN = "search_vector"
OLD_SEARCH_INDEX = "ix_messages_text_search"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(
        "CREATE INDEX ix_conversations_inbox ON conversations (updated_at DESC, id DESC) "
        "WHERE handed_off_at IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_conversations_unit_inbox ON conversations "
        "(unit_id, updated_at DESC, id DESC) WHERE handed_off_at IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_derivations_to_unit ON derivations (to_unit_id, conversation_id)")
    op.execute(
        f"ALTER TABLE messages ADD COLUMN {SEARCH_COLUMN} tsvector "
        "GENERATED ALWAYS AS (to_tsvector('spanish'::regconfig, text)) STORED"
    )
    op.execute(f"CREATE INDEX ix_messages_search_vector ON messages USING gin ({SEARCH_COLUMN})")
    op.execute(f"DROP INDEX IF EXISTS {OLD_SEARCH_INDEX}")


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute(
        f"CREATE INDEX {OLD_SEARCH_INDEX} ON messages "
        "USING gin (to_tsvector('spanish'::regconfig, text))"
    )
    op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
    op.execute(f"ALTER TABLE messages DROP COLUMN IF EXISTS {SEARCH_COLUMN}")
    op.execute("DROP INDEX IF EXISTS ix_derivations_to_unit")
    op.execute("DROP INDEX IF EXISTS ix_conversations_unit_inbox")
    op.execute("DROP INDEX IF EXISTS ix_conversations_inbox")
