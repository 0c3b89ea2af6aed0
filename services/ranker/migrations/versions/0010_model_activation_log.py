"""the activation log of co-occurrence models, CF models and weight configs; weight configs
get known-good marks and activation times (so they roll back like models)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.activation_log_migration import create_log, drop_log

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ranker"


def upgrade() -> None:
    create_log(SCHEMA)
    op.add_column("ranking_weight_config",
                  sa.Column("is_known_good", sa.Boolean(), nullable=False,
                            server_default=sa.false()), schema=SCHEMA)
    op.add_column("ranking_weight_config",
                  sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
                  schema=SCHEMA)
    # The config serving now is what a first rollback returns to.
    op.execute(f"UPDATE {SCHEMA}.ranking_weight_config SET is_known_good = true, "
               "activated_at = created_at WHERE active")


def downgrade() -> None:
    op.drop_column("ranking_weight_config", "activated_at", schema=SCHEMA)
    op.drop_column("ranking_weight_config", "is_known_good", schema=SCHEMA)
    drop_log(SCHEMA)
