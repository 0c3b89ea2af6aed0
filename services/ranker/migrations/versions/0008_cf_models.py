"""collaborative filtering models

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cf_model",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("training_set_hash", sa.String(length=64), nullable=False),
        sa.Column("production_allowed", sa.Boolean(), nullable=False),
        sa.Column("item_type", sa.String(length=8), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("factors", sa.BigInteger(), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_known_good", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
        schema="ranker",
    )
    op.create_index("ux_cf_model_one_active", "cf_model", ["active"], unique=True,
                    schema="ranker", postgresql_where=sa.text("active"))
    op.create_table(
        "cf_item_factor",
        sa.Column("model_id", sa.UUID(), nullable=False),
        sa.Column("item_juke_id", sa.UUID(), nullable=False),
        sa.Column("factors", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["ranker.cf_model.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "item_juke_id"),
        schema="ranker",
    )


def downgrade() -> None:
    op.drop_table("cf_item_factor", schema="ranker")
    op.drop_index("ux_cf_model_one_active", table_name="cf_model", schema="ranker")
    op.drop_table("cf_model", schema="ranker")
