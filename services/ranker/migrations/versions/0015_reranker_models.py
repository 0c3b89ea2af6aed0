"""learned second-stage (LambdaMART reranker) models: a registry kind like CF models

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reranker_model",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("training_set_hash", sa.String(length=64), nullable=False),
        sa.Column("production_allowed", sa.Boolean(), nullable=False),
        sa.Column("datasets", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("artifact", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_known_good", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
        schema="ranker",
    )
    op.create_index("ux_reranker_model_one_active", "reranker_model", ["active"], unique=True,
                    schema="ranker", postgresql_where=sa.text("active"))


def downgrade() -> None:
    op.drop_index("ux_reranker_model_one_active", table_name="reranker_model", schema="ranker")
    op.drop_table("reranker_model", schema="ranker")
