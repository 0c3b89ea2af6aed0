"""the initial active ranking weight config (replaced by evaluated configs later)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INITIAL_ID = "01a1fd00-0000-7000-8000-000000000001"


def upgrade() -> None:
    op.execute(
        "INSERT INTO ranker.ranking_weight_config "
        "(id, w_content, w_metadata, w_cooccurrence, lambda_mmr, active, description) "
        f"VALUES ('{INITIAL_ID}', 0.3, 0.3, 0.4, 0.8, true, "
        "'initial default: all three signals, mild diversification') "
        "ON CONFLICT (id) DO NOTHING"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM ranker.ranking_weight_config WHERE id = '{INITIAL_ID}'")
