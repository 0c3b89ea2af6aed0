"""model evaluation: offline metrics per model and data split

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 06:50:52.633705
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_evaluation",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("metric_name", sa.Text(), nullable=False),
        sa.Column("metric_value", sa.Float(), nullable=False),
        sa.Column("dataset_hash", sa.String(length=64), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="ranker",
    )
    op.create_index(
        "ix_model_evaluation_model",
        "model_evaluation",
        ["model_id", "dataset_hash"],
        unique=False,
        schema="ranker",
    )


def downgrade() -> None:
    op.drop_index("ix_model_evaluation_model", table_name="model_evaluation", schema="ranker")
    op.drop_table("model_evaluation", schema="ranker")
