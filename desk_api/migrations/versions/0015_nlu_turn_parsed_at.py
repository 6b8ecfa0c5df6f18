"""nlu_turns.parsed_at: Rasa's parse is added after the turn is recorded, in batches

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nlu_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_nlu_turns_parsed_at"), ["parsed_at"], unique=False)
    # Turns recorded with their parse already (before this revision) count as parsed.
    op.execute("UPDATE nlu_turns SET parsed_at = created_at WHERE intent IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("nlu_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nlu_turns_parsed_at"))
        batch_op.drop_column("parsed_at")
