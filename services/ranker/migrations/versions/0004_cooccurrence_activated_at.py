"""when each co-occurrence model was last activated (rollback picks the latest known-good)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cooccurrence_model",
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        schema="ranker",
    )


def downgrade() -> None:
    op.drop_column("cooccurrence_model", "activated_at", schema="ranker")
