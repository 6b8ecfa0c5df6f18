"""model registry: one promoted version at most, evaluation cache key, one training job at a time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROMOTED = sa.text("status = 'promoted'")


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eval_hash", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "uq_model_versions_promoted",
            ["status"],
            unique=True,
            sqlite_where=PROMOTED,
            postgresql_where=PROMOTED,
        )
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_training_jobs_slot"), ["slot"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_jobs_slot"))
        batch_op.drop_column("slot")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("uq_model_versions_promoted")
        batch_op.drop_column("eval_hash")
