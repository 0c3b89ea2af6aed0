"""the activation log of embedding models; what each model declares it was trained on

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.activation_log_migration import create_log, drop_log

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_log("embedder")
    for column in ("training_data", "training_data_license"):
        op.add_column("embedding_model", sa.Column(column, sa.Text(), nullable=False,
                                                   server_default=""), schema="embedder")


def downgrade() -> None:
    for column in ("training_data", "training_data_license"):
        op.drop_column("embedding_model", column, schema="embedder")
    drop_log("embedder")
