"""deadlines: first-response and resolution deadlines, warnings and escalations; supervisor role

``agents.role`` grows to 16 characters for the new ``supervisor`` role.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=8),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
        sa.UniqueConstraint("conversation_id"),
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index("ix_deadlines_open", ["resolved_at", "resolution_warn_at"])
        batch_op.create_index("ix_deadlines_started_at", ["started_at"])
    op.create_table(
        "deadline_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_agent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by_agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["deadline_id"], ["deadlines.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "deadline_id", "cycle", "kind", "target", name="uq_deadline_alerts_once"
        ),
    )
    with op.batch_alter_table("deadline_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deadline_alerts_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deadline_alerts_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deadline_alerts_deadline_id"), ["deadline_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deadline_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_alerts_deadline_id"))
        batch_op.drop_index(batch_op.f("ix_deadline_alerts_created_at"))
        batch_op.drop_index(batch_op.f("ix_deadline_alerts_conversation_id"))
    op.drop_table("deadline_alerts")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index("ix_deadlines_started_at")
        batch_op.drop_index("ix_deadlines_open")
    op.drop_table("deadlines")
    # No role of 8 characters grants what a supervisor had: the account is switched off.
    op.execute("UPDATE agents SET role = 'n1', active = false WHERE role = 'supervisor'")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=16),
            type_=sa.String(length=8),
            existing_nullable=False,
        )
