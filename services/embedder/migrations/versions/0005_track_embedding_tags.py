"""each track embedding keeps the model's confident tags, so they reach the catalog only when
the model is activated (a candidate's tags wait for its promotion)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "track_embedding",
        sa.Column("tags", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema="embedder",
    )


def downgrade() -> None:
    op.drop_column("track_embedding", "tags", schema="embedder")
