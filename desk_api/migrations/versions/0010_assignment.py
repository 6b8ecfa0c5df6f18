"""assignment: agents' availability and capacity, snoozed conversations, N2 → N1 returns

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_availability",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "conversation_snoozes",
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until_reply", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    with op.batch_alter_table("conversation_snoozes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_snoozes_agent_id"), ["agent_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversation_snoozes_until"), ["until"], unique=False)
    with op.batch_alter_table("derivations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("returned_by_agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("return_answer", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_derivations_returned_by_agent_id", "agents", ["returned_by_agent_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("derivations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_derivations_returned_by_agent_id", type_="foreignkey")
        batch_op.drop_column("return_answer")
        batch_op.drop_column("returned_by_agent_id")
        batch_op.drop_column("returned_at")
    with op.batch_alter_table("conversation_snoozes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_snoozes_until"))
        batch_op.drop_index(batch_op.f("ix_conversation_snoozes_agent_id"))
    op.drop_table("conversation_snoozes")
    op.drop_table("agent_availability")
