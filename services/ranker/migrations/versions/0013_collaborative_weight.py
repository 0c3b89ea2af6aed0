"""the collaborative signal's weight in ranking weight configs (0 in every earlier config)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ranker"


def upgrade() -> None:
    op.add_column("ranking_weight_config",
                  sa.Column("w_collaborative", sa.Float(), nullable=False,
                            server_default=sa.text("0")), schema=SCHEMA)
    op.create_check_constraint("ck_ranking_weight_config_w_collaborative",
                               "ranking_weight_config", "w_collaborative >= 0", schema=SCHEMA)


def downgrade() -> None:
    op.drop_constraint("ck_ranking_weight_config_w_collaborative", "ranking_weight_config",
                       schema=SCHEMA)
    op.drop_column("ranking_weight_config", "w_collaborative", schema=SCHEMA)
