"""participation: participatory processes, their documents and citizens' proposals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participation_processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participation_processes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participation_processes_unit_id"), ["unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_participation_processes_ends_on"), ["ends_on"], unique=False
        )

    op.create_table(
        "participation_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["process_id"], ["participation_processes.id"]),
        sa.ForeignKeyConstraint(["uploaded_by_agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participation_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participation_documents_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "participation_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("moderated_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["answered_by_agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["moderated_by_agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["process_id"], ["participation_processes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participation_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participation_proposals_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_participation_proposals_conversation_id"),
            ["conversation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_participation_proposals_process_id"), ["process_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("participation_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_proposals_process_id"))
        batch_op.drop_index(batch_op.f("ix_participation_proposals_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_participation_proposals_citizen_id"))
    op.drop_table("participation_proposals")
    with op.batch_alter_table("participation_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_documents_process_id"))
    op.drop_table("participation_documents")
    with op.batch_alter_table("participation_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_processes_ends_on"))
        batch_op.drop_index(batch_op.f("ix_participation_processes_unit_id"))
    op.drop_table("participation_processes")
