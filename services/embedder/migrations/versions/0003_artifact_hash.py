"""content hash of each embedding model's retrieval artifacts (empty until written)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "embedding_model",
        sa.Column("artifact_hash", sa.Text(), nullable=False, server_default=""),
        schema="embedder",
    )


def downgrade() -> None:
    op.drop_column("embedding_model", "artifact_hash", schema="embedder")
