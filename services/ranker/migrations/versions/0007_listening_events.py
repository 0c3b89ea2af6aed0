"""listening events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listening_event",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("item_juke_id", sa.UUID(), nullable=False),
        sa.Column("item_type", sa.String(length=8), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        schema="ranker",
    )
    op.create_index("ix_listening_event_user_time", "listening_event",
                    ["user_id", "occurred_at"], unique=False, schema="ranker")
    op.create_index("ix_listening_event_item", "listening_event", ["item_juke_id"],
                    unique=False, schema="ranker")


def downgrade() -> None:
    op.drop_index("ix_listening_event_item", table_name="listening_event", schema="ranker")
    op.drop_index("ix_listening_event_user_time", table_name="listening_event", schema="ranker")
    op.drop_table("listening_event", schema="ranker")
