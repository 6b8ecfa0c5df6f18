"""miespacio web area: login codes, browser sessions, citizen preferences

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "miespacio_login_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("destination_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("miespacio_login_codes", schema=None) as batch_op:
        for column in ("citizen_id", "destination_hash", "ip_hash", "created_at"):
            batch_op.create_index(
                batch_op.f(f"ix_miespacio_login_codes_{column}"), [column], unique=False
            )

    op.create_table(
        "miespacio_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("miespacio_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_miespacio_sessions_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "miespacio_preferences",
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("preferred_channel", sa.String(length=16), nullable=True),
        sa.Column("notify_email", sa.Boolean(), nullable=False),
        sa.Column("notify_sms", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("citizen_id"),
    )


def downgrade() -> None:
    op.drop_table("miespacio_preferences")
    with op.batch_alter_table("miespacio_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_miespacio_sessions_citizen_id"))
    op.drop_table("miespacio_sessions")
    with op.batch_alter_table("miespacio_login_codes", schema=None) as batch_op:
        for column in ("citizen_id", "destination_hash", "ip_hash", "created_at"):
            batch_op.drop_index(batch_op.f(f"ix_miespacio_login_codes_{column}"))
    op.drop_table("miespacio_login_codes")
